/**
 * The Temporal Schedules this project owns, declared as data: `p8fs schedule apply` creates or updates
 * each one (idempotently) and `p8fs schedule list` shows them. Add an entry here for a new periodic job
 * (housekeeping, re-indexing…); nothing else needs to change.
 */
import type {
  AbortStaleUploadsInput,
  RequeueStuckFilesInput,
  TrimDeadLettersInput,
} from '../activities/housekeeping/activities.js';
import type { Config } from '../config/config.js';
import type { DreamBatchInput } from '../domain/insight/dream-analysis.js';
import type { InsightsBatchInput } from '../domain/insight/insights-batch.js';
import { llmTaskQueue, taskQueueFor, userInsightTaskQueue, WorkflowTypes } from '../temporal/names.js';

export interface ScheduleDefinition {
  /** Temporal schedule id; stable, so apply updates instead of adding. */
  id: string;
  description: string;
  /** Cron expressions (UTC), e.g. `0 3 * * *`. */
  cron: string[];
  workflowType: string;
  taskQueue: string;
  args: unknown[];
}

export function scheduleDefinitions(cfg: Config): ScheduleDefinition[] {
  const prefix = cfg.temporal.taskQueuePrefix;
  const hk = cfg.housekeeping;
  // The OpenAI Batch API costs half as much and nobody waits for a nightly run; other providers go direct.
  const mode = cfg.llm.provider === 'openai' ? 'batch' : 'direct';
  const nightlyDreams: DreamBatchInput = { mode, windowHours: 24 };
  const insights: InsightsBatchInput = {
    lookbackHours: 24,
    maxModelCallsPerTenant: cfg.insightsRun.modelCallsPerTenant,
  };
  const uploads: AbortStaleUploadsInput = { olderThanHours: hk.uploadMaxAgeHours };
  const stuck: RequeueStuckFilesInput = { olderThanMinutes: hk.stuckAfterMinutes };
  const deadLetters: TrimDeadLettersInput = { olderThanHours: hk.deadLetterRetentionDays * 24 };
  // Housekeeping is light I/O: the small storage queue, whose workers register its activities.
  const storage = taskQueueFor(cfg, 'small');
  return [
    {
      id: `${prefix}-nightly-dreams`,
      description: `dreamBatch (${mode}) for every tenant with new sessions or resources in the last 24 h`,
      cron: [cfg.schedules.nightlyDreamsCron],
      workflowType: WorkflowTypes.dreamBatch,
      taskQueue: llmTaskQueue(cfg),
      args: [nightlyDreams],
    },
    {
      id: `${prefix}-insights`,
      description: `insightsBatch: moments, the user summary and resource affinity of every tenant active in the last 24 h, at most ${insights.maxModelCallsPerTenant} model calls each`,
      cron: [cfg.schedules.insightsCron],
      workflowType: WorkflowTypes.insightsBatch,
      taskQueue: userInsightTaskQueue(cfg),
      args: [insights],
    },
    {
      id: `${prefix}-abort-stale-uploads`,
      description: `abort multipart uploads started more than ${hk.uploadMaxAgeHours} h ago, in every bucket`,
      cron: [hk.uploadsCron],
      workflowType: WorkflowTypes.abortStaleUploads,
      taskQueue: storage,
      args: [uploads],
    },
    {
      id: `${prefix}-requeue-stuck-files`,
      description: `re-queue files in processing for over ${hk.stuckAfterMinutes} min whose workflow is not running`,
      cron: [hk.stuckFilesCron],
      workflowType: WorkflowTypes.requeueStuckFiles,
      taskQueue: storage,
      args: [stuck],
    },
    {
      id: `${prefix}-trim-dead-letters`,
      description: `remove dead letters older than ${hk.deadLetterRetentionDays} days from ${cfg.nats.dlqStream}`,
      cron: [hk.deadLettersCron],
      workflowType: WorkflowTypes.trimDeadLetters,
      taskQueue: storage,
      args: [deadLetters],
    },
  ];
}
