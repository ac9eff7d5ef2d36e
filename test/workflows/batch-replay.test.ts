/**
 * Replay of real runs of the workflows replay.test.ts and dream-replay.test.ts do not cover, captured on
 * the test stack with the real activities by `npx tsx scripts/capture-batch-histories.ts`:
 * test/histories/batch (ingestBatch: a list of keys continuing as new, every run of the chain; a list with
 * a missing key; a ZIP), test/histories/housekeeping (abortStaleUploads, requeueStuckFiles,
 * trimDeadLetters) and test/histories/dream-batch (dreamBatch, direct mode, two tenants).
 *
 * First what each saved run did (activities, child workflows, how it closed, its result), so a history
 * that no longer shows the behaviour is noticed; then a replay against the working tree's workflow code.
 * A change that issues other commands for these histories fails with a nondeterminism error: put it
 * behind patched(), never re-capture to make a failing replay pass.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { bundleWorkflows, historyFromJson, installQuietRuntime } from '../support/workflow-env.js';

const HISTORIES = join(projectRoot(), 'test', 'histories');
const COMPLETED = 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED';
const CONTINUED = 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW';

interface Expected {
  workflowType: string;
  /**
   * The id the run had (fixed by the capture script): replay runs under it, since a workflow may derive
   * commands from it (dreamBatch names its children `{its id}/{tenant}`).
   */
  workflowId: string;
  /** Activities and child workflows (`child:type`) in the order the run scheduled them. */
  commands: string[];
  closedWith: string;
  /** Fields the run's result must hold (completed runs only). */
  result?: Record<string, unknown>;
}

const batchDone = (files: number, completed: number, failed: number, runs: number) => ({
  status: 'completed',
  files,
  counts: { completed, failed, superseded: 0, skipped: 0, cancelled: 0 },
  runs,
});

const expected: Record<string, Expected> = {
  // 4 keys, pages of 3, continue-as-new after 2 files: run 1 hands the third planned file over to run 2.
  'batch/list-run1': {
    workflowType: 'ingestBatch',
    workflowId: 'ingest-batch-00000000-0000-4000-8000-00000000b001',
    commands: ['openBatch', 'planBatchPage', 'child:ingestFile', 'child:ingestFile', 'saveBatchProgress'],
    closedWith: CONTINUED,
  },
  'batch/list-run2': {
    workflowType: 'ingestBatch',
    workflowId: 'ingest-batch-00000000-0000-4000-8000-00000000b001',
    commands: ['child:ingestFile', 'planBatchPage', 'child:ingestFile', 'finishBatch'],
    closedWith: COMPLETED,
    result: batchDone(4, 4, 0, 2),
  },
  // The missing key is a failed file of the page: no child is started for it.
  'batch/missing-key': {
    workflowType: 'ingestBatch',
    workflowId: 'ingest-batch-00000000-0000-4000-8000-00000000b002',
    commands: ['openBatch', 'planBatchPage', 'child:ingestFile', 'finishBatch'],
    closedWith: COMPLETED,
    result: {
      ...batchDone(2, 1, 1, 1),
      failedFiles: [expect.objectContaining({ key: 'missing/absent.txt' })],
    },
  },
  'batch/zip': {
    workflowType: 'ingestBatch',
    workflowId: 'ingest-batch-00000000-0000-4000-8000-00000000b003',
    commands: [
      'openBatch',
      'extractBatchZip',
      'saveBatchProgress',
      'planBatchPage',
      'child:ingestFile',
      'child:ingestFile',
      'child:ingestFile',
      'finishBatch',
    ],
    closedWith: COMPLETED,
    result: batchDone(3, 3, 0, 1),
  },
  'housekeeping/abort-stale-uploads': {
    workflowType: 'abortStaleUploads',
    workflowId: 'histories-abortStaleUploads',
    commands: ['abortStaleUploads'],
    closedWith: COMPLETED,
    result: { bucketsScanned: 1, aborted: 1 },
  },
  'housekeeping/requeue-stuck-files': {
    workflowType: 'requeueStuckFiles',
    workflowId: 'histories-requeueStuckFiles',
    commands: ['requeueStuckFiles'],
    closedWith: COMPLETED,
    result: { checked: 1, requeued: 1 },
  },
  'housekeeping/trim-dead-letters': {
    workflowType: 'trimDeadLetters',
    workflowId: 'histories-trimDeadLetters',
    commands: ['trimDeadLetters'],
    closedWith: COMPLETED,
    result: { removed: 1, remaining: 0 },
  },
  'dream-batch/direct-heuristic': {
    workflowType: 'dreamBatch',
    workflowId: 'histories-dreamBatch',
    commands: ['listDreamTenants', 'child:dreamAnalysis', 'child:dreamAnalysis'],
    closedWith: COMPLETED,
    result: { mode: 'direct', tenants: 2, completed: 2, skipped: 0, failed: [] },
  },
};

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}
interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: {
    activityType: { name: string };
    input?: { payloads: JsonPayload[] };
  };
  startChildWorkflowExecutionInitiatedEventAttributes?: {
    workflowId: string;
    workflowType: { name: string };
  };
  workflowExecutionStartedEventAttributes?: {
    workflowType: { name: string };
    originalExecutionRunId?: string;
    continuedExecutionRunId?: string;
    input?: { payloads: JsonPayload[] };
  };
  workflowExecutionCompletedEventAttributes?: { result?: { payloads: JsonPayload[] } };
  workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId: string };
  [attributes: string]: unknown;
}

