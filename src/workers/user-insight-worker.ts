/**
 * The user insight worker (`p8fs user-insight-worker`, the seeds' Deployment user-insight-worker): one
 * Temporal Worker on `p8fs-user-insight` running the per-tenant insight tasks, tenantMoments (moments from
 * sessions and documents, through buildMoments's activities) and userSummary (the p8fs-user-info
 * resource), and insightsBatch (the insights schedule) over every active tenant, whose affinity children run on
 * p8fs-llm (the dreaming worker hosts resourceAffinity). Their workflows call activities on their own task queue, so
 * a run started here stays here:
 * the dreams on p8fs-llm never wait behind a night of per-tenant summaries, and the two scale apart.
 * Model calls go to the same provider as the dreaming worker's, and the server limits this queue's
 * activity rate to P8FS_LLM_MAX_ACTIVITIES_PER_SECOND of its own.
 */
import type { WorkerOptions } from '@temporalio/worker';
import { createInsightTenantActivities } from '../activities/insight/insight-tenants.js';
import { createMomentActivities } from '../activities/insight/moment-activities.js';
import { createTenantMomentActivities } from '../activities/insight/tenant-moments.js';
import { createUserSummaryActivities } from '../activities/insight/user-summary.js';
import type { Config } from '../config/config.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { PROCESS_NAMES } from '../telemetry/process-names.js';
import { userInsightTaskQueue } from '../temporal/names.js';
import { createModelWorker, type LlmWorkers } from './llm-worker.js';

export function createUserInsightWorker(
  cfg: Config,
  overrides: Partial<WorkerOptions> = {},
  log: Logger = createLogger(cfg, PROCESS_NAMES.userInsightWorker),
): Promise<LlmWorkers> {
  return createModelWorker(
    cfg,
    {
      processName: PROCESS_NAMES.userInsightWorker,
      taskQueue: userInsightTaskQueue(cfg),
      activities: (deps) => ({
        // tenantMoments stages its sources, then runs buildMoments's plan, model and store activities.
        ...createMomentActivities(deps),
        ...createTenantMomentActivities(deps),
        ...createUserSummaryActivities(deps),
        // insightsBatch (the insights schedule) lists the tenants, then runs the two above as children.
        ...createInsightTenantActivities(deps),
      }),
    },
    overrides,
    log,
  );
}
