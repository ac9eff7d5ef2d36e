/**
 * Replay of real dreamAnalysis histories (test/histories/dream/*.json, captured on the test stack by
 * `npx tsx scripts/capture-dream-histories.ts`): direct mode, and batch mode with its durable-timer
 * polls. A change to the workflow that issues other commands for the same history fails here. Like
 * replay.test.ts: never re-capture to make a failing replay pass; use patched().
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { bundleWorkflows, historyFromJson, installQuietRuntime } from '../support/workflow-env.js';

const DIR = join(projectRoot(), 'test', 'histories', 'dream');
const expected: Record<string, string[]> = {
  'direct-heuristic': ['prepareDream', 'analyzeDreamDirect'],
  'batch-openai': [
    'prepareDream',
    'submitDreamBatch',
    'pollDreamBatch',
    'pollDreamBatch',
    'pollDreamBatch',
    'collectDreamBatch',
  ],
};

function read(name: string): {
  events: Array<{
    eventType: string;
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  }>;
} {
  return JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8'));
}

describe('saved dreamAnalysis histories', () => {
  it.each(Object.entries(expected))(
    '%s scheduled the expected activities, slept between polls and completed',
    (name, activities) => {
      const { events } = read(name);
      const scheduled = events.flatMap((e) =>
        e.activityTaskScheduledEventAttributes
          ? [e.activityTaskScheduledEventAttributes.activityType.name]
          : [],
      );
      expect(scheduled).toEqual(activities);
      const timers = events.filter((e) => e.eventType === 'EVENT_TYPE_TIMER_STARTED').length;
      expect(timers).toBe(activities.filter((a) => a === 'pollDreamBatch').length);
      expect(events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    },
  );

  it('replay against the current workflow code without a nondeterminism error', async () => {
    installQuietRuntime();
    const workflowBundle = await bundleWorkflows();
    const histories = Object.keys(expected).map((name) => ({
      workflowId: name,
      history: historyFromJson(read(name)),
    }));
    const outcomes: Record<string, string> = {};
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      outcomes[result.workflowId] = result.error
        ? `${result.error.name}: ${result.error.message}`
        : 'replayed';
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(expected).map((n) => [n, 'replayed'])));
  }, 120_000);
});
