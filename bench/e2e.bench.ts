/**
 * End to end, as in production: the built bridge (`node bin/p8fs.js bridge`) and ONE small-tier worker
 * (`node bin/p8fs.js worker --tier small`) as separate processes against the test stack's real servers
 * (started if not running), with isolated names. 1,000 different 4 KB Markdown files are uploaded
 * (untimed), their storage events published in one burst, and the run is timed from the first publish
 * until every file's row is completed with its resources. Side by side in the same run: the ceilings,
 * no-op workflows with the same number of activities per file (read from a product file's history) and
 * with one, served by a separate no-op worker process with the small tier's concurrency and started with
 * the bridge's concurrency. Then a sweep of the small tier's worker concurrency on fewer files.
 *
 * Run: npx tsx bench/e2e.bench.ts   (after `npm run build`: the product runs from dist/)
 * Knobs: P8FS_BENCH_E2E_FILES (default 1000), P8FS_BENCH_E2E_SWEEP=0 to skip the sweep,
 * P8FS_BENCH_E2E_SWEEP_FILES (default 300), P8FS_BENCH_E2E_SWEEP_CONCURRENCY (default "4,8,16,32").
 * Exported for bench/run.ts: runEndToEndBench(); for bench/temporal-production.ts: measureEndToEnd().
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config/config.js';
import { stackUp } from '../src/stack/stack.js';
import { connectTemporal } from '../src/temporal/connection.js';
import { createPipeline, type Pipeline } from '../test/support/pipeline.js';
import { isolatedEnv, testStackConfig } from '../test/support/test-stack.js';
import { describeServers, findServers, type ServerPids } from './e2e/cpu.js';
import {
  type BenchProcess,
  ready,
  startBridge,
  startNoopWorker,
  startSmallWorker,
  stop,
} from './e2e/processes.js';
import {
  type ActivityCount,
  activitiesPerFile,
  type ProductRun,
  type RunResult,
  runCeiling,
  runProduct,
} from './e2e/runs.js';
import { endToEndSection, type SectionInput, type SweepRow, sameAsOne } from './e2e/section.js';
import { type BenchSection, errorMessage, progress } from './lib.js';

const WORKER_READY = /workers running/;
const BRIDGE_READY = /bridge running/;
const NOOP_READY = /noop worker ready/;

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function sweepSettings(): number[] {
  const raw = process.env.P8FS_BENCH_E2E_SWEEP_CONCURRENCY ?? '4,8,16,32';
  const values = raw.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1))
    throw new Error(`P8FS_BENCH_E2E_SWEEP_CONCURRENCY must list positive integers, got "${raw}"`);
  return values;
}

/** The newest mtime of a .ts file under src/, to warn when dist/ is older than the source it runs. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function checkBuild(): string[] {
  if (!existsSync('dist/cli/run.js') || !existsSync('dist/workflow-bundle.js'))
    throw new Error(
      'dist/ is missing: run `npm run build` first (`make bench` does); the product runs from dist/',
    );
  const built = statSync('dist/cli/run.js').mtimeMs;
  return newestSource('src') > built + 1000
    ? ['dist/ is older than src/: this run measured the last build, not the newest source (`npm run build`).']
    : [];
}

async function startWorker(
  env: Record<string, string | undefined>,
  concurrency: number,
): Promise<BenchProcess> {
  const worker = startSmallWorker({ ...env, P8FS_WORKER_CONCURRENCY_SMALL: String(concurrency) });
  await ready(worker, WORKER_READY);
  return worker;
}

/**
 * Where the runs go. By default the test stack's dev server; bench/temporal-production.ts points the same
 * runs at the production-shaped server (the bridge, the workers and the ceilings' starts all follow
 * TEMPORAL_ADDRESS), whose own PostgreSQL is metered as a server of its own.
 */
export interface EndToEndOptions {
  /** host:port of the Temporal frontend (default: the test stack's). */
  temporalAddress?: string;
  /** The port of the PostgreSQL that Temporal itself persists to, when it is not the test stack's. */
  temporalPostgresPort?: number;
  /** Skip the concurrency sweep whatever P8FS_BENCH_E2E_SWEEP says. */
  noSweep?: boolean;
}

export async function runEndToEndBench(options: EndToEndOptions = {}): Promise<BenchSection> {
  return endToEndSection(await measureEndToEnd(options));
}

