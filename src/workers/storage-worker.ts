/**
 * Storage workers: one Temporal Worker per tier task queue (p8fs-storage-small|medium|large), sharing one
 * connection, one PostgreSQL pool and one S3 client in a process. Tier-specific concurrency keeps a few
 * large files from starving the many small ones.
 */
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { createBatchActivities } from '../activities/batch/activities.js';
import { createEmbedActivities } from '../activities/embed/activities.js';
import { createHousekeepingActivities } from '../activities/housekeeping/activities.js';
import { createIngestActivities } from '../activities/ingest/activities.js';
import { ExtractionPool } from '../activities/ingest/extraction/pool.js';
import { createMemberEventPublisher } from '../activities/ingest/member-files.js';
import { removeOrphanedWorkDirs } from '../activities/work-dirs.js';
import { createPool } from '../clients/postgres.js';
import { createS3Client } from '../clients/s3.js';
import type { Config } from '../config/config.js';
import type { Tier } from '../domain/tiers.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { PROCESS_NAMES } from '../telemetry/process-names.js';
import { flushTracing, startTracing } from '../telemetry/tracing.js';
import { connectWorkerConnection, lazyTemporalClient } from '../temporal/connection.js';
import { embedTaskQueueFor, taskQueueFor } from '../temporal/names.js';
import { withFaultInjection } from './fault-injection-interceptor.js';
import { watchWorkers } from './metrics-endpoint.js';
import { withActivityMetrics } from './metrics-interceptor.js';
import { startWorkerRuntime } from './runtime.js';
import { warnIfBundleUntraced, workerTracingOptions } from './tracing-interceptors.js';
import { workflowBundle } from './workflow-bundle.js';

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
  log: Logger = createLogger(cfg, PROCESS_NAMES.storageWorker),
): Promise<StorageWorkers> {
  // A taken metrics port is a clear start-up error here, before any worker polls.
  await startWorkerRuntime(cfg, log);
  // Off unless an OTLP endpoint is configured; before the workers, whose interceptors use it.
  await startTracing(cfg, PROCESS_NAMES.storageWorker, log);
  await removeOrphanedWorkDirs();
  const connection = await connectWorkerConnection(cfg);
  const pool = createPool(cfg, Math.max(4, ...tiers.map((t) => cfg.worker.concurrency[t])));
  const s3 = createS3Client(cfg);
  // ZIP members and attachments are published as storage events; NATS is connected on first need.
  const memberEvents = createMemberEventPublisher(cfg);
  // Housekeeping (src/workflows/housekeeping.ts) runs on the storage queues: its schedules start it on small.
  const housekeeping = createHousekeepingActivities({ cfg, pool, s3 });
  // Batches (src/workflows/ingest-batch.ts) run on the small queue; their activities await runs they did
  // not start (the bridge's) through a client that connects on first use.
  const batchTemporal = lazyTemporalClient(cfg);
  // The extraction processes (src/activities/ingest/extraction) of every tier this process serves.
  const extractionPool = new ExtractionPool();
  const activities = {
    ...createIngestActivities({ cfg, pool, s3, memberEvents, extractionPool }),
    ...housekeeping.activities,
    ...createBatchActivities({ cfg, pool, s3, temporal: batchTemporal }),
  };
  const bundle = await workflowBundle(cfg);
  warnIfBundleUntraced(bundle, log);
  const workers = await Promise.all(
    tiers.map((tier) =>
      Worker.create({
        connection,
        namespace: cfg.temporal.namespace,
        taskQueue: taskQueueFor(cfg, tier),
        workflowBundle: bundle,
        activities,
        maxConcurrentActivityTaskExecutions: cfg.worker.concurrency[tier],
        // One process runs every tier it serves, and the SDK sizes each worker's cache from the heap limit:
        // bounded here so a burst's waiting runs do not grow the process (docs/PERFORMANCE.md, memory).
        maxCachedWorkflows:
          cfg.worker.maxCachedWorkflows === 0
            ? 0
            : Math.max(1, Math.ceil(cfg.worker.maxCachedWorkflows / tiers.length)),
        // In-flight activities get this long to finish on shutdown, then they are cancelled.
        shutdownGraceTime: cfg.worker.shutdownGraceSeconds * 1000,
        // Heartbeat details carry the resume checkpoint of a streamed file; the SDK's default throttle
        // (0.8 × the heartbeat timeout: 48 s on the large tier) would let a dead worker lose that much work.
        maxHeartbeatThrottleInterval: '5 seconds',
        // OpenTelemetry: activity interceptors and the workflow span sink (tracing-interceptors.ts);
        // the metrics interceptor (metrics-interceptor.ts) goes first, timing each whole attempt; the
        // chaos tests' fault injection (fault-injection-interceptor.ts, off unless set) goes last.
        ...withFaultInjection(cfg, withActivityMetrics(workerTracingOptions())),
        ...overrides,
      }),
    ),
  );
  // Embedding (src/activities/embed) on each tier's own -embed queue, by a Worker with its own slots: a
  // file's embeddings never take the slot another file's extraction needs, and the model's CPU use is
  // bounded per process by P8FS_WORKER_CONCURRENCY_EMBED whatever the tier's concurrency.
  const embedActivities = createEmbedActivities({ cfg, pool });
  const { interceptors } = withFaultInjection(cfg, withActivityMetrics(workerTracingOptions()));
  const embedWorkers = await Promise.all(
    tiers.map((tier) =>
      Worker.create({
        connection,
        namespace: cfg.temporal.namespace,
        taskQueue: embedTaskQueueFor(cfg, tier),
        activities: embedActivities,
        maxConcurrentActivityTaskExecutions: cfg.embeddings.concurrency,
        shutdownGraceTime: overrides.shutdownGraceTime ?? cfg.worker.shutdownGraceSeconds * 1000,
        ...(overrides.shutdownForceTime !== undefined
          ? { shutdownForceTime: overrides.shutdownForceTime }
          : {}),
        maxHeartbeatThrottleInterval: '5 seconds',
        ...(interceptors ? { interceptors } : {}),
      }),
    ),
  );
  workers.push(...embedWorkers);
  watchWorkers(workers);
  return {
    workers,
    async run() {
      try {
        await Promise.all(workers.map((worker) => worker.run()));
      } finally {
        // The last spans (the workflow's end, the last activities) leave before the process does.
        await flushTracing();
        extractionPool.stop();
        await connection.close().catch(() => undefined);
        await pool.end().catch(() => undefined);
        await memberEvents.close().catch(() => undefined);
        await housekeeping.close().catch(() => undefined);
        await batchTemporal.connection.close().catch(() => undefined);
        s3.destroy();
      }
    },
    shutdown() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
