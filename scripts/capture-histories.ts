/**
 * Regenerates test/histories/*.json: the event histories of real `ingestFile` runs, which
 * test/workflows/replay.test.ts replays against the current workflow code to catch nondeterministic
 * changes. Each run goes through the bridge's own routing (planRoute → startPlanned: tier, version,
 * workflow id, search attributes) and real storage workers with the real activities, on the test stack
 * (started here when it is not running) with isolated names, all removed at the end.
 *
 *   npx tsx scripts/capture-histories.ts
 *   npx tsx scripts/capture-histories.ts --only moments-heuristic   (adds or replaces just these files)
 *
 * Run it when a workflow change is meant to be incompatible (a new workflow type or a finished
 * migration), never to make a failing replay pass: a failing replay means running workflows would break.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { planRoute, type RouteDeps, startPlanned } from '../src/bridge/route-event.js';
import { projectRoot } from '../src/config/project-root.js';
import type { IngestOutcome } from '../src/domain/ingest.js';
import type { BuildMomentsOutcome } from '../src/domain/insight/build-moments.js';
import { mimeTypeForFileName } from '../src/domain/provider-catalog.js';
import { samplesDir } from '../src/stack/paths.js';
import { stackUp } from '../src/stack/stack.js';
import { createLlmWorker } from '../src/workers/llm-worker.js';
import { createPipeline, type Pipeline } from '../test/support/pipeline.js';
import { testStackConfig, uniqueTenant } from '../test/support/test-stack.js';
import { historyToJson } from '../test/support/workflow-env.js';
import { onlyNames } from './only-names.js';

const OUT_DIR = join(projectRoot(), 'test', 'histories');
const tenant = uniqueTenant('histories');

interface Capture {
  /** File name (without .json) under test/histories. */
  name: string;
  /** What the run must end with; anything else aborts the capture. */
  expect: IngestOutcome['status'] | BuildMomentsOutcome['status'];
  /** Puts the objects the event needs and returns the event, in the seeds' manual event shape. */
  prepare(p: Pipeline): Promise<Record<string, unknown>>;
}

const path = (key: string) => `/buckets/${tenant}/${key}`;

async function putSample(p: Pipeline, sample: string, key: string): Promise<void> {
  await p.putObject(tenant, key, readFileSync(resolve(samplesDir(), sample)), mimeTypeForFileName(sample));
}

const captures: Capture[] = [
  {
    // A transcript uploaded under transcripts/: the bridge routes it to buildMoments on the LLM queue,
    // run by the LLM worker with the heuristic provider.
    name: 'moments-heuristic',
    expect: 'completed',
    async prepare(p) {
      const sample = 'moments/transcript_2025-01-13T09-00-00Z_input.json';
      await p.putObject(
        tenant,
        'transcripts/standup.json',
        readFileSync(resolve(samplesDir(), sample)),
        'application/json',
      );
      return { event_type: 'create', path: path('transcripts/standup.json') };
    },
  },
  {
    name: 'completed-markdown',
    expect: 'completed',
    async prepare(p) {
      await putSample(p, 'content/Sample.md', 'uploads/Sample.md');
      return { event_type: 'create', path: path('uploads/Sample.md') };
    },
  },
  {
    name: 'completed-pdf',
    expect: 'completed',
    async prepare(p) {
      await putSample(p, 'content/Sample.pdf', 'uploads/Sample.pdf');
      return { event_type: 'create', path: path('uploads/Sample.pdf') };
    },
  },
  {
    name: 'failed-corrupt-pdf',
    expect: 'failed',
    async prepare(p) {
      // A PDF header and trailer around junk: pdf.js finds no document in it → CorruptFileError.
      const corrupt = Buffer.concat([
        Buffer.from('%PDF-1.7\n'),
        Buffer.alloc(4096, 0x41),
        Buffer.from('\n%%EOF'),
      ]);
      await p.putObject(tenant, 'uploads/corrupt.pdf', corrupt);
      return { event_type: 'create', path: path('uploads/corrupt.pdf') };
    },
  },
  {
    // Sample.md was stored by the first capture: its rows move to the new path.
    name: 'rename-stored',
    expect: 'renamed',
    async prepare(p) {
      await putSample(p, 'content/Sample.md', 'archive/Sample.md');
      // A rename in S3 is a copy and a delete; the event comes after both.
      await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: 'uploads/Sample.md' }));
      return {
        event_type: 'rename',
        old_path: path('uploads/Sample.md'),
        new_path: path('archive/Sample.md'),
      };
    },
  },
  {
    // Sample.pdf was stored by the second capture: its rows and derived objects go.
    name: 'delete-stored',
    expect: 'deleted',
    async prepare(p) {
      await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: 'uploads/Sample.pdf' }));
      return { event_type: 'delete', path: path('uploads/Sample.pdf') };
    },
  },
  {
    // The old path was never ingested: the workflow falls back to ingesting the new path in full.
    name: 'rename-fallback',
    expect: 'completed',
    async prepare(p) {
      await putSample(p, 'small/sample.txt', 'notes/renamed.txt');
      return {
        event_type: 'rename',
        old_path: path('notes/never-stored.txt'),
        new_path: path('notes/renamed.txt'),
      };
    },
  },
  {
    // A small file in one activity (ingestSmallFile, behind the patch 'ingest-small-file-one-activity').
    name: 'one-activity-markdown',
    expect: 'completed',
    async prepare(p) {
      await putSample(p, 'content/diary_sample.md', 'uploads/diary.md');
      return { event_type: 'create', path: path('uploads/diary.md') };
    },
  },
  {
    // A corrupt small file on the one-activity path: ingestSmallFile fails, recordIngestFailure records it.
    name: 'one-activity-failed-corrupt-pdf',
    expect: 'failed',
    async prepare(p) {
      const corrupt = Buffer.concat([
        Buffer.from('%PDF-1.7\n'),
        Buffer.alloc(4096, 0x42),
        Buffer.from('\n%%EOF'),
      ]);
      await p.putObject(tenant, 'uploads/broken.pdf', corrupt);
      return { event_type: 'create', path: path('uploads/broken.pdf') };
    },
  },
  {
    // A small file in one activity, then its chunks embedded (embedFile on p8fs-storage-small-embed,
    // behind the patch 'embed-after-store'), with the local provider.
    name: 'embedded-markdown',
    expect: 'completed',
    async prepare(p) {
      await putSample(p, 'content/Sample.md', 'embedded/Sample.md');
      return { event_type: 'create', path: path('embedded/Sample.md') };
    },
  },
  // The original P8FS's ids and row names (src/domain/ids.ts, src/domain/original-rows.ts): ids are computed
  // in activities only, so these issue the commands of the histories above; their activity results carry
  // the new ids. The seeds' self-test path: test/Sample.md, then renamed, then deleted.
  {
    name: 'original-ids-sample-md',
    expect: 'completed',
    async prepare(p) {
      await putSample(p, 'content/Sample.md', 'test/Sample.md');
      return { event_type: 'create', path: path('test/Sample.md') };
    },
  },
  {
    name: 'original-ids-rename-stored',
    expect: 'renamed',
    async prepare(p) {
      await putSample(p, 'content/Sample.md', 'archive/Sample.md');
      await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: 'test/Sample.md' }));
      return { event_type: 'rename', old_path: path('test/Sample.md'), new_path: path('archive/Sample.md') };
    },
  },
  {
    name: 'original-ids-delete-stored',
    expect: 'deleted',
    async prepare(p) {
      await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: 'archive/Sample.md' }));
      return { event_type: 'delete', path: path('archive/Sample.md') };
    },
  },
];

