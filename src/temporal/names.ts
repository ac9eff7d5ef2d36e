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
  // Housekeeping (src/workflows/housekeeping.ts), started by the schedules in src/schedules/definitions.ts.
  abortStaleUploads: 'abortStaleUploads',
  requeueStuckFiles: 'requeueStuckFiles',
  trimDeadLetters: 'trimDeadLetters',
} as const;
export type WorkflowType = (typeof WorkflowTypes)[keyof typeof WorkflowTypes];

interface TaskQueueNaming {
  temporal: { taskQueuePrefix: string };
}

/** `p8fs-storage-small|medium|large` with the default prefix; tests use their own prefix. */
export function taskQueueFor(cfg: TaskQueueNaming, tier: Tier): string {
  return `${cfg.temporal.taskQueuePrefix}-storage-${tier}`;
}

/** `p8fs-llm` with the default prefix: dream analysis and moment building. */
export function llmTaskQueue(cfg: TaskQueueNaming): string {
  return `${cfg.temporal.taskQueuePrefix}-llm`;
}
