/**
 * Regenerates the histories test/workflows/batch-replay.test.ts replays against the current workflow code:
 *
 *   test/histories/batch/         ingestBatch: a list of 4 keys continuing as new every 2 files (one file
 *                                 per run of the chain: list-run1.json, list-run2.json, …), a list with a
 *                                 missing key (a failed file in the aggregate), a ZIP of 3 members
 *   test/histories/housekeeping/  abortStaleUploads, requeueStuckFiles, trimDeadLetters, each with work
 *   test/histories/dream-batch/   dreamBatch in direct mode over 2 tenants (heuristic provider)
 *
 * Real runs on the test stack (started here when it is not running) with the real activities, storage and
 * LLM workers bundling src/workflows from the working tree, isolated names, all removed at the end.
 *
 *   npx tsx scripts/capture-batch-histories.ts
 *   npx tsx scripts/capture-batch-histories.ts --only zip,trim-dead-letters   (adds or replaces just these)
 *
 * Every workflow gets a fixed id (BATCH_IDS, `histories-{type}`): a workflow's id is part of its replay
 * (dreamBatch names its children after it), and the replay test replays each history under the id it
 * ran with. Run the script again only once the previous run of it has ended.
 *
 * Like scripts/capture-histories.ts: run it for an intended incompatible change, never to make a failing
 * replay pass (a failing replay means running workflows would break: use patched()).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type {
  RequeueStuckFilesResult,
  TrimDeadLettersInput,
} from '../src/activities/housekeeping/activities.js';
import { routeEvent } from '../src/bridge/route-event.js';
import { loadConfig } from '../src/config/config.js';
import { projectRoot } from '../src/config/project-root.js';
import type { BatchAggregate } from '../src/domain/batch.js';
import { fileIdFor } from '../src/domain/ids.js';
import { publishDeadLetter } from '../src/events/dead-letter.js';
import { stackUp } from '../src/stack/stack.js';
import { ingestBatchHandle, startIngestBatch } from '../src/temporal/batch-starts.js';
import { llmTaskQueue, taskQueueFor, WorkflowTypes } from '../src/temporal/names.js';
import { startDreamBatch } from '../src/temporal/starts.js';
import { createLlmWorker } from '../src/workers/llm-worker.js';
import { createStorageWorkers } from '../src/workers/storage-worker.js';
import { importSampleSessions, insertSampleResources } from '../test/support/dream-fixtures.js';
import { zipArchive } from '../test/support/hostile-files.js';
import { createPipeline, dropBucket, eventually, type Pipeline } from '../test/support/pipeline.js';
import { isolatedEnv, testStackConfig, uniqueTenant } from '../test/support/test-stack.js';
import { historyToJson } from '../test/support/workflow-env.js';
import { onlyNames } from './only-names.js';

const HISTORIES = join(projectRoot(), 'test', 'histories');
type Dir = 'batch' | 'housekeeping' | 'dream-batch';

const tenant = uniqueTenant('batchhist');
// Workers bundle src/workflows instead of a prebuilt dist/workflow-bundle.js that may be stale.
const env = isolatedEnv('batchhist', {
  P8FS_WORKFLOW_BUNDLE: 'source',
  P8FS_LLM_PROVIDER: 'heuristic',
  P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: '0',
  P8FS_LLM_MAX_ACTIVITIES_PER_SECOND: '50',
});
/** Fixed batch ids, so each ingestBatch runs as `ingest-batch-{id}`, the id batch-replay.test.ts replays it with. */
const BATCH_IDS = {
  list: '00000000-0000-4000-8000-00000000b001',
  'missing-key': '00000000-0000-4000-8000-00000000b002',
  zip: '00000000-0000-4000-8000-00000000b003',
} as const;
const stuckPath = `/buckets/${tenant}/uploads/stuck.txt`;
let stuckWorkflowId = '';

interface Capture {
  /** File name (without .json; a chain adds -run1, -run2, …) under test/histories/{dir}. */
  name: string;
  dir: Dir;
  /** A continue-as-new chain: one file per run, `{name}-run1.json`, `{name}-run2.json`, … */
  chain?: true;
  /** Runs the workflow to its end, checks the outcome and returns the history of each of its runs. */
  run(p: Pipeline): Promise<string[]>;
}

const text = (n: number) => `Batch history file ${n}: a few words about windows and continue-as-new.\n`;

