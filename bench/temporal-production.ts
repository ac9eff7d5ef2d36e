/**
 * The end-to-end small-file run and its no-op ceilings (bench/e2e.bench.ts, the same code) on two
 * Temporal servers, one after the other in one run: the test stack's dev server (the `temporal` CLI's
 * start-dev, SQLite in one process) and the production-shaped server (temporal-server v1.32.2 on its own
 * PostgreSQL, 4 history shards: src/stack/temporal-production.ts). The product's bridge and small-tier
 * worker and the no-op worker follow TEMPORAL_ADDRESS; everything else (NATS, SeaweedFS, the product's
 * PostgreSQL) is the test stack's in both runs. Prints a side-by-side table, then each run's full tables.
 *
 * Run: npx tsx bench/temporal-production.ts [--files N] [--keep]   (after `npm run build`; --help)
 * Builds the server first if it is missing (scripts/install-temporal-server.sh: minutes on 2 cores).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { projectRoot } from '../src/config/project-root.js';
import { resolveStackDir } from '../src/stack/paths.js';
import {
  PRODUCTION_TEMPORAL_DEFAULTS as D,
  type ProductionTemporalOptions,
  startProductionTemporal,
  stopProductionTemporal,
} from '../src/stack/temporal-production.js';
import type { CpuRow } from './e2e/cpu.js';
import type { RunResult } from './e2e/runs.js';
import { endToEndSection, type SectionInput, sameAsOne } from './e2e/section.js';
import { measureEndToEnd } from './e2e.bench.js';
import { fixed, int, markdownTable, progress } from './lib.js';

const HELP = `Usage: npx tsx bench/temporal-production.ts [--files N] [--shards N] [--keep]

The end-to-end bench (bench/e2e.bench.ts: the built bridge and one small-tier worker on N different 4 KB
Markdown files, then no-op ceilings with the same activities and with one) on the test stack's Temporal
dev server and on the production-shaped server (temporal-server on PostgreSQL; scripts/temporal-production.ts),
side by side. Needs \`npm run build\`; builds temporal-server if missing (scripts/install-temporal-server.sh).

  --files N    files per run, and workflows per ceiling (default 1000; P8FS_BENCH_E2E_FILES)
  --shards N   history shards of the production-shaped server (default ${D.historyShards}; fixed once its data exists)
  --keep       leave the production-shaped server running afterwards (default: stopped)
  -h, --help   this text`;

interface Measured {
  server: string;
  input: SectionInput;
}

const perFileMs = (run: RunResult, match: (row: CpuRow) => boolean) =>
  (run.cpu.filter(match).reduce((sum, r) => sum + r.seconds, 0) / run.files) * 1000;
const temporalSide = (row: CpuRow) => row.name.startsWith('Temporal');
const everything = () => true;

function comparison(runs: Measured[]): string {
  const activities = (m: Measured) =>
    `${m.input.perFile.activities}${m.input.perFile.localActivities ? ` + ${m.input.perFile.localActivities} local` : ''}`;
  const line = (label: string, value: (m: Measured) => string) => [label, ...runs.map(value)];
  const rate = (r: RunResult) => `${fixed(r.rate, 1)} (p50 ${int(r.p50Ms)} ms, p99 ${int(r.p99Ms)} ms)`;
  const rows = [
    line('product end to end: files/s (publish → commit)', (m) => rate(m.input.product)),
    line(
      'no-op ceiling, same activities: workflows/s',
      (m) => `${rate(m.input.same)}; ${activities(m)} per workflow`,
    ),
    ...(runs.every((m) => sameAsOne(m.input.perFile))
      ? []
      : [line('no-op ceiling, 1 activity: workflows/s', (m) => rate(m.input.one))]),
    line(
      'product ÷ same-activities ceiling',
      (m) => `**${fixed(m.input.product.rate / m.input.same.rate)}×**`,
    ),
    line('Temporal CPU ms per product file (server + its PostgreSQL)', (m) =>
      fixed(perFileMs(m.input.product, temporalSide), 1),
    ),
    line('Temporal CPU ms per no-op workflow, same activities', (m) =>
      fixed(perFileMs(m.input.same, temporalSide), 1),
    ),
    line('all processes: CPU ms per product file', (m) => fixed(perFileMs(m.input.product, everything), 1)),
    line(
      'load average (1 min) at the start → end of the product run',
      (m) => `${fixed(m.input.product.load[0])} → ${fixed(m.input.product.load[1])}`,
    ),
  ];
  return markdownTable(['', ...runs.map((m) => m.server)], ['l', ...runs.map((): 'r' => 'r')], rows);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      files: { type: 'string' },
      shards: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.files !== undefined) process.env.P8FS_BENCH_E2E_FILES = values.files;
  const shards = Number(values.shards ?? D.historyShards);
  if (!Number.isInteger(shards) || shards < 1)
    throw new Error(`--shards must be a positive integer, got "${values.shards}"`);
  const o: ProductionTemporalOptions = {
    ...D,
    stackDir: resolveStackDir(D.stackDir),
    historyShards: shards,
  };
  // Idempotent: a few milliseconds when the binaries are there.
  execFileSync('bash', ['scripts/install-temporal-server.sh'], { cwd: projectRoot(), stdio: 'inherit' });
  const address = (await startProductionTemporal(o, (line) => progress(`temporal-production: ${line}`)))
    .address;
  const runs: Measured[] = [];
  try {
    progress('e2e on the dev server (test stack)');
    runs.push({ server: 'dev server (SQLite)', input: await measureEndToEnd({ noSweep: true }) });
    progress(`e2e on the production-shaped server (${address}, ${shards} shards, PostgreSQL)`);
    runs.push({
      server: `temporal-server, PostgreSQL, ${shards} shards`,
      input: await measureEndToEnd({
        noSweep: true,
        temporalAddress: address,
        temporalPostgresPort: o.pgPort,
      }),
    });
  } finally {
    if (!values.keep) await stopProductionTemporal(o);
  }
  const cores = os.cpus().length;
  console.log(
    [
      '',
      `## Temporal: dev server against a production-shaped server (${cores} cores, load average ${os
        .loadavg()
        .map((l) => fixed(l))
        .join(' / ')} at the end)`,
      '',
      comparison(runs),
      ...runs.flatMap((m) => ['', `### ${m.server}`, '', endToEndSection(m.input).table]),
    ].join('\n'),
  );
  return 0;
}

try {
  process.exit(await main());
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
}
