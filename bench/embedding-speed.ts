/**
 * Embeddings on and off, side by side in one run: the built bridge and ONE small-tier worker
 * (`node bin/p8fs.js worker --tier small`) as separate processes on the test stack, as in production. The
 * same number of different 4 KB Markdown notes go through with P8FS_EMBEDDINGS_ENABLED=false, then with
 * true (a fresh worker each time, warmed up on a few files first, so the model is loaded before the timed
 * burst). Read: files/s until every file is completed (text stored), and with embeddings until every chunk
 * also has its vector; the worker's resident memory after the warm-up (model loaded) and its peak.
 *
 * Run: npx tsx bench/embedding-speed.ts   (after `npm run build`; the product runs from dist/)
 * Knob: P8FS_BENCH_EMBED_FILES (default 200). Exported for bench/run.ts: runEmbeddingSpeedBench().
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config/config.js';
import { embeddingProviderFromConfig } from '../src/providers/embeddings/index.js';
import { stackUp } from '../src/stack/stack.js';
import { createPipeline, type Pipeline } from '../test/support/pipeline.js';
import { isolatedEnv, testStackConfig, uniqueTenant } from '../test/support/test-stack.js';
import {
  assertAlive,
  type BenchProcess,
  ready,
  startBridge,
  startSmallWorker,
  stop,
} from './e2e/processes.js';
import { memory, resetPeak } from './e2e/procfs.js';
import { inPool, markdownNote } from './e2e/runs.js';
import { type BenchSection, errorMessage, fixed, int, markdownTable, progress } from './lib.js';

const WORKER_READY = /workers running/;
const BRIDGE_READY = /bridge running/;
const WARM_UP_FILES = 10;
const STUCK_MS = 120_000;

interface Run {
  embeddings: boolean;
  files: number;
  chunks: number;
  /** Seconds from the first publish to the last file's completed row. */
  storedSeconds: number;
  /** Seconds from the first publish to the last vector (embeddings on only). */
  embeddedSeconds?: number;
  /** Worker RSS after the warm-up (the model loaded when embeddings are on), MiB. */
  idleMiB: number;
  /** Worker peak RSS over the timed burst (VmHWM, reset before it when allowed), MiB. */
  peakMiB: number;
}

function filesFromEnv(): number {
  const raw = process.env.P8FS_BENCH_EMBED_FILES;
  if (raw === undefined || raw === '') return 200;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`P8FS_BENCH_EMBED_FILES must be a positive integer, got "${raw}"`);
  return n;
}

interface Progress {
  completed: number;
  failed: number;
  embedded: number;
}

/** Files completed, failed, and completed with a vector of `provider` for every chunk. */
async function progressOf(p: Pipeline, tenant: string, provider: string): Promise<Progress> {
  const { rows } = await p.pool.query<Progress>(
    `SELECT count(*) FILTER (WHERE f.status = 'completed')::int AS completed,
            count(*) FILTER (WHERE f.status = 'failed')::int AS failed,
            count(*) FILTER (WHERE f.status = 'completed'
              AND EXISTS (SELECT 1 FROM resources r WHERE r.file_id = f.id)
              AND NOT EXISTS (SELECT 1 FROM resources r WHERE r.file_id = f.id AND NOT EXISTS (
                SELECT 1 FROM embeddings.resources_embeddings e
                 WHERE e.entity_id = r.id AND e.embedding_provider = $2)))::int AS embedded
       FROM files f WHERE f.tenant_id = $1`,
    [tenant, provider],
  );
  return rows[0] ?? { completed: 0, failed: 0, embedded: 0 };
}

/** Uploads (untimed), publishes every event in one burst, waits for the rows (and vectors). */
async function burst(
  p: Pipeline,
  procs: { bridge: BenchProcess; worker: BenchProcess },
  files: number,
  embeddings: boolean,
  provider: string,
  label: string,
): Promise<{ t0: number; tenant: string }> {
  const tenant = uniqueTenant(`emb${label}`);
  const keys = Array.from({ length: files }, (_, i) => `notes/emb-${String(i).padStart(5, '0')}.md`);
  const bodies = keys.map((_, i) => markdownNote(i + files * (embeddings ? 3 : 5)));
  await p.putObject(tenant, keys[0] as string, bodies[0] as string, 'text/markdown');
  await inPool(keys.slice(1), 16, (key, i) =>
    p.putObject(tenant, key, bodies[i + 1] as string, 'text/markdown'),
  );
  const t0 = Date.now();
  await inPool(keys, 256, async (key, i) => {
    await p.publish({
      event_type: 'create',
      path: `/buckets/${tenant}/${key}`,
      size: Buffer.byteLength(bodies[i] as string),
      mime_type: 'text/markdown',
    });
  });
  let last = '';
  let lastChange = Date.now();
  for (;;) {
    await sleep(250);
    assertAlive(procs.bridge);
    assertAlive(procs.worker);
    const now = await progressOf(p, tenant, provider);
    if (now.failed > 0) throw new Error(`${now.failed} file(s) failed in ${tenant} (${label})`);
    const done = embeddings ? now.embedded : now.completed;
    if (now.completed === files && done === files) return { t0, tenant };
    const seen = `${now.completed}/${now.embedded}`;
    if (seen !== last) lastChange = Date.now();
    last = seen;
    if (Date.now() - lastChange > STUCK_MS)
      throw new Error(
        `${label}: nothing moved for ${STUCK_MS / 1000} s (${now.completed} completed, ${now.embedded} embedded of ${files})`,
      );
  }
}

