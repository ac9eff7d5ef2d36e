/**
 * Fairness between tenants, the quick check for `make test` (the 500-file run through the whole pipeline
 * is test/chaos/fairness.test.ts, in `make chaos`): a Temporal dev server started with the stack's
 * own arguments (temporalDevServerArgs, via privateTemporal: `matching.enableFairness` on, one write
 * partition per task queue), the real ingestFile workflow started with the real startIngestFile (tenant
 * as fairness key), and activities that only take a few milliseconds, on a worker with one activity
 * slot. Tenant A queues 100 files, then tenant B one; the worker starts once the task queue holds all
 * 101 first workflow tasks. B must be stored before all but a few of A's. Without the server flag or the
 * key, B ends last. The activities also report the fairness key they ran with: inherited from the
 * workflow.
 * Priority, on the same server: one tenant's 100 batch members (priority key 4, as ingestBatch gives its
 * children by default) queued first, then one interactive upload (key 2, startIngestFile's default):
 * the upload is stored before all but a few members.
 *
 * Why B waited behind up to 72 of A's files (issue 25; docs/RELIABILITY.md, "Fairness between tenants"):
 * the server orders tasks by fairness key and priority within a task queue partition only, and the dev
 * server's default is four partitions, each task written to one at random and each poll reading one at
 * random. B's first workflow task was the second of its partition but waited while the polls went to
 * the others: from the histories, every A file stored before B's had had its workflow task dispatched
 * before B's (B's activity then waited 5-410 ms). Eager activity dispatch played no part, nor did the
 * test's batches. The stack now writes every task queue to one partition (FAIRNESS_DYNAMIC_CONFIG); the
 * wait for the backlog keeps history's transfer delay on a loaded machine out of the figure.
 * `npx vitest run` of this file on the 2-core machine at load average 11-20, A's files stored before B's:
 * before, 0, 10, 14, 17, 8, 0 (and 0 to 23 in 11 runs of the same scenario as a script), members before
 * the upload 0, 4, 15, 2, 3, 2; after, 20 of 20 passed, 1 nineteen times and 0 once, members 0 fourteen
 * times and 1 six times.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestActivities } from '../../src/activities/ingest/activities.js';
import type { IngestFileInput } from '../../src/domain/ingest.js';
import { parseStorageEvent } from '../../src/domain/storage-event.js';
import { Priorities } from '../../src/temporal/names.js';
import { describeQueueSide } from '../../src/temporal/queue-stats.js';
import { startIngestFile } from '../../src/temporal/starts.js';
import { type PrivateTemporal, privateTemporal } from '../support/private-temporal.js';
import { bundleWorkflows, installQuietRuntime } from '../support/workflow-env.js';

const A_FILES = 100;
const suffix = randomBytes(3).toString('hex');
const tenantA = `fair-a-${suffix}`;
const tenantB = `fair-b-${suffix}`;

let temporal: PrivateTemporal;
let bundle: WorkflowBundle;
let connection: Connection | undefined;
let native: NativeConnection | undefined;

beforeAll(async () => {
  installQuietRuntime();
  temporal = privateTemporal({ port: 27453 });
  [bundle] = await Promise.all([bundleWorkflows(), temporal.start()]);
  connection = await Connection.connect({ address: temporal.address });
  native = await NativeConnection.connect({ address: temporal.address });
}, 120_000);

afterAll(async () => {
  await connection?.close();
  await native?.close();
  await temporal?.dispose();
}, 60_000);

function inputFor(tenant: string, name: string): IngestFileInput {
  const parsed = parseStorageEvent({
    event_type: 'create',
    path: `/buckets/${tenant}/uploads/${name}`,
    size: 20,
    mime_type: 'text/plain',
  });
  if (parsed.kind !== 'event') throw new Error(`bad test event: ${parsed.reason}`);
  return { event: parsed.event, tier: 'small', version: 'v1', source: 'fairness-test' };
}

/** The running activity's workflow id (`ingest/<tenant>/<name>`). */
function activityWorkflowId(): string {
  return Context.current().info.workflowExecution?.workflowId ?? '';
}

function activityTenant(): string {
  return activityWorkflowId().split('/')[1] ?? '';
}

/**
 * Canned results (references and counts, as the real activities return), a few ms of "work" each;
 * `finished` gets each stored file's workflow id, in order.
 */