/** Every run of a chain, first to last, following each continued-as-new run to the next (no visibility lag). */
async function chainHistories(temporal: Client, workflowId: string, firstRunId: string): Promise<string[]> {
  const out: string[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    out.push(historyToJson(history));
    runId =
      history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return out;
}

async function runBatch(
  p: Pipeline,
  request: Parameters<typeof startIngestBatch>[1],
  want: (a: BatchAggregate) => string | undefined,
): Promise<string[]> {
  const started = await startIngestBatch(
    { cfg: p.cfg, temporal: p.temporal, s3: p.s3, pool: p.pool },
    request,
  );
  const aggregate: BatchAggregate = await ingestBatchHandle(p.temporal, started.batchId).result();
  const wrong = want(aggregate);
  if (wrong) throw new Error(`batch ${started.batchId}: ${wrong}; aggregate ${JSON.stringify(aggregate)}`);
  const histories = await chainHistories(p.temporal, started.workflowId, started.runId);
  if (histories.length !== aggregate.runs)
    throw new Error(`batch ${started.batchId}: ${aggregate.runs} runs, ${histories.length} histories found`);
  return histories;
}

/** A housekeeping workflow as its schedule starts it (small storage queue); its result and history. */
async function housekeeping<T>(
  p: Pipeline,
  type: string,
  input: unknown,
): Promise<{ result: T; json: string }> {
  const handle = await p.temporal.workflow.start(type, {
    taskQueue: taskQueueFor(p.cfg, 'small'),
    workflowId: `histories-${type}`,
    args: [input],
  });
  const result = (await handle.result()) as T;
  return { result, json: historyToJson(await handle.fetchHistory()) };
}

const captures: Capture[] = [
  {
    // 4 keys, pages of 3, 2 files a run: run 1 plans a page and starts 2 children, then hands over the
    // third; run 2 starts it, plans the last page and finishes.
    name: 'list',
    dir: 'batch',
    chain: true,
    async run(p) {
      const keys = [0, 1, 2, 3].map((i) => `list/k-${i}.txt`);
      for (const [i, key] of keys.entries()) await p.putObject(tenant, key, text(i), 'text/plain');
      const request = {
        tenantId: tenant,
        batchId: BATCH_IDS.list,
        keys,
        window: 2,
        continueAsNewAfter: 2,
        pageSize: 3,
      };
      return runBatch(p, request, (a) =>
        a.status === 'completed' && a.counts.completed === 4 && a.runs === 2
          ? undefined
          : 'expected 4 completed files in 2 runs',
      );
    },
  },
  {
    name: 'missing-key',
    dir: 'batch',
    async run(p) {
      await p.putObject(tenant, 'missing/present.txt', text(10), 'text/plain');
      return runBatch(
        p,
        {
          tenantId: tenant,
          batchId: BATCH_IDS['missing-key'],
          keys: ['missing/present.txt', 'missing/absent.txt'],
        },
        (a) =>
          a.status === 'completed' &&
          a.counts.completed === 1 &&
          a.counts.failed === 1 &&
          a.failedFiles[0]?.key === 'missing/absent.txt'
            ? undefined
            : 'expected 1 completed and missing/absent.txt failed',
      );
    },
  },
  {
    name: 'zip',
    dir: 'batch',
    async run(p) {
      const members = [0, 1, 2].map((i) => ({ name: `notes/member-${i}.txt`, data: text(20 + i) }));
      await p.putObject(tenant, 'uploads/three.zip', zipArchive(members), 'application/zip');
      return runBatch(
        p,
        { tenantId: tenant, batchId: BATCH_IDS.zip, zip: 'uploads/three.zip', window: 3 },
        (a) =>
          a.status === 'completed' && a.counts.completed === 3 && a.runs === 1
            ? undefined
            : 'expected 3 completed members in 1 run',
      );
    },
  },
  {
    name: 'abort-stale-uploads',
    dir: 'housekeeping',
    async run(p) {
      const bucket = uniqueTenant('hist-mpu');
      await p.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      try {
        const key = 'uploads/never-finished.bin';
        const upload = await p.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
        await p.s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: upload.UploadId,
            PartNumber: 1,
            Body: 'x',
          }),
        );
        const { result, json } = await housekeeping<{ aborted: number }>(p, WorkflowTypes.abortStaleUploads, {
          olderThanHours: 0,
          buckets: [bucket],
        });
        if (result.aborted !== 1) throw new Error(`abortStaleUploads: ${JSON.stringify(result)}`);
        return [json];
      } finally {
        await dropBucket(p.s3, bucket).catch(() => undefined);
      }
    },
  },
  {
    // The stuck file was prepared before the workers started (see prepareStuckFile).
    name: 'requeue-stuck-files',
    dir: 'housekeeping',
    async run(p) {
      const { result, json } = await housekeeping<RequeueStuckFilesResult>(
        p,
        WorkflowTypes.requeueStuckFiles,
        { olderThanMinutes: 0 },
      );
      if (result.requeued !== 1 || result.requeuedIds[0] !== stuckWorkflowId)
        throw new Error(`requeueStuckFiles: ${JSON.stringify(result)}`);
      // The re-queued run finishes before the pipeline closes.
      await p.temporal.workflow.getHandle(stuckWorkflowId).result();
      return [json];
    },
  },
  {
    name: 'trim-dead-letters',
    dir: 'housekeeping',
    async run(p) {
      await publishDeadLetter(
        p.js,
        p.cfg,
        {
          data: new TextEncoder().encode('{"n":1}'),
          subject: p.cfg.nats.eventsSubject,
          streamSequence: 1001,
          deliveryCount: 1,
        },
        'histories: an old dead letter',
      );
      const input: TrimDeadLettersInput = { olderThanHours: 0 };
      const { result, json } = await housekeeping<{ removed: number }>(
        p,
        WorkflowTypes.trimDeadLetters,
        input,
      );
      if (result.removed !== 1) throw new Error(`trimDeadLetters: ${JSON.stringify(result)}`);
      return [json];
    },
  },
  {
    name: 'direct-heuristic',
    dir: 'dream-batch',
    async run(p) {
      const tenants = [uniqueTenant('dreama'), uniqueTenant('dreamb')];
      for (const t of tenants) {
        await importSampleSessions(p.pool, t);
        await insertSampleResources(p.pool, t);
      }
      const handle = await startDreamBatch(
        p.temporal,
        { tenantIds: tenants, mode: 'direct' },
        { taskQueue: llmTaskQueue(p.cfg), workflowId: 'histories-dreamBatch' },
      );
      const outcome = await handle.result();
      if (outcome.completed !== 2 || outcome.failed.length > 0)
        throw new Error(`dreamBatch: ${JSON.stringify(outcome)}`);
      return [historyToJson(await handle.fetchHistory())];
    },
  },
];

