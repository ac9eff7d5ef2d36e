/**
 * Replay: the histories of real `ingestFile` runs (test/histories/*.json, captured on the test stack with
 * the real activities by `npx tsx scripts/capture-histories.ts`) replayed against the workflow code in
 * the working tree. A worker restarted on new code replays the history of every open workflow the same
 * way, so a change that issues different commands for the same history (another activity, another order,
 * a timer more or less) fails here with a nondeterminism error instead of failing running workflows.
 *
 * A change to the commands of a workflow that may be running goes behind `patched()` from
 * @temporalio/workflow (old branch kept for histories without the patch marker, later `deprecatePatch()`),
 * and these histories stay as they are: never re-capture them to make a failing replay pass.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { NAMESPACE_DNS, uuidV5 } from '../../src/domain/ids.js';
import { bundleWorkflows, historyFromJson, installQuietRuntime } from '../support/workflow-env.js';

const HISTORY_DIR = join(projectRoot(), 'test', 'histories');

const ingest = ['registerFile', 'extractText', 'chunkText', 'storeChunks'];
const COMPLETED = 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED';
const FAILED = 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED';

/** What each captured run did: the activities it scheduled, in order, and how it closed. */
const expected: Record<string, { activities: string[]; closedWith: string }> = {
  'completed-markdown': { activities: ingest, closedWith: COMPLETED },
  'completed-pdf': { activities: ingest, closedWith: COMPLETED },
  'failed-corrupt-pdf': {
    activities: ['registerFile', 'extractText', 'recordIngestFailure'],
    closedWith: FAILED,
  },
  // Small files in one activity (behind the patch 'ingest-small-file-one-activity').
  'one-activity-markdown': { activities: ['ingestSmallFile'], closedWith: COMPLETED },
  'one-activity-failed-corrupt-pdf': {
    activities: ['ingestSmallFile', 'recordIngestFailure'],
    closedWith: FAILED,
  },
  'delete-stored': { activities: ['deleteFile'], closedWith: COMPLETED },
  'rename-stored': { activities: ['renameFile'], closedWith: COMPLETED },
  'rename-fallback': { activities: ['renameFile', ...ingest], closedWith: COMPLETED },
  // buildMoments for a transcript uploaded under transcripts/ (heuristic provider, one group).
  'moments-heuristic': {
    activities: ['planMoments', 'buildMomentGroup', 'storeMoments'],
    closedWith: COMPLETED,
  },
  // A small file whose chunks were embedded after the store (behind the patch 'embed-after-store').
  'embedded-markdown': { activities: ['ingestSmallFile', 'embedFile'], closedWith: COMPLETED },
  // Runs on the original P8FS's ids (computed in activities only: the same commands, other results).
  'original-ids-sample-md': { activities: ['ingestSmallFile'], closedWith: COMPLETED },
  'original-ids-rename-stored': { activities: ['renameFile'], closedWith: COMPLETED },
  'original-ids-delete-stored': { activities: ['deleteFile'], closedWith: COMPLETED },
};

/** The file ids the runs on the original's ids returned: uuid5(NAMESPACE_DNS, "{tenant}:{key}"). */
const ORIGINAL_ID_RUNS: Record<string, string> = {
  'original-ids-sample-md': 'test/Sample.md',
  'original-ids-rename-stored': 'archive/Sample.md',
  'original-ids-delete-stored': 'archive/Sample.md',
};

// The JSON as written (protojson, like `temporal workflow show --output json`), for the checks below.
interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  [attributes: string]: unknown;
}
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function readHistory(name: string): { events: JsonEvent[] } {
  return JSON.parse(readFileSync(join(HISTORY_DIR, `${name}.json`), 'utf8'));
}

/** Every payload in a history (inputs, results, search attributes), decoded from base64. */
function payloads(value: unknown): Buffer[] {
  if (Array.isArray(value)) return value.flatMap(payloads);
  if (value === null || typeof value !== 'object') return [];
  const payload = value as JsonPayload;
  if (typeof payload.data === 'string' && payload.metadata !== undefined) {
    return [Buffer.from(payload.data, 'base64')];
  }
  return Object.values(value).flatMap(payloads);
}

describe('saved histories of real ingestFile runs', () => {
  it('test/histories holds exactly the captured set', () => {
    const files = readdirSync(HISTORY_DIR).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))(
    '%s scheduled the expected activities and closed as expected',
    (name, want) => {
      const { events } = readHistory(name);
      const scheduled = events.flatMap((e) =>
        e.activityTaskScheduledEventAttributes
          ? [e.activityTaskScheduledEventAttributes.activityType.name]
          : [],
      );
      expect(scheduled).toEqual(want.activities);
      expect(events.at(-1)?.eventType).toBe(want.closedWith);
    },
  );

  it.each(Object.entries(ORIGINAL_ID_RUNS))('%s returned the original P8FS file id of %s', (name, key) => {
    const { events } = readHistory(name);
    const first = (at: JsonEvent | undefined, attributes: string, field: string) =>
      JSON.parse(
        payloads((at?.[attributes] as Record<string, unknown> | undefined)?.[field])[0]?.toString('utf8') ??
          '{}',
      );
    const input = first(events[0], 'workflowExecutionStartedEventAttributes', 'input');
    const outcome = first(events.at(-1), 'workflowExecutionCompletedEventAttributes', 'result');
    expect(outcome.fileId).toBe(uuidV5(`${input.event.tenantId}:${key}`, NAMESPACE_DNS));
  });

  it.each(Object.keys(expected))('%s carries references and counts only: every payload is small', (name) => {
    const sizes = payloads(readHistory(name).events).map((p) => p.length);
    expect(sizes.length).toBeGreaterThan(0);
    // The largest today is the input (the storage event, ~400 bytes); file contents would be far bigger.
    expect(Math.max(...sizes)).toBeLessThan(2048);
  });
});

describe('replay against the current workflow code', () => {
  let workflowBundle: WorkflowBundle;

  beforeAll(async () => {
    installQuietRuntime();
    workflowBundle = await bundleWorkflows();
  });

  it('replays every saved history without a nondeterminism error', async () => {
    const histories = Object.keys(expected).map((name) => ({
      workflowId: name,
      history: historyFromJson(readHistory(name)),
    }));
    const outcomes: Record<string, string> = {};
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      outcomes[result.workflowId] = result.error
        ? `${result.error.name}: ${result.error.message}`
        : 'replayed';
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(expected).map((name) => [name, 'replayed'])));
  });
});
