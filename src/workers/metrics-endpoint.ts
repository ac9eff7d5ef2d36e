/**
 * The one metrics endpoint of a worker process, on P8FS_WORKER_METRICS_HOST:P8FS_WORKER_METRICS_PORT:
 * - `GET /metrics`: Node's process metrics and our worker metrics (prom-client, src/telemetry/metrics.ts),
 *   followed by the Temporal SDK's own worker metrics (`temporal_*`). The SDK's Rust exporter cannot share
 *   a registry with prom-client, so it listens on a loopback port of its own, chosen at start-up, and each
 *   scrape here fetches and appends its exposition: one scrape target per process, every family with HELP
 *   and TYPE. When the SDK's exporter does not answer, the scrape still succeeds with our metrics,
 *   `p8fs_worker_sdk_metrics_up 0` and a comment line saying why.
 * - `GET /health`: 200 while every worker of the process is starting or running, 503 once one stops or
 *   failed, with each task queue's state.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import type { Worker } from '@temporalio/worker';
import { errorText } from '../domain/errors.js';
import { startHealthServer } from '../telemetry/health-server.js';
import type { Logger } from '../telemetry/logger.js';
import { exposition, workerMetrics } from '../telemetry/metrics.js';

const SDK_SCRAPE_TIMEOUT_MS = 2_000;

const watched = new Set<Worker>();

/** The workers /health reports on (every Worker this process creates). */
export function watchWorkers(workers: Iterable<Worker>): void {
  for (const worker of workers) watched.add(worker);
}

/** A loopback port free a moment ago, for the SDK's exporter (nothing else of ours binds loopback ports). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The SDK exporter's exposition, or why it could not be had. */
async function scrapeSdk(url: string): Promise<{ text: string } | { problem: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    if (!response.ok) return { problem: `${url} answered HTTP ${response.status}` };
    return { text: await response.text() };
  } catch (error) {
    return { problem: `${url}: ${errorText(error)}` };
  }
}

/** Our metrics, then the SDK's (their names never collide: ours are p8fs_*, process_*, nodejs_*). */
export async function workerExposition(sdkMetricsUrl: string): Promise<string> {
  const sdk = await scrapeSdk(sdkMetricsUrl);
  const m = workerMetrics();
  m.sdkMetricsUp.set('text' in sdk ? 1 : 0);
  const ours = await exposition(m.registry);
  if ('problem' in sdk)
    return `${ours}# Temporal SDK metrics unavailable: ${sdk.problem.replace(/\s+/g, ' ')}\n`;
  return sdk.text.endsWith('\n') || sdk.text === '' ? ours + sdk.text : `${ours + sdk.text}\n`;
}

function health(): { ok: boolean; body: Record<string, unknown> } {
  const workers = [...watched].map((w) => ({ taskQueue: w.options.taskQueue, state: w.getState() }));
  const ok = workers.every((w) => w.state === 'INITIALIZED' || w.state === 'RUNNING');
  return { ok, body: { status: ok ? (workers.length > 0 ? 'ok' : 'starting') : 'stopping', workers } };
}

/**
 * Serves /metrics and /health on host:port (resolves once listening; rejects when it cannot listen). The
 * server does not hold the process open: a worker process ends when its workers do.
 */
export async function serveWorkerMetrics(options: {
  host: string;
  port: number;
  sdkMetricsUrl: string;
  log: Logger;
}): Promise<Server> {
  const server = startHealthServer({
    host: options.host,
    port: options.port,
    log: options.log,
    health,
    metrics: () => workerExposition(options.sdkMetricsUrl),
  });
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  server.unref();
  return server;
}
