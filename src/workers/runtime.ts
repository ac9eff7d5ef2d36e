/**
 * The Temporal worker runtime of a process, installed once: the SDK's logs (its own, and what workflows
 * and activities log through `log`/`Context.log`) forwarded into the app's logger at the configured
 * level, and one /metrics on P8FS_WORKER_METRICS_HOST:P8FS_WORKER_METRICS_PORT (loopback unless
 * configured) with our worker metrics and the SDK's own (metrics-endpoint.ts). Every worker kind
 * (storage tiers, LLM) starts here.
 *
 * Signals are the process's business, not the SDK's: the runtime installs no SIGINT/SIGTERM handlers
 * (the SDK's would swallow the signal and leave a process that waits on something else running), so a
 * command that wants a graceful drain handles the signals itself (`p8fs storage-worker` and `p8fs dreaming-worker` do).
 */
import { createServer } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, type LogEntry, type LogLevel, Runtime } from '@temporalio/worker';
import type { Config } from '../config/config.js';
import { errorText, NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { Logger } from '../telemetry/logger.js';
import { freeLoopbackPort, serveWorkerMetrics } from './metrics-endpoint.js';
import { waitForMigratedSchema } from './schema-gate.js';

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

const TENANT_OF_PATH = /^\/buckets\/([^/]+)\//;

/**
 * Every line about a file carries tenantId, path, workflowId and runId under the same names, whoever
 * logged it: the SDK names an activity's run `workflowRunId` (a workflow's: `runId`), and activities log
 * the file's `path` (/buckets/{tenant}/…), whose bucket is the tenant.
 */
export function withFileContext(fields: Record<string, unknown>): void {
  if (fields.runId === undefined && typeof fields.workflowRunId === 'string')
    fields.runId = fields.workflowRunId;
  if (fields.tenantId === undefined && typeof fields.path === 'string') {
    const tenant = TENANT_OF_PATH.exec(fields.path)?.[1];
    if (tenant) fields.tenantId = tenant;
  }
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
  withFileContext(fields);
  const component = fields.sdkComponent;
  // The SDK's own lifecycle chatter (worker state changes, polls) is for debugging the worker itself;
  // an activity failing because its file is corrupt is an expected outcome the workflow reports.
  let level = entry.level;
  if ((component === 'worker' || component === 'core') && level === 'INFO') level = 'DEBUG';
  // Our workflows log their own failure with its reason (at warn only when it is unexpected); the SDK's
  // generic line repeats it, with an error that lost its type on the way out of the workflow sandbox.
  if (component === 'worker' && entry.message === 'Workflow failed') level = 'DEBUG';
  // The embedding workers (storage-worker.ts) run activities only, by design.
  if (entry.message.startsWith('No workflows registered, not polling')) level = 'DEBUG';
  if (expected && (level === 'WARN' || level === 'ERROR')) level = 'DEBUG';
  return { level, fields };
}

export interface RuntimeOptions {
  /** Serve the process's /metrics (ours and the SDK's) and /health on this port (0 = off). */
  metricsPort: number;
  /** Address to bind the metrics endpoint to; default cfg.worker.metricsHost (127.0.0.1). */
  metricsHost?: string;
}

/** What installWorkerRuntime needs: where the SDK's own Prometheus exporter listens, if anywhere. */
export interface InstallOptions {
  /** A loopback `host:port` for the SDK's exporter, scraped by the metrics endpoint (metrics-endpoint.ts). */
  sdkMetricsAddress?: string;
}

/** `host:port` as a socket address: IPv6 literals in brackets. */
export function socketAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A start-up failure of the metrics exporter, naming the variables that choose its address. */
export class MetricsPortError extends Error {
  override readonly name = 'MetricsPortError';
}

function metricsProblem(host: string, port: number, reason: string, cause?: unknown): MetricsPortError {
  return new MetricsPortError(
    `worker metrics exporter cannot listen on ${socketAddress(host, port)} ` +
      `(P8FS_WORKER_METRICS_HOST=${host}, P8FS_WORKER_METRICS_PORT=${port}): ${reason}. ` +
      'Give each worker process on this host its own P8FS_WORKER_METRICS_PORT, or 0 to turn its metrics off.',
    { cause },
  );
}

/** Resolves when `host:port` can be bound right now; rejects with a MetricsPortError naming why not. */
export function checkMetricsAddress(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE'
          ? 'the port is already in use (another worker or program on this host)'
          : error.code === 'EADDRNOTAVAIL'
            ? 'the address is not one of this host'
            : `${error.code ?? error.name}: ${error.message}`;
      reject(metricsProblem(host, port, reason));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Installs the runtime once per process; later calls are no-ops (the SDK allows only one). */
export function installWorkerRuntime(cfg: Config, log: Logger, options: InstallOptions = {}): void {
  if (installed) return;
  const { sdkMetricsAddress } = options;
  const sdkLog = log.child({ component: 'temporal' });
  try {
    Runtime.install({
      logger: new DefaultLogger(SDK_LEVEL[cfg.logLevel], (entry) => {
        const { level, fields } = sdkLogRecord(entry);
        sdkLog[PINO_LEVEL[level]](fields, entry.message);
      }),
      shutdownSignals: [],
      telemetryOptions: {
        // The SDK core's own (Rust) logs join the same logger instead of printing their own format.
        logging: { filter: { core: SDK_LEVEL[cfg.logLevel], other: 'WARN' }, forward: {} },
        ...(sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: sdkMetricsAddress } } } : {}),
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Installed already by the code embedding us (a test, another library's worker): with no metrics
    // port wanted there is nothing of ours it lacks but log forwarding, so use it as it is.
    if (!sdkMetricsAddress && /already been installed/.test(message)) {
      log.debug({ reason: message }, 'Temporal runtime installed elsewhere in this process: using it');
      installed = true;
      return;
    }
    if (sdkMetricsAddress && /metrics|prometheus|address/i.test(message)) {
      throw new MetricsPortError(
        `the Temporal SDK's metrics exporter cannot listen on ${sdkMetricsAddress} (a loopback port chosen ` +
          `at start-up for /metrics to scrape): ${message}. Start the worker again.`,
      );
    }
    throw error;
  }
  installed = true;
}

/**
 * The runtime for a worker process: first waits until the database's schema is current (schema-gate.ts),
 * then checks that the metrics address is free (a taken port is a
 * clear start-up error naming P8FS_WORKER_METRICS_PORT, instead of the SDK's bare "Address already in
 * use" and a process left waiting), serves /metrics and /health there (metrics-endpoint.ts), then
 * installs the runtime with the SDK's exporter on a loopback port that /metrics scrapes and appends.
 * Call before creating workers.
 */
export async function startWorkerRuntime(
  cfg: Config,
  log: Logger,
  options: RuntimeOptions = { metricsPort: cfg.worker.metricsPort },
): Promise<void> {
  if (installed) return;
  // Before the metrics port and any poller: no work is taken against a schema that is missing or behind.
  await waitForMigratedSchema(cfg, log);
  const { metricsPort: port } = options;
  if (port <= 0) {
    installWorkerRuntime(cfg, log);
    return;
  }
  const host = options.metricsHost ?? cfg.worker.metricsHost;
  await checkMetricsAddress(host, port);
  let sdkPort = await freeLoopbackPort();
  while (sdkPort === port) sdkPort = await freeLoopbackPort();
  const sdkMetricsAddress = socketAddress('127.0.0.1', sdkPort);
  const server = await serveWorkerMetrics({
    host,
    port,
    sdkMetricsUrl: `http://${sdkMetricsAddress}/metrics`,
    log,
  }).catch((error: unknown) => {
    throw metricsProblem(host, port, errorText(error), error);
  });
  try {
    installWorkerRuntime(cfg, log, { sdkMetricsAddress });
  } catch (error) {
    server.close();
    throw error;
  }
  log.debug({ metrics: `http://${socketAddress(host, port)}/metrics`, sdkMetricsAddress }, 'metrics served');
}
