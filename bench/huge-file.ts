/**
 * `make bench-huge`: generated text files ingested end to end by real `p8fs worker --tier T` processes
 * against the test stack (started if not running), through the bridge, as a stream
 * (src/activities/ingest/streaming.ts): by default 1 GiB on the large tier and 300 MiB on the medium tier,
 * each by a fresh worker. It measures each worker's peak resident memory (VmHWM from /proc, the kernel's
 * own high-water mark over the process's life) and its extraction process's, the time and the rows, and
 * writes them into the "Huge files" section of docs/PERFORMANCE.md (between its markers; the rest of the
 * file is left alone). Exit 1 if a worker's peak passes its budget.
 *
 * Run: npx tsx bench/huge-file.ts [--tier large|medium --mib N] [--budget-mib B] [--from-source] [--node-options "…"]
 * (one case when --tier or --mib is given; `--node-options` is the worker's NODE_OPTIONS, "" for none;
 * default: the tier's own, LARGE_TIER_V8_FLAGS on the large tier and none on the others, as deployed.)
 */

import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { fileIdFor } from '../src/domain/ids.js';
import { LARGE_TIER_V8_FLAGS } from '../src/domain/tiers.js';
import { ingestFileHandle } from '../src/temporal/starts.js';
import { spawnWorkerProcess } from '../test/support/cli.js';
import setupTestStack from '../test/support/global-setup.js';
import { createPipeline } from '../test/support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../test/support/test-stack.js';
import { childrenOf, memory } from './e2e/procfs.js';
import { int, progress } from './lib.js';

const MiB = 1024 * 1024;
const OUTPUT = path.resolve(process.cwd(), 'docs', 'PERFORMANCE.md');
const START = '<!-- huge-file:start -->';
const END = '<!-- huge-file:end -->';

/**
 * One file on one tier. Budgets: the large tier's is the issue's (1 GiB file at ≤ 256 MiB worker peak);
 * the medium tier's is its Deployment's memory request (deploy/k8s/base/storage-worker-medium.yaml).
 */
interface HugeCase {
  tier: 'large' | 'medium';
  mib: number;
  budgetMib: number;
  nodeOptions: string;
}

interface HugeResult extends HugeCase {
  seconds: number;
  chunks: number;
  rows: number;
  idleRss: number;
  workerPeak: number;
  extractionPeak: number;
  loadBefore: number;
  loadAfter: number;
}

function cases(): HugeCase[] {
  const nodeOptionsFor = (tier: HugeCase['tier']) =>
    arg('node-options') ?? (tier === 'large' ? LARGE_TIER_V8_FLAGS : '');
  const tierArg = arg('tier');
  if (tierArg !== undefined && tierArg !== 'large' && tierArg !== 'medium')
    throw new Error(`--tier ${tierArg}: expected large or medium`);
  if (tierArg !== undefined || arg('mib') !== undefined) {
    const tier = (tierArg ?? 'large') as HugeCase['tier'];
    return [
      {
        tier,
        mib: Number(arg('mib') ?? (tier === 'large' ? '1024' : '300')),
        budgetMib: Number(arg('budget-mib') ?? (tier === 'large' ? '256' : '512')),
        nodeOptions: nodeOptionsFor(tier),
      },
    ];
  }
  return [
    {
      tier: 'large',
      mib: 1024,
      budgetMib: Number(arg('budget-mib') ?? '256'),
      nodeOptions: nodeOptionsFor('large'),
    },
    { tier: 'medium', mib: 300, budgetMib: 512, nodeOptions: nodeOptionsFor('medium') },
  ];
}

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/**
 * Deterministic prose in paragraphs, written to `file` as a stream (never the whole file in memory): a
 * 4 MiB pool of generated paragraphs, repeated, each paragraph numbered so no two are the same text.
 */