function activities(finished: string[], keys: Map<string, Set<string>>): IngestActivities {
  const step = async <T>(result: T): Promise<T> => {
    const tenant = activityTenant();
    const { priority } = Context.current().info;
    const seen = keys.get(tenant) ?? new Set<string>();
    seen.add(priority?.fairnessKey ?? '(none)');
    keys.set(tenant, seen);
    await sleep(3);
    return result;
  };
  const fileId = '11111111-1111-5111-8111-111111111111';
  return {
    registerFile: () =>
      step({ fileId, jobId: fileId, size: 20, mimeType: 'text/plain', provider: 'text', lastModified: '' }),
    extractText: () =>
      step({
        extractedKey: 'k',
        provider: 'text',
        pageCount: 1,
        sectionCount: 1,
        characters: 20,
        contentHash: 'a'.repeat(64),
      }),
    chunkText: () => step({ chunksKey: 'c', chunkCount: 1, tokenCount: 5 }),
    storeChunks: async () => {
      const result = await step({ resourcesStored: 1, resourcesReplaced: 0 });
      finished.push(activityWorkflowId());
      return result;
    },
    // Small files take the one-activity path (src/activities/ingest/ingest-small.ts).
    ingestSmallFile: async () => {
      const file = { fileId, jobId: fileId, size: 20, mimeType: 'text/plain', provider: 'text' };
      const result = await step({
        path: 'one-activity' as const,
        file,
        provider: 'text',
        pageCount: 1,
        chunkCount: 1,
        tokenCount: 5,
        resourcesStored: 1,
        resourcesReplaced: 0,
      });
      finished.push(activityWorkflowId());
      return result;
    },
    deleteFile: () => step({ fileId, resourcesDeleted: 0 }),
    renameFile: () => step({ fileId, fromFileId: fileId, moved: 0 }),
    recordIngestFailure: () => step({ fileId }),
  };
}

type Start = () => ReturnType<typeof startIngestFile>;

/**
 * The workflow tasks the server holds for `taskQueue` (all partitions). A start returns once history has
 * the run; its first workflow task reaches the task queue a moment later (history's transfer queue, slow
 * on a loaded machine).
 */
async function queuedWorkflowTasks(client: Client, taskQueue: string): Promise<number> {
  return (await describeQueueSide(client, 'default', taskQueue, 'workflow')).backlog;
}

/**
 * Queues `backlog` then `late`, waits until the task queue holds all their first workflow tasks (15 s at
 * most), then runs one worker (one activity slot) until all are done. So the order measured is the one
 * the server gives a real backlog, not how far history's transfer queue had got when the worker started.
 * Returns the workflow ids in the order their files were stored, the keys each tenant's activities ran
 * with, the late file's latency and the backlog's drain from the worker's start, and the tasks queued then.
 */
async function queueThenRun(client: Client, taskQueue: string, backlog: Start[], late: Start) {
  if (!native) throw new Error('not connected');
  const handles: Awaited<ReturnType<Start>>[] = [];
  for (let i = 0; i < backlog.length; i += 20) {
    handles.push(...(await Promise.all(backlog.slice(i, i + 20).map((start) => start()))));
  }
  const lateHandle = await late();
  const deadline = Date.now() + 15_000;
  let queued = await queuedWorkflowTasks(client, taskQueue);
  while (queued < backlog.length + 1 && Date.now() < deadline) {
    await sleep(200);
    queued = await queuedWorkflowTasks(client, taskQueue);
  }

  const finished: string[] = [];
  const keys = new Map<string, Set<string>>();
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowBundle: bundle,
    activities: activities(finished, keys),
    maxConcurrentActivityTaskExecutions: 1,
    // The server dispatches fairly; workflow tasks a worker already holds run in its own order. With
    // one activity per small file the run is mostly workflow tasks, so the worker holds few at a time
    // and the order measured is the server's (the 500-file run in make chaos uses the real worker).
    maxConcurrentWorkflowTaskExecutions: 2,
  });
  const t0 = Date.now();
  let lateLatency = 0;
  await worker.runUntil(async () => {
    await lateHandle.result();
    lateLatency = Date.now() - t0;
    await Promise.all(handles.map((h) => h.result()));
  });
  return { finished, keys, lateLatency, drain: Date.now() - t0, lateId: lateHandle.workflowId, queued };
}