/**
 * A file left in `processing` with no workflow running (as housekeeping.test.ts sets it up): workers that
 * hold the extraction, a run terminated mid-way. Before the real workers start, so none picks it up.
 */
async function prepareStuckFile(p: Pipeline): Promise<void> {
  await p.putObject(tenant, 'uploads/stuck.txt', 'Left in processing.\n\nRe-queued later.', 'text/plain');
  const workers = await createStorageWorkers(loadConfig({ ...env, P8FS_FAULT_PAUSE_EXTRACT_MS: '120000' }), [
    'small',
  ]);
  const running = workers.run();
  try {
    const routed = await routeEvent(
      { cfg: p.cfg, s3: p.s3, temporal: p.temporal },
      JSON.stringify({ event_type: 'create', path: stuckPath, mime_type: 'text/plain' }),
      'capture-batch-histories',
    );
    if (routed.kind !== 'started') throw new Error(`stuck file not started: ${JSON.stringify(routed)}`);
    stuckWorkflowId = routed.workflowId;
    await eventually('the stuck file to be processing', async () => {
      const r = await p.pool.query<{ status: string }>('SELECT status FROM files WHERE id = $1', [
        fileIdFor(tenant, stuckPath),
      ]);
      return r.rows[0]?.status === 'processing' ? true : undefined;
    });
    await p.temporal.workflow.getHandle(stuckWorkflowId).terminate('histories: run lost mid-way');
  } finally {
    workers.shutdown();
    await running;
  }
}

async function main(): Promise<void> {
  const only = onlyNames(captures.map((c) => c.name));
  const selected = captures.filter((c) => !only || only.includes(c.name));
  await stackUp(testStackConfig(), (line) => console.log(`[test-stack] ${line}`));
  const p = await createPipeline('batchhist', {}, env);
  const llm = await createLlmWorker(p.cfg);
  const llmRunning = llm.run();
  try {
    if (selected.some((c) => c.name === 'requeue-stuck-files')) await prepareStuckFile(p);
    await p.startWorkers(['small', 'medium']);
    const written = new Map<string, string>();
    for (const c of selected) {
      const t0 = Date.now();
      const histories = await c.run(p);
      histories.forEach((json, i) => {
        const file = c.chain ? `${c.name}-run${i + 1}` : c.name;
        written.set(join(c.dir, `${file}.json`), json);
      });
      console.log(
        `[histories] ${c.dir}/${c.name}: ${histories.length} run(s), ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    // Only a complete set replaces the committed one; --only adds or replaces just the named captures.
    const dirs: Dir[] = ['batch', 'housekeeping', 'dream-batch'];
    for (const dir of dirs) {
      await mkdir(join(HISTORIES, dir), { recursive: true });
      if (only) continue;
      for (const old of await readdir(join(HISTORIES, dir)))
        if (old.endsWith('.json')) await rm(join(HISTORIES, dir, old));
    }
    if (only)
      for (const c of selected.filter((s) => s.chain)) {
        // A chain captured again may be shorter: its old run files go.
        for (const old of await readdir(join(HISTORIES, c.dir)))
          if (old.startsWith(`${c.name}-run`)) await rm(join(HISTORIES, c.dir, old));
      }
    for (const [file, json] of written) await writeFile(join(HISTORIES, file), `${json}\n`);
    // In the project's JSON style, so `biome check test` passes on them as written.
    execFileSync(
      join(projectRoot(), 'node_modules', '.bin', 'biome'),
      ['format', '--write', ...dirs.map((d) => join(HISTORIES, d))],
      { stdio: 'ignore' },
    );
  } finally {
    llm.shutdown();
    await llmRunning;
    await p.close();
  }
}

try {
  await main();
  console.log(`[histories] written under ${HISTORIES}/{batch,housekeeping,dream-batch}`);
} catch (error) {
  console.error('[histories] capture failed:', error);
  process.exitCode = 1;
}
