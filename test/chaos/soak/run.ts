/**
 * `make soak`: the soak with every fault at once (issue 25, docs/RELIABILITY.md "Soak: every fault at
 * once"). Settings and what it does: `npx tsx test/chaos/soak/run.ts --help` (settings.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPool } from '../../../src/clients/postgres.js';
import { createS3Client } from '../../../src/clients/s3.js';
import { errorText } from '../../../src/domain/errors.js';
import { startLoopbackOpenAi } from '../../support/loopback-openai.js';
import {
  type Accounted,
  backlog,
  classify,
  countOutcomes,
  damage,
  deadLetterPaths,
  type Expected,
  fileRows,
  MISSES,
  pathOf,
  runningIngestKeys,
} from './accounting.js';
import { ApiClient } from './api-client.js';
import { FaultRunner } from './faults.js';
import { planFaults, planUploads } from './plan.js';
import { markdown, misses, reasonGroup, type SoakFigures } from './report.js';
import { HELP, type RunSettings, settingsFrom } from './settings.js';
import { type ProcessName, SoakStack } from './stack.js';
import { createBuckets, runUploads } from './uploads.js';

const say = (line: string) => console.log(`[soak] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The embedding provider the soak's processes use. By default the product's openai provider against a
 * loopback stand-in of OpenAI's API (named so: this machine cannot reach OpenAI), because the local model
 * cannot embed a full soak's chunks on two cores within its drain timeout; the step, its retries and its
 * rows are the product's either way.
 */
