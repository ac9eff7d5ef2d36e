/** Logging, stack traces and OpenTelemetry traces: how any p8fs process reports what it does. */
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { flag, httpUrl } from '../schema.js';
import { declared, type Section } from '../variable.js';

const logLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const logFormat = z.enum(['auto', 'pretty', 'json']);

export interface TracingConfig {
  /**
   * Base URL of an OTLP/HTTP receiver (spans go to `<endpoint>/v1/traces`): P8FS_OTEL_EXPORTER_OTLP_ENDPOINT,
   * else the standard OTEL_EXPORTER_OTLP_ENDPOINT. Unset: tracing is off.
   */
  endpoint?: string;
  /** OTEL_SERVICE_NAME: one service name for the process instead of p8fs-bridge / p8fs-worker / p8fs-llm-worker. */
  serviceName?: string;
}

export interface GeneralSettings {
  logLevel: z.infer<typeof logLevel>;
  /** `pretty`: one readable line per event; `json`: pino's JSON lines; `auto`: pretty on a terminal. */
  logFormat: z.infer<typeof logFormat>;
  /** P8FS_DEBUG: print stack traces of command failures. */
  debug: boolean;
  /** OpenTelemetry traces (src/telemetry/tracing.ts): off unless an OTLP endpoint is set. */
  tracing: TracingConfig;
}

const GENERAL = {
  logLevel: {
    name: 'P8FS_LOG_LEVEL',
    schema: logLevel,
    fallback: 'info',
    meaning: "`trace` … `silent` (Temporal's own logs follow the same level)",
  },
  logFormat: {
    name: 'P8FS_LOG_FORMAT',
    schema: logFormat,
    fallback: 'auto',
    meaning:
      '`pretty` (one readable line per event, on stderr), `json` (pino JSON lines on stdout, for production), `auto` (pretty on a terminal). `make demo` and the self-test always speak pretty unless `json` is asked for',
  },
  debug: {
    name: 'P8FS_DEBUG',
    schema: flag,
    fallback: 'false',
    meaning: '`1`: a failing command prints its stack trace too',
  },
  // Ours wins over the standard name, so p8fs can trace elsewhere than other programs.
  otlpEndpoint: {
    name: 'P8FS_OTEL_EXPORTER_OTLP_ENDPOINT',
    aliases: ['OTEL_EXPORTER_OTLP_ENDPOINT'],
    schema: httpUrl,
    shown: '– (tracing off)',
    meaning:
      'OpenTelemetry traces over OTLP/HTTP to `<endpoint>/v1/traces`, e.g. `http://127.0.0.1:4318`; ours wins over the standard one (docs/OPERATIONS.md, Traces)',
  },
  serviceName: {
    name: 'OTEL_SERVICE_NAME',
    schema: z.string().regex(/^\S+$/, 'a service name without spaces'),
    shown: '`p8fs-bridge` / `p8fs-worker` / `p8fs-llm-worker`',
    meaning: "one service name for the process's spans instead of the per-process one",
  },
} as const;

export const GENERAL_SECTION: Section = {
  title: 'Logging and tracing',
  about: 'How every p8fs process reports what it does.',
  variables: declared(GENERAL),
};

export function readGeneral(r: EnvReader): GeneralSettings {
  return {
    logLevel: r.read(GENERAL.logLevel),
    logFormat: r.read(GENERAL.logFormat),
    debug: r.read(GENERAL.debug),
    tracing: {
      endpoint: r.read(GENERAL.otlpEndpoint),
      serviceName: r.read(GENERAL.serviceName),
    },
  };
}
