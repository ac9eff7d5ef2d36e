/**
 * The Temporal Schedules this project owns, declared as data: `p8fs schedule apply` creates or updates
 * each one (idempotently) and `p8fs schedule list` shows them. Add an entry here for a new periodic job
 * (housekeeping, re-indexing…); nothing else needs to change.
 */
import type { Config } from '../config/config.js';
import type { DreamBatchInput } from '../domain/insight/dream-analysis.js';
import { llmTaskQueue, WorkflowTypes } from '../temporal/names.js';

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
  // The OpenAI Batch API costs half as much and nobody waits for a nightly run; other providers go direct.
  const mode = cfg.llm.provider === 'openai' ? 'batch' : 'direct';
  const nightlyDreams: DreamBatchInput = { mode, windowHours: 24 };
  return [
    {
      id: `${cfg.temporal.taskQueuePrefix}-nightly-dreams`,
      description: `dreamBatch (${mode}) for every tenant with new sessions or resources in the last 24 h`,
      cron: [cfg.schedules.nightlyDreamsCron],
      workflowType: WorkflowTypes.dreamBatch,
      taskQueue: llmTaskQueue(cfg),
      args: [nightlyDreams],
    },
  ];
}