async function writeText(file: string, bytes: number): Promise<void> {
  const words = (
    'the of and to in is was for on that with as by at from they have had not are this which ' +
    'storage worker chunk token stream river mountain harbour engine signal letter garden window market'
  ).split(' ');
  let seed = 99;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const pool: string[] = [];
  for (let size = 0; size < 4 * MiB; ) {
    const sentences: string[] = [];
    for (let s = 2 + (next() % 6); s > 0; s--) {
      const sentence: string[] = [];
      for (let w = 6 + (next() % 14); w > 0; w--) sentence.push(words[next() % words.length] as string);
      sentences.push(`${sentence.join(' ')}.`);
    }
    const paragraph = sentences.join(' ');
    pool.push(paragraph);
    size += paragraph.length + 12;
  }
  const out = createWriteStream(file);
  let written = 0;
  let n = 0;
  while (written < bytes) {
    const parts: string[] = [];
    let size = 0;
    while (size < 4 * MiB) {
      const paragraph = `${n + 1}. ${pool[n % pool.length]}\n\n`;
      n++;
      parts.push(paragraph);
      size += paragraph.length;
    }
    let piece = parts.join('');
    if (written + piece.length > bytes) piece = piece.slice(0, bytes - written);
    written += piece.length;
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function runCase(c: HugeCase, fromDist: boolean): Promise<HugeResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'p8fs-huge-'));
  const file = path.join(dir, 'huge.txt');
  const bytes = c.mib * MiB;
  progress(`${c.tier}: writing a ${c.mib} MiB text file`);
  await writeText(file, bytes);

  // Everything text-like from 32 MiB streams (the default). The large case routes anything over 48 MiB
  // to the large tier; the medium case keeps its file below the medium tier's upper bound.
  const env = isolatedEnv(`huge${c.tier}`, {
    P8FS_TIER_SMALL_MAX_BYTES: String(32 * MiB),
    P8FS_TIER_MEDIUM_MAX_BYTES: String(c.tier === 'large' ? 48 * MiB : bytes + MiB),
    P8FS_WORKER_METRICS_PORT: '0',
    P8FS_LOG_LEVEL: 'info',
    P8FS_LOG_FORMAT: 'json',
    ...(c.nodeOptions ? { NODE_OPTIONS: c.nodeOptions } : {}),
  });
  const p = await createPipeline(`huge${c.tier}`, {}, env);
  const tenant = uniqueTenant(`huge${c.tier}`);
  const worker = spawnWorkerProcess(env, { fromDist, tier: c.tier, maxLines: 50 });
  let extractionPeak = 0;
  const sampler = setInterval(() => {
    for (const child of childrenOf(worker.pid))
      extractionPeak = Math.max(extractionPeak, memory(child)?.hwm ?? 0);
  }, 200);
  try {
    await p.startBridge();
    const key = 'bench/huge.txt';
    await p.putObject(tenant, '.keep', 'x');
    progress(`${c.tier}: uploading`);
    await p.s3.send(
      new PutObjectCommand({
        Bucket: tenant,
        Key: key,
        Body: createReadStream(file),
        ContentLength: bytes,
        ContentType: 'text/plain',
      }),
    );
    const idle = memory(worker.pid);
    const loadBefore = os.loadavg()[0] ?? 0;
    const started = Date.now();
    await p.publish({
      event_type: 'create',
      path: `/buckets/${tenant}/${key}`,
      size: bytes,
      mime_type: 'text/plain',
    });
    let workflowId: string | undefined;
    while (!workflowId) {
      const result = p.results.find((r) => r.kind === 'started');
      if (result?.kind === 'started') {
        if (result.tier !== c.tier) throw new Error(`routed to the ${result.tier} tier, not ${c.tier}`);
        workflowId = result.workflowId;
      } else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const handle = ingestFileHandle(p.temporal, workflowId);
    let lastReport = 0;
    for (;;) {
      if (worker.child.exitCode !== null || worker.child.signalCode !== null)
        throw new Error(`the worker exited:\n${worker.output.join('\n')}`);
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') break;
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        const m = memory(worker.pid);
        progress(
          `${c.tier}: running ${((Date.now() - started) / 1000).toFixed(0)} s; worker RSS ${m?.rss.toFixed(0)} MiB, peak ${m?.hwm.toFixed(0)} MiB; extraction peak ${extractionPeak.toFixed(0)} MiB`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const outcome = await handle.result();
    const seconds = (Date.now() - started) / 1000;
    const peak = memory(worker.pid);
    const rows = await p.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
      [fileIdFor(tenant, `/buckets/${tenant}/${key}`)],
    );
    if (outcome.status !== 'completed')
      throw new Error(`the file did not complete: ${JSON.stringify(outcome)}`);
    const workerPeak = peak?.hwm ?? Number.NaN;
    progress(
      `${c.tier}: done in ${seconds.toFixed(1)} s: ${outcome.chunkCount} chunks; worker peak ${workerPeak.toFixed(0)} MiB`,
    );
    return {
      ...c,
      seconds,
      chunks: outcome.chunkCount,
      rows: rows.rows[0]?.n ?? 0,
      idleRss: idle?.rss ?? Number.NaN,
      workerPeak,
      extractionPeak,
      loadBefore,
      loadAfter: os.loadavg()[0] ?? 0,
    };
  } finally {
    clearInterval(sampler);
    worker.child.kill('SIGTERM');
    await Promise.race([worker.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function render(results: HugeResult[], fromDist: boolean): string {
  const rows = results.map(
    (r) =>
      `| ${r.tier} | ${r.mib} MiB | ${r.nodeOptions ? `\`${r.nodeOptions}\`` : 'none'} | ${r.seconds.toFixed(1)} s | ${(r.mib / r.seconds).toFixed(2)} | ${int(r.chunks)} (${int(r.rows)}) | ${r.idleRss.toFixed(0)} MiB | **${r.workerPeak.toFixed(0)} MiB** | ${r.budgetMib} MiB | ${r.extractionPeak.toFixed(0)} MiB | ${(r.workerPeak + r.extractionPeak).toFixed(0)} MiB |`,
  );
  const readings = results.map((r) =>
    r.workerPeak <= r.budgetMib
      ? `the ${r.tier} worker's peak is within its ${r.budgetMib} MiB budget, ${(r.workerPeak - r.idleRss).toFixed(0)} MiB over its resident memory before the file (${(((r.workerPeak - r.idleRss) / r.mib) * 100).toFixed(1)}% of the file's size)`
      : `the ${r.tier} worker's peak (${r.workerPeak.toFixed(0)} MiB) is OVER its ${r.budgetMib} MiB budget: not met by this run`,
  );
  const load = results
    .map((r) => `${r.tier} ${r.loadBefore.toFixed(0)} → ${r.loadAfter.toFixed(0)}`)
    .join(', ');
  return [
    START,
    '## Huge files in bounded memory (`make bench-huge`)',
    '',
    `Generated text files (prose in paragraphs) ingested by a real \`p8fs worker --tier T\` each (${fromDist ? 'built, `node bin/p8fs.js`' : 'from source under tsx'}), a fresh worker per file, through the bridge, streamed (src/activities/ingest/streaming.ts): extracted in the extraction process, chunked in the worker, stored in batches. Peaks are the kernel's VmHWM (/proc/<pid>/status) over each process's life; ${os.cpus().length} cores, run on ${new Date().toISOString().slice(0, 10)} at load average ${load} (other work on the machine: times are only comparable between runs at similar load). Budgets: the large tier's is the target (1 GiB at ≤ 256 MiB); the medium tier's is its Deployment's memory request (deploy/k8s/base/storage-worker-medium.yaml).`,
    '',
    '| tier | file | worker NODE_OPTIONS | time | MiB/s | chunks (rows) | worker RSS before | worker peak RSS (VmHWM) | budget | extraction process peak (VmHWM) | both peaks together |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `**Reading:** ${readings.join('; ')}. The budget is the worker's; the extraction process is a second process beside it, so a pod running both needs the two peaks together.`,
    END,
  ].join('\n');
}

async function main(): Promise<void> {
  const fromDist = !process.argv.includes('--from-source') && existsSync('dist/cli/run.js');
  await setupTestStack();
  const results: HugeResult[] = [];
  for (const c of cases()) results.push(await runCase(c, fromDist));
  const section = render(results, fromDist);
  const current = existsSync(OUTPUT) ? readFileSync(OUTPUT, 'utf8') : '# Performance\n';
  const from = current.indexOf(START);
  const to = current.indexOf(END);
  const updated =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + END.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(OUTPUT, updated);
  progress(`wrote the section to ${OUTPUT}`);
  if (results.some((r) => !(r.workerPeak <= r.budgetMib))) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
