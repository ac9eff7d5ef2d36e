/**
 * The Temporal names every process shares: task queues and workflow types. Workers poll these queues,
 * the bridge and the CLI start workflows on them, and operators type them (`temporal workflow list
 * --query "WorkflowType='ingestFile'"`), so they are defined once, here.
 */
import type { Tier } from '../domain/tiers.js';

/** Workflow type names as registered by the workers (the exported function names in src/workflows). */
export const WorkflowTypes = {
  ingestFile: 'ingestFile',
  buildMoments: 'buildMoments',
  dreamAnalysis: 'dreamAnalysis',
  dreamBatch: 'dreamBatch',
  // The moments task: a tenant's sessions and documents → moments (src/workflows/tenant-moments.ts).
  tenantMoments: 'tenantMoments',
  // The user summary: the p8fs-user-info resource (src/workflows/user-summary.ts).
  userSummary: 'userSummary',
  // The insights schedule: moments and the user summary of every active tenant (src/workflows/insights-batch.ts).
  insightsBatch: 'insightsBatch',
  // Resource affinity: graph_paths edges between related resources (src/workflows/affinity.ts).
  resourceAffinity: 'resourceAffinity',
  // Housekeeping (src/workflows/housekeeping.ts), started by the schedules in src/schedules/definitions.ts.
  abortStaleUploads: 'abortStaleUploads',
  requeueStuckFiles: 'requeueStuckFiles',
  trimDeadLetters: 'trimDeadLetters',
  // Many files → ingestFile children in a sliding window (src/workflows/ingest-batch.ts).
  ingestBatch: 'ingestBatch',
  // A tenant's rows lacking vectors → embed pages in a sliding window (src/workflows/embed-backfill.ts).
  embedBackfill: 'embedBackfill',
} as const;
export type WorkflowType = (typeof WorkflowTypes)[keyof typeof WorkflowTypes];

interface TaskQueueNaming {
  temporal: { taskQueuePrefix: string };
}

/** `p8fs-storage-small|medium|large` with the default prefix; tests use their own prefix. */
export function taskQueueFor(cfg: TaskQueueNaming, tier: Tier): string {
  return `${cfg.temporal.taskQueuePrefix}-storage-${tier}`;
}

/**
 * `p8fs-storage-small-embed` etc.: the tier's embedding activities (src/activities/embed), polled by a
 * Worker of their own in each storage worker process so embedding has its own slots. Workflows name it
 * as their own task queue + EMBED_QUEUE_SUFFIX (they cannot read the config).
 */
export function embedTaskQueueFor(cfg: TaskQueueNaming, tier: Tier): string {
  return `${taskQueueFor(cfg, tier)}${EMBED_QUEUE_SUFFIX}`;
}

export const EMBED_QUEUE_SUFFIX = '-embed';

/** `p8fs-llm` with the default prefix: dream analysis and moment building. */
export function llmTaskQueue(cfg: TaskQueueNaming): string {
  return `${cfg.temporal.taskQueuePrefix}-llm`;
}

/**
 * `p8fs-user-insight` with the default prefix: the per-tenant insight tasks (tenantMoments, userSummary),
 * served by `p8fs user-insight-worker` (the seeds' Deployment user-insight-worker), so they scale and are
 * rate-limited apart from the dreams on p8fs-llm.
 */
export function userInsightTaskQueue(cfg: TaskQueueNaming): string {
  return `${cfg.temporal.taskQueuePrefix}-user-insight`;
}

/**
 * Where ingestBatch runs: the small storage queue (its work is planning and bookkeeping; its children
 * go to the queue of each file's tier), so every deployment with small-tier workers runs batches.
 */
export function batchTaskQueue(cfg: TaskQueueNaming): string {
  return taskQueueFor(cfg, 'small');
}

/**
 * Temporal priority keys (lower runs first; 1 to 5, unset means 3): uploads people wait for go ahead of
 * batch members, which a batch may raise or lower with `--priority` (P8FS_BATCH_PRIORITY by default).
 */
export const Priorities = {
  interactive: 2,
  batchDefault: 4,
} as const;