async function capture(p: Pipeline, deps: RouteDeps, c: Capture): Promise<{ json: string; summary: string }> {
  const event = await c.prepare(p);
  const plan = await planRoute(deps, JSON.stringify(event), 'capture-histories');
  if (plan.kind !== 'planned') throw new Error(`${c.name}: event not routed: ${JSON.stringify(plan)}`);
  const started = await startPlanned(deps, plan);
  if (started.kind !== 'started')
    throw new Error(`${c.name}: workflow not started: ${JSON.stringify(started)}`);
  // ingestFile or buildMoments, as routed: both end with a status.
  const handle = p.temporal.workflow.getHandle(started.workflowId, started.runId);
  const status = await handle.result().then(
    (outcome: { status: Capture['expect'] }) => outcome.status,
    (error: unknown) => {
      if (error instanceof WorkflowFailedError) return 'failed' as const;
      throw error;
    },
  );
  if (status !== c.expect) throw new Error(`${c.name}: expected ${c.expect}, the run ended ${status}`);
  const json = historyToJson(await handle.fetchHistory());
  return {
    json,
    summary: `${c.name}.json: ${status}, ${(json.length / 1024).toFixed(1)} KiB (${started.workflowId})`,
  };
}

async function main(): Promise<void> {
  const cfg = testStackConfig();
  await stackUp(cfg, (line) => console.log(`[test-stack] ${line}`));
  // Workers bundle src/workflows instead of loading a prebuilt dist/workflow-bundle.js that may be stale:
  // the histories must come from the code in the working tree.
  const p = await createPipeline('histories', {
    P8FS_WORKFLOW_BUNDLE: 'source',
    P8FS_LLM_PROVIDER: 'heuristic',
    // Stored chunks and moments are embedded (the local model): runs captured since the step existed.
    P8FS_EMBEDDINGS_ENABLED: 'true',
  });
  const only = onlyNames(captures.map((c) => c.name));
  const llmWorker = await createLlmWorker(p.cfg);
  const llmRunning = llmWorker.run();
  try {
    await p.startWorkers();
    const deps: RouteDeps = { cfg: p.cfg, s3: p.s3, temporal: p.temporal };
    const histories = new Map<string, string>();
    for (const c of captures) {
      if (only && !only.includes(c.name)) continue;
      const { json, summary } = await capture(p, deps, c);
      histories.set(`${c.name}.json`, json);
      console.log(`[histories] ${summary}`);
    }
    // Only a complete set replaces the committed one; --only adds or replaces just the named files.
    await mkdir(OUT_DIR, { recursive: true });
    if (!only)
      for (const old of await readdir(OUT_DIR)) if (old.endsWith('.json')) await rm(join(OUT_DIR, old));
    for (const [file, json] of histories) await writeFile(join(OUT_DIR, file), `${json}\n`);
    // In the project's JSON style, so `biome check src test bench` passes on them as written.
    execFileSync(join(projectRoot(), 'node_modules', '.bin', 'biome'), ['format', '--write', OUT_DIR], {
      stdio: 'ignore',
    });
  } finally {
    llmWorker.shutdown();
    await llmRunning;
    await p.close();
  }
}

try {
  await main();
  console.log(`[histories] written to ${OUT_DIR}`);
} catch (error) {
  console.error('[histories] capture failed:', error);
  process.exitCode = 1;
}