async function embeddingEnv(
  s: RunSettings,
): Promise<{ env: Record<string, string>; close: () => Promise<void> }> {
  if (s.embeddings === 'off') return { env: { P8FS_EMBEDDINGS_ENABLED: 'false' }, close: async () => {} };
  if (s.embeddings === 'local') return { env: { P8FS_EMBEDDINGS_ENABLED: 'true' }, close: async () => {} };
  const openai = await startLoopbackOpenAi(() => 'the soak asks no chat completions');
  // Its request log would hold every chunk's text for the whole run.
  const trim = setInterval(() => openai.requests.splice(0), 5000);
  say(`embeddings: the openai provider against a loopback OpenAI stand-in at ${openai.baseUrl}`);
  return {
    env: {
      P8FS_EMBEDDINGS_ENABLED: 'true',
      P8FS_EMBEDDING_PROVIDER: 'openai',
      P8FS_EMBEDDING_OPENAI_MODEL: 'text-embedding-3-small',
      P8FS_EMBEDDING_DIMENSIONS: '384',
      P8FS_EMBEDDING_BASE_URL: openai.baseUrl,
      P8FS_EMBEDDING_API_KEY: 'soak-loopback-key',
      // As a deployment on OpenAI would: requests of 256 texts (OpenAI takes up to 2,048) and two at a time
      // per tier; the local model's 32 by one would leave a full soak's ~600k chunks hours behind.
      P8FS_EMBEDDING_BATCH_SIZE: '256',
      P8FS_WORKER_CONCURRENCY_EMBED: '2',
    },
    close: async () => {
      clearInterval(trim);
      await openai.close();
    },
  };
}

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const s = settingsFrom(process.env);
  const plan = planUploads(s);
  const faults = planFaults(s);
  say(`seed ${s.seed} (repeat: SOAK_SEED=${s.seed} SOAK_UPLOADS=${s.uploads} make soak)`);
  say(
    `${plan.length} uploads over ${s.windowSeconds} s, ${faults.length} faults, tenants ${s.tenants.join(', ')}`,
  );

  const embedding = await embeddingEnv(s);
  const stack = new SoakStack(embedding.env);
  process.on('exit', () => stack.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      stack.killAllNow();
      process.exit(130);
    });
  await stack.fresh(say);
  stack.cli(['migrate']);
  const [alpha, beta] = s.tenants as [string, string];
  const key = (tenant: string) =>
    stack.cli(['apikey', 'create', '--tenant', tenant, '--name', 'soak']).trim();
  const apiTenants: [
    { tenant: string; key: string; secret: string },
    { tenant: string; key: string; secret: string },
  ] = [
    { tenant: alpha, key: key(alpha), secret: `alphasecret${s.seed}` },
    { tenant: beta, key: key(beta), secret: `betasecret${s.seed}` },
  ];
  const order: ProcessName[] = [
    'worker-small',
    'worker-medium',
    'worker-large',
    'dreaming-worker',
    'bridge',
    'subscriber',
    'api',
  ];
  for (const name of order) {
    await stack.startProcess(name);
    say(`${name} ready (log ${stack.logFile(name)})`);
  }
  const s3 = createS3Client(stack.cfg);
  await createBuckets(s3, s.tenants);
  const pool = createPool(stack.cfg, 2);

  const startedAt = Date.now();
  const runner = new FaultRunner(stack, startedAt, say);
  const supervising = runner.supervise();
  const api = new ApiClient(`http://${stack.cfg.api.host}:${stack.cfg.api.port}`, apiTenants, startedAt);
  const apiRun = api.run(2000);
  const faultRun = runner.run(faults);
  let lastShown = 0;
  const results = await runUploads({
    s3,
    plan,
    seed: s.seed,
    startedAt,
    concurrency: 4,
    giveUpMs: 600_000,
    onProgress: (done, failed) => {
      if (Date.now() - lastShown < 30_000 && done + failed < plan.length) return;
      lastShown = Date.now();
      say(
        `t=${((Date.now() - startedAt) / 1000).toFixed(0)}s uploads ${done}/${plan.length}${failed ? `, ${failed} given up` : ''}`,
      );
    },
  });
  const lastPut = Math.max(0, ...results.map((r) => r.doneAt ?? 0));
  say(`uploads done at t=${(lastPut / 1000).toFixed(0)}s; waiting for the rest of the fault schedule`);
  await faultRun;
  api.stop();
  await apiRun;

  const expected: Expected[] = [
    ...results.map((r) => ({
      tenant: r.upload.tenant,
      key: r.upload.key,
      uploaded: r.doneAt !== undefined,
      ...(r.refused ? { refused: r.refused } : {}),
    })),
    ...api.figures.uploads.map((u) => ({
      tenant: u.tenant,
      key: u.key,
      uploaded: u.status === 201,
      ...(u.status === 201 ? {} : { refused: `the API answered ${u.status || 'nothing'}` }),
    })),
  ];

  // Drain: until every upload is accounted for and nothing runs or waits, or the timeout.
  const drainDeadline = Date.now() + s.drainTimeoutSeconds * 1000;
  let accounted: Accounted[] = [];
  let drained = false;
  let drainedAt = Date.now();
  for (;;) {
    try {
      const rows = await fileRows(pool);
      accounted = classify(
        expected,
        rows,
        await deadLetterPaths(stack.cfg),
        await runningIngestKeys(stack.cfg),
      );
      const open = accounted.filter((a) => MISSES.includes(a.outcome)).length;
      const b = await backlog(stack.cfg);
      const waiting = b.runningWorkflows + b.eventsNotTaken + b.eventsInFlight;
      if (open === 0 && waiting === 0) {
        drained = true;
        drainedAt = Date.now();
        break;
      }
      say(
        `draining: ${open} uploads not settled, ${b.runningWorkflows} workflows running, ${b.eventsNotTaken + b.eventsInFlight} events waiting`,
      );
    } catch (error) {
      say(`draining: ${errorText(error)}`);
    }
    if (Date.now() > drainDeadline) {
      drainedAt = Date.now();
      break;
    }
    await sleep(10_000);
  }
  runner.stop();
  await supervising;
  await api.finalCheck();

  const rows = await fileRows(pool);
  const outcomes = countOutcomes(accounted);
  const byKind: SoakFigures['byKind'] = {};
  const reasons: Record<string, number> = {};
  accounted.forEach((a, i) => {
    const kind = results[i]?.upload.kind ?? 'api';
    const slot = byKind[kind] ?? {};
    byKind[kind] = slot;
    slot[a.outcome] = (slot[a.outcome] ?? 0) + 1;
    if (a.reason) reasons[reasonGroup(a.reason)] = (reasons[reasonGroup(a.reason)] ?? 0) + 1;
  });
  const { uploads: apiUploads, ...apiRest } = api.figures;
  const partial: Omit<SoakFigures, 'misses'> = {
    settings: s,
    startedAt: new Date(startedAt).toISOString(),
    uploadSeconds: lastPut / 1000,
    drainSeconds: (drainedAt - startedAt - lastPut) / 1000,
    drained,
    totalSeconds: (Date.now() - startedAt) / 1000,
    bytesUploaded: results.reduce((n, r) => n + r.bytes, 0),
    uploadRetries: results.reduce((n, r) => n + Math.max(0, r.attempts - 1), 0),
    outcomes,
    byKind,
    reasons,
    damage: await damage(
      pool,
      new Set(expected.map((e) => pathOf(e.tenant, e.key))),
      rows,
      s.embeddings !== 'off',
    ),
    backlog: await backlog(stack.cfg),
    api: { ...apiRest, uploads: apiUploads.length },
    faults: runner.records,
    crashes: runner.crashes,
  };
  const figures: SoakFigures = { ...partial, misses: misses(partial, accounted) };
  await pool.end();
  s3.destroy();

  const report = markdown(figures);
  mkdirSync(stack.dir, { recursive: true });
  writeFileSync(
    join(stack.dir, 'soak-report.json'),
    `${JSON.stringify({ ...figures, accounted }, null, 1)}\n`,
  );
  writeFileSync(join(stack.dir, 'soak-report.md'), `${report}\n`);
  console.log(`\n${report}\n`);
  say(`figures: ${join(stack.dir, 'soak-report.md')} and soak-report.json (every upload's outcome)`);
  await stack.shutdown(s.keepStack);
  await embedding.close();
  if (figures.misses.length) {
    say(`FAILED (seed ${s.seed}):`);
    for (const m of figures.misses) say(`  - ${m}`);
    return 1;
  }
  say(
    `passed (seed ${s.seed}): every upload accounted for, no duplicates, orphans, stuck files or cross-tenant reads`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[soak] ${errorText(error)}`);
    process.exit(1);
  },
);
