/**
 * The Temporal worker runtime of a process, installed once: the SDK's logs (its own, and what workflows
 * and activities log through `log`/`Context.log`) forwarded into the app's logger at the configured
 * level, and the SDK's Prometheus metrics. Every worker kind (storage tiers, LLM) starts here.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, type LogEntry, type LogLevel, Runtime } from '@temporalio/worker';
import type { Config } from '../config/config.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { Logger } from '../telemetry/logger.js';

let installed = false;

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};
const SDK_LEVEL: Record<Config['logLevel'], LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/** A failure retrying cannot fix (a corrupt or unsupported file): an outcome, not a worker problem. */
function isExpectedFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof ApplicationFailure && (current.nonRetryable || current.type)) {
      if (current.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(current.type ?? '')) return true;
    }
    if (current instanceof Error && NON_RETRYABLE_ERROR_TYPES.includes(current.name)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * One log record from one SDK entry: errors as "Name: message" (their stacks live in the workflow
 * history and the errors table), no task tokens or other binary fields.
 */
export function sdkLogRecord(entry: LogEntry): { level: LogLevel; fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  let expected = false;
  for (const [key, value] of Object.entries(entry.meta ?? {})) {
    if (key === 'taskToken' || value instanceof Uint8Array) continue;
    if (value instanceof Error) {
      expected ||= isExpectedFailure(value);
      fields[key] = `${value.name}: ${value.message}`;
    } else fields[key] = value;
  }
  const component = fields.sdkComponent;
  // The SDK's own lifecycle chatter (worker state changes, polls) is for debugging the worker itself;
  // an activity failing because its file is corrupt is an expected outcome the workflow reports.
  let level = entry.level;
  if ((component === 'worker' || component === 'core') && level === 'INFO') level = 'DEBUG';
  if (expected && (level === 'WARN' || level === 'ERROR')) level = 'DEBUG';
  return { level, fields };
}

export interface RuntimeOptions {
  /** Serve the SDK's Prometheus metrics on this port (0 = off). */
  metricsPort: number;
}

/** Installs the runtime once per process; later calls are no-ops (the SDK allows only one). */
export function installWorkerRuntime(cfg: Config, log: Logger, options: RuntimeOptions): void {
  if (installed) return;
  installed = true;
  const sdkLog = log.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVEL[cfg.logLevel], (entry) => {
      const { level, fields } = sdkLogRecord(entry);
      sdkLog[PINO_LEVEL[level]](fields, entry.message);
    }),
    telemetryOptions:
      options.metricsPort > 0
        ? { metrics: { prometheus: { bindAddress: `0.0.0.0:${options.metricsPort}` } } }
        : undefined,
  });
}