function read(name: string): { events: JsonEvent[] } {
  return JSON.parse(readFileSync(join(HISTORIES, `${name}.json`), 'utf8'));
}

const decode = (p: JsonPayload | undefined): unknown =>
  p?.data === undefined ? undefined : JSON.parse(Buffer.from(p.data, 'base64').toString('utf8'));

/** Every payload in a history (inputs, results, search attributes), decoded from base64. */
function payloads(value: unknown): Buffer[] {
  if (Array.isArray(value)) return value.flatMap(payloads);
  if (value === null || typeof value !== 'object') return [];
  const payload = value as JsonPayload;
  if (typeof payload.data === 'string' && payload.metadata !== undefined)
    return [Buffer.from(payload.data, 'base64')];
  return Object.values(value).flatMap(payloads);
}

describe('saved histories of real ingestBatch, housekeeping and dreamBatch runs', () => {
  it('test/histories/{batch,housekeeping,dream-batch} hold exactly the captured set', () => {
    const files = ['batch', 'housekeeping', 'dream-batch'].flatMap((dir) =>
      readdirSync(join(HISTORIES, dir))
        .filter((f) => f.endsWith('.json'))
        .map((f) => `${dir}/${f.replace(/\.json$/, '')}`),
    );
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))(
    '%s scheduled the expected activities and children and closed as expected',
    (name, want) => {
      const { events } = read(name);
      expect(events[0]?.workflowExecutionStartedEventAttributes?.workflowType.name).toBe(want.workflowType);
      const commands = events.flatMap((e) => {
        if (e.activityTaskScheduledEventAttributes)
          return [e.activityTaskScheduledEventAttributes.activityType.name];
        if (e.startChildWorkflowExecutionInitiatedEventAttributes)
          return [`child:${e.startChildWorkflowExecutionInitiatedEventAttributes.workflowType.name}`];
        return [];
      });
      expect(commands).toEqual(want.commands);
      // Every child started was awaited to its end, successfully (the failed file was never a child).
      const children = want.commands.filter((c) => c.startsWith('child:')).length;
      const ended = events.filter((e) => e.eventType === 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED');
      expect(ended).toHaveLength(children);
      const last = events.at(-1);
      expect(last?.eventType).toBe(want.closedWith);
      if (want.result)
        expect(decode(last?.workflowExecutionCompletedEventAttributes?.result?.payloads[0])).toMatchObject(
          want.result,
        );
    },
  );

  it.each(Object.entries(expected))('%s ran under the workflow id it is replayed with', (name, want) => {
    const { events } = read(name);
    const children = events.flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes ?? []);
    if (want.workflowType === 'dreamBatch')
      for (const child of children) expect(child.workflowId).toMatch(new RegExp(`^${want.workflowId}/t-`));
    const open = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType.name === 'openBatch',
    );
    if (open)
      expect(decode(open.activityTaskScheduledEventAttributes?.input?.payloads[0])).toMatchObject({
        workflowId: want.workflowId,
      });
  });

  it('the list batch is one chain: run 2 continues run 1 and carries its totals', () => {
    const run1 = read('batch/list-run1').events;
    const run2 = read('batch/list-run2').events;
    const first = run1[0]?.workflowExecutionStartedEventAttributes;
    const next = run2[0]?.workflowExecutionStartedEventAttributes;
    expect(first?.continuedExecutionRunId ?? '').toBe('');
    expect(next?.continuedExecutionRunId).toBe(first?.originalExecutionRunId);
    const input = decode(next?.input?.payloads[0]) as {
      continueAsNewAfter: number;
      carry: { runs: number; pending: Array<{ key: string }>; totals: { counts: { completed: number } } };
    };
    expect(input.continueAsNewAfter).toBe(2);
    expect(input.carry.runs).toBe(1);
    expect(input.carry.totals.counts.completed).toBe(2);
    expect(input.carry.pending.map((f) => f.key)).toEqual(['list/k-2.txt']);
  });

  it.each(Object.keys(expected).filter((n) => n.startsWith('batch/')))(
    '%s carries keys, ids and counts, never the files’ contents',
    (name) => {
      const all = payloads(read(name).events);
      expect(all.length).toBeGreaterThan(0);
      // Every batch file's text starts with this phrase (scripts/capture-batch-histories.ts).
      for (const payload of all) expect(payload.toString('utf8')).not.toContain('Batch history file');
      // A page of planned files is the largest (~0.9 KiB a file); contents would not fit this bound.
      expect(Math.max(...all.map((p) => p.length))).toBeLessThan(4096);
    },
  );

  it('replay against the current workflow code without a nondeterminism error', async () => {
    installQuietRuntime();
    const workflowBundle = await bundleWorkflows();
    const histories = Object.keys(expected).map((name) => ({
      workflowId: expected[name]?.workflowId as string,
      history: historyFromJson(read(name)),
    }));
    // Replayed one at a time, results in order: keyed by history, as the two list runs share their id.
    const names = Object.keys(expected);
    const outcomes: Record<string, string> = {};
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      outcomes[names[Object.keys(outcomes).length] as string] = result.error
        ? `${result.error.name}: ${result.error.message}`
        : 'replayed';
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(expected).map((n) => [n, 'replayed'])));
  }, 120_000);
});
