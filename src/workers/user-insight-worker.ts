/**
 * The user insight worker (`p8fs user-insight-worker`, the seeds' Deployment user-insight-worker): one
 * Temporal Worker on `p8fs-user-insight` running the per-tenant insight tasks, tenantMoments (moments from
 * sessions and documents, through buildMoments's activities) and userSummary (the p8fs-user-info
 * resource), and insightsBatch (the insights schedule) over every active tenant. Their workflows call activities on their own task queue, so a run started here stays here:
 * the dreams on p8fs-llm never wait behind a night of per-tenant summaries, and the two scale apart.
 * Model calls go to the same provider as the dreaming worker's, and the server limits this queue's
 * activity rate to P8FS_LLM_MAX_ACTIVITIES_PER_SECOND of its own.
 */
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { createInsightTenantActivities } from '../activities/insight/insight-tenants.js';
import { createLlmProvider, describeLlm } from '../activities/insight/llm/index.js';
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
import { userInsightTaskQueue } from '../temporal/names.js';
import type { LlmWorkers } from './llm-worker.js';
import { watchWorkers } from './metrics-endpoint.js';
import { withActivityMetrics } from './metrics-interceptor.js';
import { startWorkerRuntime } from './runtime.js';
import { warnIfBundleUntraced, workerTracingOptions } from './tracing-interceptors.js';
import { workflowBundle } from './workflow-bundle.js';

export async function createUserInsightWorker(
  cfg: Config,
  overrides: Partial<WorkerOptions> = {},
  log: Logger = createLogger(cfg, PROCESS_NAMES.userInsightWorker),
): Promise<LlmWorkers> {
  // Before anything connects: an unusable provider is a start-up error with its reason.
  const llm = createLlmProvider(cfg);
  await startWorkerRuntime(cfg, log);
  await startTracing(cfg, PROCESS_NAMES.userInsightWorker, log);
  const connection = await connectWorkerConnection(cfg);
  const pool = createPool(cfg, Math.max(4, cfg.llm.concurrency + 2));
  const s3 = createS3Client(cfg);
  const deps = { cfg, pool, s3, llm, log };
  const bundle = await workflowBundle(cfg);
  warnIfBundleUntraced(bundle, log);
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: userInsightTaskQueue(cfg),
    workflowBundle: bundle,
    activities: {
      // tenantMoments stages its sources, then runs buildMoments's plan, model and store activities.
      ...createMomentActivities(deps),
      ...createTenantMomentActivities(deps),
      ...createUserSummaryActivities(deps),
      // insightsBatch (the insights schedule) lists the tenants, then runs the two above as children.
      ...createInsightTenantActivities(deps),
    },
    maxConcurrentActivityTaskExecutions: cfg.llm.concurrency,
    maxTaskQueueActivitiesPerSecond: cfg.llm.maxActivitiesPerSecond,
    shutdownGraceTime: cfg.worker.shutdownGraceSeconds * 1000,
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
