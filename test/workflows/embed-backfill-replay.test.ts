/**
 * Replay of a real `embedBackfill` chain (test/histories/embed, captured on the test stack with the local
 * model by `npx tsx scripts/capture-embed-histories.ts`): pages of 5 rows, a window of 2, continue-as-new
 * after the first plan's pages; the second run finds no chunk left, turns to the moments and completes.
 * First what each saved run did, so a history that no longer shows the behaviour is noticed; then a replay
 * against the working tree's workflow code (a change that issues other commands fails here: put it behind
 * patched(), never re-capture to make a failing replay pass).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { bundleWorkflows, historyFromJson, installQuietRuntime } from '../support/workflow-env.js';

const DIR = join(projectRoot(), 'test', 'histories', 'embed');

interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
}

const expected: Record<string, { activities: string[]; closedWith: string }> = {
  'backfill-run1': {
    activities: ['planEmbedPages', 'embedRange', 'embedRange', 'embedRange', 'embedRange'],
    closedWith: 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
  },
  'backfill-run2': {
    // No chunk left after the cursor → the moments from their first id: one page, then none.
    activities: ['planEmbedPages', 'planEmbedPages', 'embedRange', 'planEmbedPages'],
    closedWith: 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
  },
};

function read(name: string): { events: JsonEvent[] } {
  return JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8'));
}

describe('saved embedBackfill histories', () => {
  it.each(Object.entries(expected))('%s scheduled the expected activities', (name, want) => {
    const { events } = read(name);
    const scheduled = events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes
        ? [e.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
    expect(scheduled).toEqual(want.activities);
    expect(events.at(-1)?.eventType).toBe(want.closedWith);
  });

  it('replay against the current workflow code without a nondeterminism error', async () => {
    installQuietRuntime();
    const workflowBundle = await bundleWorkflows();
    const histories = Object.keys(expected).map((name) => ({
      workflowId: `embed-backfill-${name}`,
      history: historyFromJson(read(name)),
    }));
    const outcomes: Record<string, string> = {};
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      outcomes[result.workflowId] = result.error
        ? `${result.error.name}: ${result.error.message}`
        : 'replayed';
    }
    expect(outcomes).toEqual(
      Object.fromEntries(Object.keys(expected).map((name) => [`embed-backfill-${name}`, 'replayed'])),
    );
  });
});
