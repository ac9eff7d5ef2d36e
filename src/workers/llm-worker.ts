/**
 * The LLM worker: one Temporal Worker on `p8fs-llm` running dreamAnalysis, dreamBatch and buildMoments
 * with their activities. The task queue's activity rate is limited on the server side
 * (maxTaskQueueActivitiesPerSecond = P8FS_LLM_MAX_ACTIVITIES_PER_SECOND), so however many LLM workers
 * run, together they stay under the provider's rate limit; P8FS_WORKER_CONCURRENCY_LLM bounds one worker.
 */
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { createAffinityActivities } from '../activities/insight/affinity.js';
import { createDreamActivities } from '../activities/insight/dream-activities.js';
import { createLlmProvider, describeLlm } from '../activities/insight/llm/index.js';
import type { LlmProvider } from '../activities/insight/llm/types.js';
import { createMomentActivities } from '../activities/insight/moment-activities.js';
import { createTenantMomentActivities } from '../activities/insight/tenant-moments.js';
import { createUserSummaryActivities } from '../activities/insight/user-summary.js';
import { createPool } from '../clients/postgres.js';
import { createS3Client } from '../clients/s3.js';
import type { Config } from '../config/config.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { PROCESS_NAMES } from '../telemetry/process-names.js';
import { flushTracing, startTracing } from '../telemetry/tracing.js';
import { connectWorkerConnection } from '../temporal/connection.js';
import { llmTaskQueue } from '../temporal/names.js';
import { watchWorkers } from './metrics-endpoint.js';
import { withActivityMetrics } from './metrics-interceptor.js';
import { startWorkerRuntime } from './runtime.js';
import type { StorageWorkers } from './storage-worker.js';
import { warnIfBundleUntraced, workerTracingOptions } from './tracing-interceptors.js';
import { workflowBundle } from './workflow-bundle.js';

export interface LlmWorkers extends StorageWorkers {
  llm: LlmProvider;
  /** One line for logs: provider, model, where, context window. */
  description: string;
}

/** What differs between the model workers: the process's name, its task queue, its activities. */
export interface ModelWorkerSpec {
  processName: (typeof PROCESS_NAMES)[keyof typeof PROCESS_NAMES];
  taskQueue: string;
  activities(deps: ModelActivityDeps): object;
}

export interface ModelActivityDeps {
  cfg: Config;
  pool: ReturnType<typeof createPool>;
  s3: ReturnType<typeof createS3Client>;
  llm: LlmProvider;
  log: Logger;
}

/**
 * One Temporal Worker calling models: the dreaming worker (p8fs-llm) and the user insight worker
 * (p8fs-user-insight) differ only in `spec`; connections, limits, tracing and shutdown are shared here.
 */
export async function createModelWorker(
  cfg: Config,
  spec: ModelWorkerSpec,
  overrides: Partial<WorkerOptions>,
  log: Logger,
): Promise<LlmWorkers> {
  // Before anything connects: an unusable provider (e.g. `local`) is a start-up error with its reason.
  const llm = createLlmProvider(cfg);
  await startWorkerRuntime(cfg, log);
  // Off unless an OTLP endpoint is configured; a process with storage tiers too keeps its first name.
  await startTracing(cfg, spec.processName, log);
  const connection = await connectWorkerConnection(cfg);
  const pool = createPool(cfg, Math.max(4, cfg.llm.concurrency + 2));
  const s3 = createS3Client(cfg);
  const bundle = await workflowBundle(cfg);
  warnIfBundleUntraced(bundle, log);
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: spec.taskQueue,
    workflowBundle: bundle,
    activities: spec.activities({ cfg, pool, s3, llm, log }),
    maxConcurrentActivityTaskExecutions: cfg.llm.concurrency,
    maxTaskQueueActivitiesPerSecond: cfg.llm.maxActivitiesPerSecond,
    shutdownGraceTime: cfg.worker.shutdownGraceSeconds * 1000,
    // OpenTelemetry: activity interceptors and the workflow span sink (tracing-interceptors.ts);
    // the metrics interceptor (metrics-interceptor.ts) goes first, timing each whole attempt.
    ...withActivityMetrics(workerTracingOptions()),
    ...overrides,
  });
  watchWorkers([worker]);
  return {
    workers: [worker],
    llm,
    description: describeLlm(cfg, llm),
    async run() {
      try {
        await worker.run();
      } finally {
        await flushTracing();
        await connection.close().catch(() => undefined);
        await pool.end().catch(() => undefined);
        s3.destroy();
      }
    },
    shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}

export function createLlmWorker(
  cfg: Config,
  overrides: Partial<WorkerOptions> = {},
  log: Logger = createLogger(cfg, PROCESS_NAMES.dreamingWorker),
): Promise<LlmWorkers> {
  return createModelWorker(
    cfg,
    {
      processName: PROCESS_NAMES.dreamingWorker,
      taskQueue: llmTaskQueue(cfg),
      activities: (deps) => ({
        ...createDreamActivities(deps),
        ...createMomentActivities(deps),
        ...createTenantMomentActivities(deps),
        ...createUserSummaryActivities(deps),
        ...createAffinityActivities(deps),
      }),
    },
    overrides,
    log,
  );
}
