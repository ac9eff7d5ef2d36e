/**
 * Follows a workflow's history and reports each activity as it starts and ends, so long CLI work shows
 * its steps live. An activity that keeps failing retryably never shows in the history until it gives up,
 * so pending activities are read as well: each new attempt after a failure is reported as `retrying`
 * with the last failure. Reads only; never changes the workflow.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';

export interface StepEvent {
  activity: string;
  state: 'started' | 'completed' | 'failed' | 'retrying';
  attempt?: number;
  detail?: string;
}

export async function followActivities(
  handle: WorkflowHandle,
  onStep: (step: StepEvent) => void,
  isDone: () => boolean,
  pollMs = 300,
): Promise<void> {
  const seen = new Set<string>();
  let finalPass = false;
  while (!finalPass) {
    // One more read after the workflow ends, so the last steps are reported too.
    finalPass = isDone();
    try {
      const history = await handle.fetchHistory();
      const names = new Map<string, string>();
      for (const event of history.events ?? []) {
        const id = String(event.eventId);
        const scheduled = event.activityTaskScheduledEventAttributes;
        if (scheduled) names.set(id, scheduled.activityType?.name ?? 'activity');
        const report = (key: string, step: StepEvent) => {
          if (seen.has(key)) return;
          seen.add(key);
          onStep(step);
        };
        const started = event.activityTaskStartedEventAttributes;
        if (started) {
          const name = names.get(String(started.scheduledEventId)) ?? 'activity';
          report(`s${started.scheduledEventId}`, {
            activity: name,
            state: 'started',
            attempt: started.attempt ?? 1,
          });
        }
        const completed = event.activityTaskCompletedEventAttributes;
        if (completed) {
          report(`c${completed.scheduledEventId}`, {
            activity: names.get(String(completed.scheduledEventId)) ?? 'activity',
            state: 'completed',
          });
        }
        const failed = event.activityTaskFailedEventAttributes;
        if (failed) {
          report(`f${failed.scheduledEventId}`, {
            activity: names.get(String(failed.scheduledEventId)) ?? 'activity',
            state: 'failed',
            detail: failed.failure?.message ?? undefined,
          });
        }
      }
      if (!finalPass) {
        const description = await handle.describe();
        for (const pending of description.raw.pendingActivities ?? []) {
          const attempt = pending.attempt ?? 1;
          if (attempt < 2 || !pending.lastFailure) continue;
          const key = `r${pending.activityId}:${attempt}`;
          if (seen.has(key)) continue;
          seen.add(key);
          onStep({
            activity: pending.activityType?.name ?? 'activity',
            state: 'retrying',
            attempt,
            detail: pending.lastFailure.message ?? undefined,
          });
        }
      }
    } catch {
      // History not visible yet, or the server is busy: try again on the next tick.
    }
    if (!finalPass) await sleep(pollMs);
  }
}