async function measure(
  p: Pipeline,
  env: Record<string, string | undefined>,
  bridge: BenchProcess,
  files: number,
  embeddings: boolean,
  provider: string,
): Promise<Run> {
  const label = embeddings ? 'on' : 'off';
  const worker = startSmallWorker({ ...env, P8FS_EMBEDDINGS_ENABLED: String(embeddings) });
  try {
    await ready(worker, WORKER_READY);
    await burst(p, { bridge, worker }, WARM_UP_FILES, embeddings, provider, `${label}warm`);
    resetPeak(worker.pid);
    const idleMiB = memory(worker.pid)?.rss ?? Number.NaN;
    progress(`embeddings ${label}: ${files} files (worker RSS ${idleMiB.toFixed(0)} MiB after the warm-up)`);
    const { t0, tenant } = await burst(p, { bridge, worker }, files, embeddings, provider, label);
    const peakMiB = memory(worker.pid)?.hwm ?? Number.NaN;
    const { rows } = await p.pool.query<{ stored: number; embedded: number | null; chunks: number }>(
      `SELECT (SELECT extract(epoch FROM max(updated_at)) * 1000 FROM files WHERE tenant_id = $1)::float8 AS stored,
              (SELECT extract(epoch FROM max(updated_at)) * 1000 FROM embeddings.resources_embeddings
                WHERE tenant_id = $1)::float8 AS embedded,
              (SELECT count(*) FROM resources WHERE tenant_id = $1)::int AS chunks`,
      [tenant],
    );
    const row = rows[0];
    if (!row) throw new Error('no timing row');
    return {
      embeddings,
      files,
      chunks: row.chunks,
      storedSeconds: (row.stored - t0) / 1000,
      embeddedSeconds: embeddings && row.embedded !== null ? (row.embedded - t0) / 1000 : undefined,
      idleMiB,
      peakMiB,
    };
  } finally {
    await stop(worker);
  }
}

function section(off: Run, on: Run): BenchSection {
  const rate = (r: Run, s: number | undefined) => (s ? r.files / s : Number.NaN);
  const offRate = rate(off, off.storedSeconds);
  const onStored = rate(on, on.storedSeconds);
  const onEmbedded = rate(on, on.embeddedSeconds);
  const table = markdownTable(
    [
      'embeddings',
      'files',
      'chunks',
      'files/s to completed',
      'files/s to every vector',
      'worker RSS after warm-up (MiB)',
      'worker peak RSS (MiB)',
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    [
      [
        'off',
        int(off.files),
        int(off.chunks),
        fixed(offRate, 1),
        '-',
        fixed(off.idleMiB, 0),
        fixed(off.peakMiB, 0),
      ],
      [
        'on',
        int(on.files),
        int(on.chunks),
        fixed(onStored, 1),
        fixed(onEmbedded, 1),
        fixed(on.idleMiB, 0),
        fixed(on.peakMiB, 0),
      ],
    ],
  );
  return {
    title: 'Embeddings on and off: files/s and worker memory',
    compared:
      `${int(off.files)} different 4 KB Markdown notes per run through the built bridge and one small-tier worker ` +
      '(separate processes, test stack), once with P8FS_EMBEDDINGS_ENABLED=false and once with true (local ' +
      'all-MiniLM-L6-v2), each on a fresh worker warmed up on 10 files.',
    table,
    interpretation:
      `with embeddings, ${fixed(onEmbedded, 1)} files/s until every chunk has its vector (${fixed(onEmbedded / offRate, 2)}× ` +
      `the ${fixed(offRate, 1)} files/s without; ${fixed(onStored, 1)} files/s until completed); the worker holds ` +
      `${fixed(on.idleMiB - off.idleMiB, 0)} MiB more with the model loaded (${fixed(on.idleMiB, 0)} against ` +
      `${fixed(off.idleMiB, 0)} MiB) and peaked at ${fixed(on.peakMiB, 0)} MiB against ${fixed(off.peakMiB, 0)} MiB.`,
    notMeasured: [],
  };
}

export async function runEmbeddingSpeedBench(): Promise<BenchSection> {
  const files = filesFromEnv();
  if (!existsSync('dist/cli/run.js'))
    throw new Error(
      'dist/ is missing: run `npm run build` first (`make bench` does); the product runs from dist/',
    );
  if (process.env.P8FS_TEST_STACK !== 'external')
    await stackUp(testStackConfig(), (line) => progress(`embeddings: test stack: ${line}`));
  const env = isolatedEnv('emb', { P8FS_LOG_LEVEL: 'info', P8FS_LOG_FORMAT: 'json' });
  const cfg = loadConfig(env);
  // The name its vectors are stored under; building the provider does not load the model.
  const provider = embeddingProviderFromConfig(cfg).name;
  const p = await createPipeline('emb', {}, env);
  const bridge = startBridge(env);
  try {
    await ready(bridge, BRIDGE_READY);
    const off = await measure(p, env, bridge, files, false, provider);
    progress(`embeddings off: ${fixed(off.files / off.storedSeconds, 1)} files/s`);
    const on = await measure(p, env, bridge, files, true, provider);
    progress(
      `embeddings on: ${fixed(on.files / (on.embeddedSeconds ?? Number.NaN), 1)} files/s to every vector, worker RSS ${fixed(on.idleMiB, 0)} MiB`,
    );
    return section(off, on);
  } finally {
    await stop(bridge);
    await p.close();
  }
}

if (import.meta.url === pathToFileURL(path.resolve(process.argv[1] ?? '')).href) {
  runEmbeddingSpeedBench()
    .then((s) => console.log(`${s.table}\n\n${s.interpretation}`))
    .catch((error) => {
      console.error(errorMessage(error));
      process.exitCode = 1;
    })
    .finally(() => process.exit());
}