/** The runs of the bench, their figures unformatted (bench/temporal-production.ts compares two servers'). */
export async function measureEndToEnd(options: EndToEndOptions = {}): Promise<SectionInput> {
  const files = numberFromEnv('P8FS_BENCH_E2E_FILES', 1000);
  const sweepFiles = numberFromEnv('P8FS_BENCH_E2E_SWEEP_FILES', 300);
  const sweep = process.env.P8FS_BENCH_E2E_SWEEP === '0' || options.noSweep ? [] : sweepSettings();
  const notes = checkBuild();
  if (process.env.P8FS_TEST_STACK !== 'external')
    await stackUp(testStackConfig(), (line) => progress(`e2e: test stack: ${line}`));

  const env = isolatedEnv('e2e', {
    P8FS_LOG_LEVEL: 'info',
    P8FS_LOG_FORMAT: 'json',
    P8FS_WORKER_METRICS_PORT: '0',
    P8FS_BRIDGE_HEALTH_PORT: '0',
    P8FS_BENCH_NOOP_TASK_QUEUE: `bench-noop-${Date.now().toString(36)}`,
    ...(options.temporalAddress ? { TEMPORAL_ADDRESS: options.temporalAddress } : {}),
  });
  const cfg = loadConfig(env);
  const defaultConcurrency = cfg.worker.concurrency.small;
  const window = (cfg.bridge as { maxInFlight?: number }).maxInFlight ?? cfg.bridge.batchSize;
  const servers: ServerPids = findServers(cfg, options.temporalPostgresPort);
  progress(`e2e: servers: ${describeServers(servers)}`);

  const p: Pipeline = await createPipeline('e2e', {}, env);
  const temporal = await connectTemporal(cfg);
  let bridge: BenchProcess | undefined;
  let worker: BenchProcess | undefined;
  let noop: BenchProcess | undefined;
  try {
    progress(
      `e2e: starting the bridge, a small-tier worker (${defaultConcurrency} activities) and the no-op worker`,
    );
    bridge = startBridge(env);
    noop = startNoopWorker(env);
    worker = await startWorker(env, defaultConcurrency);
    await ready(bridge, BRIDGE_READY);
    await ready(noop, NOOP_READY);
    const base = { p, bridge, servers };
    // Warm-up (untimed): code paths, pools and the extraction process exist before the burst.
    await runProduct({
      ...base,
      worker,
      files: 20,
      concurrency: defaultConcurrency,
      label: 'warm-up',
      quiet: true,
    });
    progress(`e2e: product: ${files} files`);
    const product: ProductRun = await runProduct({
      ...base,
      worker,
      files,
      concurrency: defaultConcurrency,
      label: 'product',
    });
    progress(`e2e: product: ${product.rate.toFixed(1)} files/s, p50 ${product.p50Ms.toFixed(0)} ms`);
    const perFile: ActivityCount = await activitiesPerFile(p);
    progress(
      `e2e: a product file took ${perFile.activities} activities${perFile.localActivities ? ` and ${perFile.localActivities} local ones` : ''} (${perFile.workflowId})`,
    );

    const ceiling = (input: { activities: number; localActivities: number }, label: string, n = files) =>
      runCeiling({
        temporal,
        taskQueue: env.P8FS_BENCH_NOOP_TASK_QUEUE as string,
        files: n,
        input,
        window,
        noopWorker: noop as BenchProcess,
        servers,
        label,
        quiet: n < files,
      });
    await ceiling({ activities: 1, localActivities: 0 }, 'noop-warm-up', 20);
    progress(
      `e2e: ceiling: ${files} no-op workflows of ${perFile.activities} activities (${perFile.localActivities} local)`,
    );
    const same: RunResult = await ceiling(
      { activities: perFile.activities, localActivities: perFile.localActivities },
      'noop-same',
    );
    progress(
      `e2e: ceiling (same activities): ${same.rate.toFixed(1)} workflows/s, p50 ${same.p50Ms.toFixed(0)} ms`,
    );
    // One activity per file: the same workflow as the ceiling above, measured once.
    let one: RunResult = same;
    if (!sameAsOne(perFile)) {
      progress(`e2e: ceiling: ${files} no-op workflows of 1 activity`);
      one = await ceiling({ activities: 1, localActivities: 0 }, 'noop-one');
      progress(
        `e2e: ceiling (1 activity): ${one.rate.toFixed(1)} workflows/s, p50 ${one.p50Ms.toFixed(0)} ms`,
      );
    }

    const sweepRows: SweepRow[] = [];
    for (const concurrency of sweep) {
      await stop(worker);
      worker = await startWorker(env, concurrency);
      await runProduct({ ...base, worker, files: 10, concurrency, label: 'warm-up', quiet: true });
      const run = await runProduct({
        ...base,
        worker,
        files: sweepFiles,
        concurrency,
        label: `sweep-c${concurrency}`,
        quiet: true,
      });
      progress(
        `e2e: sweep: concurrency ${concurrency}: ${run.rate.toFixed(1)} files/s, worker peak ${run.workerPeakMiB.toFixed(0)} MiB`,
      );
      sweepRows.push({ concurrency, run });
    }
    return {
      product,
      perFile,
      same,
      one,
      window,
      defaultConcurrency,
      sweep: sweepRows,
      sweepSkipped: sweep.length === 0,
      cores: os.cpus().length,
      notes,
    };
  } finally {
    await Promise.all([stop(worker), stop(bridge), stop(noop)]);
    await temporal.connection.close().catch(() => undefined);
    await p.close().catch((error) => progress(`e2e: cleaning up failed: ${errorMessage(error)}`));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  try {
    const section = await runEndToEndBench();
    console.log(
      [
        '',
        `## ${section.title}`,
        '',
        `Compared: ${section.compared}`,
        '',
        section.table,
        '',
        `**Reading:** ${section.interpretation}`,
        ...(section.notMeasured.length
          ? ['', 'Not measured in this run:', ...section.notMeasured.map((n) => `- ${n}`)]
          : []),
      ].join('\n'),
    );
    progress(`e2e: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    process.exit(0);
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  }
}