describe('fairness between tenants and priority (Temporal dev server with the stack arguments, real ingestFile)', () => {
  it(`tenant A queues ${A_FILES} files, then tenant B one → B ends before most of A's`, async () => {
    if (!connection) throw new Error('not connected');
    const client = new Client({ connection });
    const taskQueue = `fairness-${suffix}`;
    const start = (tenant: string, name: string) => () =>
      startIngestFile(client, inputFor(tenant, name), { taskQueue, workflowId: `ingest/${tenant}/${name}` });

    const backlog = Array.from({ length: A_FILES }, (_, i) => start(tenantA, `a-${i}.txt`));
    const run = await queueThenRun(client, taskQueue, backlog, start(tenantB, 'b.txt'));
    const aBeforeB = run.finished.indexOf(run.lateId);
    console.log(
      `[fairness-workflow] B's latency ${(run.lateLatency / 1000).toFixed(2)} s; A's drain ${(run.drain / 1000).toFixed(1)} s; ` +
        `A's files stored before B's: ${aBeforeB} of ${A_FILES} (workflow tasks queued at the worker's start: ${run.queued})`,
    );

    expect(run.finished).toHaveLength(A_FILES + 1);
    // Activities ran with their workflow's fairness key (inherited; no activity option sets it).
    expect([...(run.keys.get(tenantA) ?? [])]).toEqual([tenantA]);
    expect([...(run.keys.get(tenantB) ?? [])]).toEqual([tenantB]);
    // Without fairness B's every step waits behind A's, and B is stored last (position A_FILES). A small
    // file is one activity (ingestSmallFile), so each A activity dispatched before B's is a whole A file
    // stored. With fairness in one partition B's workflow task is the second dispatched (it ties A's first
    // on pass, A's is older) and its activity the first or second of those queued then, so at most the
    // few A files the worker holds (two workflow tasks, one activity) go first: 0 or 1 in every run measured.
    // Ten is that with room to spare, and still fails the server's default of four random partitions in 7
    // of 17 runs measured before (0 to 23; 72 once in a fresh clone), not only FIFO.
    expect(aBeforeB).toBeGreaterThanOrEqual(0);
    expect(aBeforeB).toBeLessThan(A_FILES / 10);
    expect(run.lateLatency).toBeLessThan(run.drain / 2);
  }, 120_000);

  it(`one tenant's ${A_FILES} batch members (priority ${Priorities.batchDefault}), then an upload (priority ${Priorities.interactive}) → the upload ends before most members`, async () => {
    if (!connection) throw new Error('not connected');
    const client = new Client({ connection });
    const taskQueue = `priority-${suffix}`;
    const tenant = `prio-${suffix}`;
    // As ingestBatch starts its children: the batch's priority key, the tenant as fairness key.
    const member = (i: number) => () =>
      startIngestFile(client, inputFor(tenant, `member-${i}.txt`), {
        taskQueue,
        workflowId: `ingest/${tenant}/member-${i}.txt`,
        priority: { priorityKey: Priorities.batchDefault },
      });
    // As the bridge starts an upload: startIngestFile's default, the interactive key.
    const upload = () =>
      startIngestFile(client, inputFor(tenant, 'upload.txt'), {
        taskQueue,
        workflowId: `ingest/${tenant}/upload.txt`,
      });

    const run = await queueThenRun(
      client,
      taskQueue,
      Array.from({ length: A_FILES }, (_, i) => member(i)),
      upload,
    );
    const membersBeforeUpload = run.finished.indexOf(run.lateId);
    console.log(
      `[priority-workflow] the upload's latency ${(run.lateLatency / 1000).toFixed(2)} s; the members' drain ` +
        `${(run.drain / 1000).toFixed(1)} s; members stored before the upload: ${membersBeforeUpload} of ${A_FILES} ` +
        `(workflow tasks queued at the worker's start: ${run.queued})`,
    );

    expect(run.finished).toHaveLength(A_FILES + 1);
    // First in, first out within one tenant would store the upload last (position A_FILES). Priority puts
    // its tasks ahead of every queued member's in the partition; only the members the worker already
    // holds (two workflow tasks, one activity) may finish first, so the bound is fairness's ten.
    expect(membersBeforeUpload).toBeGreaterThanOrEqual(0);
    expect(membersBeforeUpload).toBeLessThan(A_FILES / 10);
    expect(run.lateLatency).toBeLessThan(run.drain / 2);
  }, 120_000);
});
