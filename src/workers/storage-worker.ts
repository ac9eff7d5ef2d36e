/**
 * Storage workers: one Temporal Worker per tier task queue (p8fs-storage-small|medium|large), sharing one
 * connection, one PostgreSQL pool and one S3 client in a process. Tier-specific concurrency keeps a few
 * large files from starving the many small ones.
 */
import { DefaultLogger, type LogEntry, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createIngestActivities } from '../activities/ingest/activities.js';
import { removeOrphanedWorkDirs } from '../activities/work-dirs.js';
import { createPool } from '../clients/postgres.js';
import { createS3Client } from '../clients/s3.js';
import type { Config } from '../config/config.js';
import type { Tier } from '../domain/tiers.js';
import { connectWorkerConnection } from '../temporal/connection.js';
import { taskQueueFor } from '../temporal/names.js';
import { workflowBundle } from './workflow-bundle.js';

let runtimeInstalled = false;

/**
 * SDK log entries as one line each. A failed workflow is an expected outcome here (a corrupt file), so
 * its error is printed as type and message; the stack lives in the workflow history and the errors table.
 */
function oneLineEntry(entry: LogEntry): void {
  const meta = Object.fromEntries(
    Object.entries(entry.meta ?? {}).map(([key, value]) =>
      value instanceof Error ? [key, `${value.name}: ${value.message}`] : [key, value],
    ),
  );
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  console.error(`${time} [temporal ${entry.level}] ${entry.message} ${JSON.stringify(meta)}`);
}

/** Temporal's runtime metrics (task latencies, slots, polls) on a Prometheus port; once per process. */
export function installRuntime(cfg: Config): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // The SDK's own info logs (every worker state change) drown the pipeline's; keep its warnings.
  const verbose = cfg.logLevel === 'debug' || cfg.logLevel === 'trace';
  Runtime.install({
    logger: new DefaultLogger(verbose ? 'DEBUG' : 'WARN', oneLineEntry),
    telemetryOptions:
      cfg.worker.metricsPort > 0
        ? { metrics: { prometheus: { bindAddress: `0.0.0.0:${cfg.worker.metricsPort}` } } }
        : undefined,
  });
}

export interface StorageWorkers {
  workers: Worker[];
  /** Resolves when every worker has stopped (after shutdown() or a fatal error). */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createStorageWorkers(
  cfg: Config,
  tiers: Tier[],
  overrides: Partial<WorkerOptions> = {},
): Promise<StorageWorkers> {
  installRuntime(cfg);
  await removeOrphanedWorkDirs();
  const connection = await connectWorkerConnection(cfg);
  const pool = createPool(cfg, Math.max(4, ...tiers.map((t) => cfg.worker.concurrency[t])));
  const s3 = createS3Client(cfg);
  const activities = createIngestActivities({ cfg, pool, s3 });
  const bundle = await workflowBundle();
  const workers = await Promise.all(
    tiers.map((tier) =>
      Worker.create({
        connection,
        namespace: cfg.temporal.namespace,
        taskQueue: taskQueueFor(cfg, tier),
        workflowBundle: bundle,
        activities,
        maxConcurrentActivityTaskExecutions: cfg.worker.concurrency[tier],
        shutdownGraceTime: '20 seconds',
        ...overrides,
      }),
    ),
  );
  return {
    workers,
    async run() {
      try {
        await Promise.all(workers.map((worker) => worker.run()));
      } finally {
        await connection.close().catch(() => undefined);
        await pool.end().catch(() => undefined);
        s3.destroy();
      }
    },
    shutdown() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
