/**
 * `p8fs stack up` on an empty database: it applies the migrations, then starts our processes (filer
 * subscriber, bridge, storage workers, dreaming worker) in the background, so an upload alone is
 * ingested and `p8fs dream start --wait` completes without `p8fs migrate`; `stack status` shows them and
 * `stack down` stops them while leaving servers it did not start alone. A worker started against a
 * schema that is missing or behind takes no work, says to run `p8fs migrate`, and starts once it has.
 * Real servers: a private PostgreSQL with nothing in it, the test stack's others (reused); real processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, createPool } from '../../src/clients/postgres.js';
import { loadConfig } from '../../src/config/config.js';
import { schemaProblem, schemaState } from '../../src/db/schema-version.js';
import { samplesDir } from '../../src/stack/paths.js';
import { runCli, startCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { type PrivatePostgres, privatePostgres } from '../support/private-postgres.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const stackDir = mkdtempSync(join(tmpdir(), 'p8fs-stack-up-'));
const tenant = uniqueTenant('stackup');
let postgres: PrivatePostgres;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  postgres = privatePostgres();
  await postgres.start();
  env = isolatedEnv('stackup', {
    P8FS_STACK_DIR: stackDir,
    P8FS_BRIDGE_HEALTH_PORT: String(await freePort()),
    P8FS_SUBSCRIBER_HEALTH_PORT: String(await freePort()),
    P8FS_WORKER_METRICS_PORT: String(await freePort()),
    P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
    P8FS_LOG_FORMAT: 'json',
    ...postgres.env('p8fs_fresh'),
  });
  env.P8FS_SUBSCRIBER_CURSOR_BUCKET = `cursor-${env.P8FS_TASK_QUEUE_PREFIX}`;
}, 90_000);

afterAll(async () => {
  // Whatever happened, no process of ours outlives the test.
  if (env) await runCli(['stack', 'down'], env).catch(() => undefined);
  await postgres?.dispose();
  rmSync(stackDir, { recursive: true, force: true });
});

describe('p8fs stack up with our processes', () => {
  it('on an empty database: migrates, starts every process; an upload is ingested and a dream completes; down stops them', async () => {
    const up = await runCli(['stack', 'up'], env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(up.stdout).toMatch(/\[stack\] database: applying migration 1_initial_schema/);
    // Migrations before the first process: a worker never meets the empty database.
    expect(up.stdout.indexOf('database: applying')).toBeLessThan(
      up.stdout.indexOf('storage-worker: starting'),
    );
    for (const name of ['storage-worker', 'dreaming-worker', 'user-insight-worker', 'bridge', 'subscriber'])
      expect(up.stdout).toMatch(new RegExp(`${name}: ready \\(pid \\d+`));
    expect(up.stdout).toMatch(/dreaming-worker: starting .*LLM provider heuristic/);
    // The servers answered already (the test stack, the private PostgreSQL): reused, not started again.
    expect(up.stdout).not.toMatch(/(temporal|postgres): starting/);

    // Only uploaded (the filer subscriber publishes the event), then followed to its end.
    const md = join(samplesDir(), 'content', 'Sample.md');
    const ingest = await runCli(
      [
        'ingest',
        md,
        '--tenant',
        tenant,
        '--category',
        'notes',
        '--publish',
        'never',
        '--wait',
        '--timeout',
        '120s',
      ],
      env,
    );
    expect(ingest.code, `${ingest.stdout}\n${ingest.stderr}`).toBe(0);
    expect(ingest.stdout).toMatch(/✓ Sample\.md: completed, \d+ chunks/);
    expect(ingest.stdout).not.toMatch(/no worker polls/);
    const pool = createPool(loadConfig(env), 1);
    try {
      const r = await pool.query<{ resources: number }>(
        `SELECT (SELECT count(*)::int FROM resources r WHERE r.file_id = f.id) AS resources
         FROM files f WHERE f.path = $1 AND f.status = 'completed'`,
        [`/buckets/${tenant}/notes/Sample.md`],
      );
      expect(r.rows[0]?.resources).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }

    const dream = await runCli(['dream', 'start', '--tenant', tenant, '--wait'], env);
    expect(dream.code, `${dream.stdout}\n${dream.stderr}`).toBe(0);
    expect(dream.stdout).toMatch(/^(completed|skipped): /m);
    expect(dream.stdout).not.toMatch(/no worker polls/);

    const status = await runCli(['stack', 'status'], env);
    expect(status.stdout).toMatch(/subscriber\s+up/);
    expect(status.stdout).toMatch(/bridge\s+up/);
    expect(status.stdout).toMatch(/storage-worker\s+up/);
    expect(status.stdout).toMatch(/dreaming-worker\s+up/);
    expect(status.stdout).toMatch(/user-insight-worker\s+up/);

    const down = await runCli(['stack', 'down'], env);
    expect(down.code, down.stderr).toBe(0);
    for (const name of ['subscriber', 'bridge', 'user-insight-worker', 'dreaming-worker', 'storage-worker'])
      expect(down.stdout).toMatch(new RegExp(`${name}: stopped \\(pid \\d+\\)`));
    expect(down.stdout).toMatch(/temporal: not started by this stack; left alone/);
    expect(down.stdout).toMatch(/postgres: not started by this stack; left alone/);
    const after = await runCli(['stack', 'status'], env);
    expect(after.stdout).toMatch(/subscriber\s+not running/);
  }, 300_000);

  it('a worker against a schema that is missing refuses work naming p8fs migrate, and starts once migrated', async () => {
    const database = 'p8fs_unmigrated';
    const admin = await connectClient(loadConfig(env), 'postgres');
    await admin.query(`CREATE DATABASE ${database}`).finally(() => admin.end());
    const workerEnv = {
      ...env,
      ...postgres.env(database),
      P8FS_WORKER_METRICS_PORT: '0',
      P8FS_LOG_LEVEL: 'info',
    };
    const worker = startCli(['storage-worker', '--tier', 'small'], workerEnv);
    try {
      await worker.waitFor(
        /refusing to take work: database .*p8fs_unmigrated has no schema.*p8fs migrate/,
        90_000,
      );
      expect(worker.output()).not.toMatch(/workers running/);
      const migrated = await runCli(['migrate'], workerEnv);
      expect(migrated.code, migrated.stderr).toBe(0);
      await worker.waitFor(/database schema is current: taking work/, 30_000);
      await worker.waitFor(/workers running/, 90_000);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }

    // Behind: one migration this code knows is not applied.
    const client = await connectClient(loadConfig(workerEnv));
    try {
      await client.query(
        'DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)',
      );
      const state = await schemaState(client);
      expect(state.kind).toBe('behind');
      expect(schemaProblem('db', state)).toMatch(
        /^database db lacks 1 migration\(s\) this code needs \(\d+_\w+\): run `p8fs migrate`/,
      );
    } finally {
      await client.end();
    }
  }, 200_000);
});
