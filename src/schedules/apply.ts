/** Creates or updates the declared schedules (definitions.ts), and lists what the server has. */
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { ScheduleDefinition } from './definitions.js';

export type ApplyResult = { id: string; action: 'created' | 'updated' };

function options(def: ScheduleDefinition) {
  return {
    spec: { cronExpressions: def.cron },
    action: {
      type: 'startWorkflow' as const,
      workflowType: def.workflowType,
      taskQueue: def.taskQueue,
      args: def.args,
      workflowId: def.id,
    },
    // A run still going when the next is due is left to finish; the next one is skipped.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    memo: { description: def.description },
  };
}

export async function applySchedules(client: Client, defs: ScheduleDefinition[]): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  for (const def of defs) {
    try {
      await client.schedule.create({ scheduleId: def.id, ...options(def) });
      results.push({ id: def.id, action: 'created' });
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      const wanted = options(def);
      await client.schedule.getHandle(def.id).update((previous) => ({
        ...previous,
        spec: wanted.spec,
        action: wanted.action,
        policies: { ...previous.policies, ...wanted.policies },
      }));
      results.push({ id: def.id, action: 'updated' });
    }
  }
  return results;
}

export interface ScheduleRow {
  id: string;
  declared: boolean;
  exists: boolean;
  cron: string;
  workflowType?: string;
  nextRuns: string[];
  paused?: boolean;
  description: string;
}

export async function listSchedules(client: Client, defs: ScheduleDefinition[]): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for (const def of defs) {
    try {
      const d = await client.schedule.getHandle(def.id).describe();
      rows.push({
        id: def.id,
        declared: true,
        exists: true,
        cron: def.cron.join(' | '),
        workflowType: d.action.type === 'startWorkflow' ? d.action.workflowType : undefined,
        nextRuns: d.info.nextActionTimes.slice(0, 2).map((t) => t.toISOString()),
        paused: d.state.paused,
        description: def.description,
      });
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
      rows.push({
        id: def.id,
        declared: true,
        exists: false,
        cron: def.cron.join(' | '),
        workflowType: def.workflowType,
        nextRuns: [],
        description: def.description,
      });
    }
  }
  return rows;
}

/**
 * Ids of the schedules on the server under this deployment's prefix (`<prefix>-…`), declared or not: a
 * schedule that was renamed or removed from definitions.ts stays on the server until deleted, and shows
 * here. Read from Temporal's visibility store, which may lag a write by a moment.
 */
export async function serverScheduleIds(client: Client, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const summary of client.schedule.list()) {
    if (summary.scheduleId.startsWith(`${prefix}-`)) ids.push(summary.scheduleId);
  }
  return ids.sort();
}
