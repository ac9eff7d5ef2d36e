/**
 * Task queue backlogs and workflow counts, as `p8fs status` and the HTTP API's `GET /v1/stats` report
 * them: per task queue (the three storage tiers and the LLM queue) the workflow and activity backlog
 * with the number of pollers (Temporal's task queue description), and per workflow type the runs in a
 * status (a visibility count query, optionally narrowed, e.g. to one tenant).
 */
import type { Client } from '@temporalio/client';
import { TIERS } from '../domain/tiers.js';
import { llmTaskQueue, taskQueueFor, WorkflowTypes } from './names.js';

export interface QueueSide {
  backlog: number;
  pollers: number;
}

export interface TaskQueueStats {
  name: string;
  workflow: QueueSide;
  activity: QueueSide;
}

const TASK_QUEUE_KIND_NORMAL = 1;
const QUEUE_TYPES = { workflow: 1, activity: 2 } as const;

interface QueueNaming {
  temporal: { namespace: string; taskQueuePrefix: string };
}

/** The queues our workers poll: `p8fs-storage-small|medium|large` and `p8fs-llm` (with the prefix). */
export function ourTaskQueues(cfg: QueueNaming): string[] {
  return [...TIERS.map((tier) => taskQueueFor(cfg, tier)), llmTaskQueue(cfg)];
}

/** One side of one task queue as Temporal describes it (the backlog only when `reportStats`). */
export async function describeQueueSide(
  client: Client,
  namespace: string,
  name: string,
  kind: keyof typeof QUEUE_TYPES,
  reportStats = true,
): Promise<QueueSide> {
  const described = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: QUEUE_TYPES[kind],
    reportStats,
  });
  return {
    backlog: Number(described.stats?.approximateBacklogCount ?? 0),
    pollers: described.pollers?.length ?? 0,
  };
}

export async function taskQueueStats(client: Client, cfg: QueueNaming): Promise<TaskQueueStats[]> {
  const queues: TaskQueueStats[] = [];
  for (const name of ourTaskQueues(cfg)) {
    const workflow = await describeQueueSide(client, cfg.temporal.namespace, name, 'workflow');
    const activity = await describeQueueSide(client, cfg.temporal.namespace, name, 'activity');
    queues.push({ name, workflow, activity });
  }
  return queues;
}

/** A visibility query value, quoted: a tenant id never breaks out of its string. */
export function queryString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Runs per workflow type in each of `statuses` (Temporal's ExecutionStatus names: Running, Failed, …);
 * `narrow` is ANDed to every query (e.g. `TenantId = 'tenant-a'`).
 */
export async function workflowCounts(
  client: Client,
  statuses: readonly string[] = ['Running', 'Failed'],
  narrow?: string,
): Promise<Record<string, Record<string, number>>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const type of Object.values(WorkflowTypes)) {
    const byStatus: Record<string, number> = {};
    for (const status of statuses) {
      const query = `WorkflowType = '${type}' AND ExecutionStatus = '${status}'${narrow ? ` AND ${narrow}` : ''}`;
      byStatus[status.toLowerCase()] = (await client.workflow.count(query)).count;
    }
    counts[type] = byStatus;
  }
  return counts;
}
