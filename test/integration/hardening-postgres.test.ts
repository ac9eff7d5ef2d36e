/**
 * Hardening on real servers: PostgreSQL goes away for ~20 s under a running `p8fs worker` process.
 *
 * The database is a PRIVATE cluster of this file (test/support/private-postgres.ts), so stopping it
 * touches no other test; Temporal and SeaweedFS are the shared test stack's, with isolated names. The
 * worker runs as a real child process. To stop the database under a connection the worker has checked
 * out (the case that used to crash it: pg emits 'error' on that client and nobody listened), the test
 * holds a SHARE lock on `resources`, so storeChunks of the first file waits inside its transaction when
 * the server is stopped. A second file is routed while the database is down, so registerFile fails
 * (retryably) for the whole outage. After the restart both workflows complete on the same worker process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RouteResult, routeEvent } from '../../src/bridge/route-event.js';
import { ensureBucket } from '../../src/clients/object-store.js';
import { connectClient } from '../../src/clients/postgres.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { fileIdFor } from '../../src/domain/ids.js';
import type { IngestOutcome } from '../../src/domain/ingest.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { createTestDatabase } from '../support/database.js';
import { dropBucket, eventually } from '../support/pipeline.js';
import { privatePostgres } from '../support/private-postgres.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const OUTAGE_MS = 20_000;
const log = (message: string) => console.log(`[hardening-postgres] ${message}`);

const server = privatePostgres();
const tenant = uniqueTenant('pgrestart');
let workerEnv: Record<string, string | undefined> = {};
let cfg: Config | undefined;
let pool: pg.Pool | undefined;
let s3: S3Client | undefined;
let temporal: Client | undefined;
let worker: { child: ChildProcess; lines: string[]; exited: Promise<void> } | undefined;
const workflowIds: string[] = [];

process.on('exit', () => {
  if (worker && alive(worker.child)) worker.child.kill('SIGKILL');
});

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function deps() {
  if (!cfg || !pool || !s3 || !temporal) throw new Error('not set up');
  return { cfg, pool, s3, temporal };
}

/** process.env without any setting of ours, so the child reads exactly the environment given. */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(P8FS_|TEMPORAL_|DATABASE_URL$)/.test(key)) base[key] = value;
  }
  for (const [key, value] of Object.entries(env)) if (value !== undefined) base[key] = value;
  return base;
}

function spawnWorker() {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'worker', '--tier', 'small'], {
    cwd: process.cwd(),
    env: childEnv(workerEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return { child, lines, exited };
}

/** JSON log records of the worker with `msg` matching. */
function records(pattern: RegExp): { level: number; msg: string; pid: number }[] {
  const found: { level: number; msg: string; pid: number }[] = [];
  for (const line of worker?.lines ?? []) {
    try {
      const record = JSON.parse(line) as { level: number; msg: string; pid: number };
      if (pattern.test(record.msg)) found.push(record);
    } catch {
      // not a log record
    }
  }
  return found;
}

function workerOutput(): string {
  return `worker (pid ${worker?.child.pid}, exit ${worker?.child.exitCode ?? worker?.child.signalCode ?? 'running'}):\n${(worker?.lines ?? []).slice(-30).join('\n')}\n--- postgres log:\n${server.logTail(15)}`;
}

async function withWorkerOutput<T>(what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${workerOutput()}`);
  }
}

async function upload(key: string, text: string): Promise<void> {
  const { s3 } = deps();
  await ensureBucket(s3, tenant);
  await s3.send(new PutObjectCommand({ Bucket: tenant, Key: key, Body: text, ContentType: 'text/plain' }));
}

/** Routes the create event of `key` exactly as the bridge does (HEAD, tier, typed start). */
async function route(key: string, source: string): Promise<string> {
  const event = JSON.stringify({ event_type: 'create', path: `/buckets/${tenant}/${key}` });
  const result: RouteResult = await routeEvent(deps(), event, source);
  if (result.kind !== 'started') throw new Error(`routing ${key}: ${JSON.stringify(result)}`);
  workflowIds.push(result.workflowId);
  return result.workflowId;
}

async function pending(workflowId: string, activity: string) {
  const description = await ingestFileHandle(deps().temporal, workflowId).describe();
  return description.raw.pendingActivities?.find((a) => a.activityType?.name === activity);
}

function paragraph(word: string): string {
  return Array.from({ length: 200 }, (_, i) => `${word} sentence number ${i} of the restart test.`).join(' ');
}

beforeAll(async () => {
  await server.start();
  const base = isolatedEnv('pgrestart');
  const database = base.P8FS_PG_DATABASE as string;
  workerEnv = {
    ...base,
    ...server.env(database),
    DATABASE_URL: '',
    P8FS_LOG_LEVEL: 'info',
    P8FS_LOG_FORMAT: 'json',
    P8FS_WORKER_METRICS_PORT: '0',
  };
  cfg = loadConfig({ ...workerEnv, P8FS_LOG_LEVEL: 'silent' });
  pool = await createTestDatabase(cfg);
  s3 = createS3Client(cfg);
  temporal = await connectTemporal(cfg);
  log(`private PostgreSQL on port ${server.port} (pid ${server.pid()}), database ${database}`);
}, 120_000);

afterAll(async () => {
  try {
    if (worker && alive(worker.child)) {
      const timer = setTimeout(() => worker?.child.kill('SIGKILL'), 15_000);
      worker.child.kill('SIGTERM');
      await worker.exited;
      clearTimeout(timer);
    }
    for (const id of workflowIds) {
      await ingestFileHandle(deps().temporal, id)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  } finally {
    await temporal?.connection.close().catch(() => undefined);
    if (s3 && cfg) {
      for (const bucket of [tenant, cfg.s3.derivedBucket])
        await dropBucket(s3, bucket).catch(() => undefined);
      s3.destroy();
    }
    await pool?.end().catch(() => undefined);
    await server.dispose();
  }
}, 60_000);

describe('hardening: PostgreSQL restart under a running worker (private cluster, real worker process)', () => {
  it('the worker outlives a 20 s database outage: same pid, both files complete once the database is back', async () => {
    const started = Date.now();
    worker = spawnWorker();
    const pidBefore = worker.child.pid;
    await withWorkerOutput(
      eventually('the worker to start', async () =>
        records(/^workers running/).length > 0 ? true : undefined,
      ),
    );
    log(`worker running as pid ${pidBefore} after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // A transaction of ours holds `resources`, so the worker's storeChunks waits inside its transaction.
    const blocker = await connectClient(deps().cfg);
    blocker.on('error', () => undefined);
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE resources IN SHARE MODE');

    await upload('uploads/first.txt', paragraph('first'));
    const first = await route('uploads/first.txt', 'hardening#1');
    await withWorkerOutput(
      eventually(
        'storeChunks of the first file to wait for the lock inside its transaction',
        async () => {
          if (!alive(worker?.child as ChildProcess)) throw new Error('the worker exited');
          const waiting = await deps().pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM resources%'`,
          );
          return (waiting.rows[0]?.n ?? 0) > 0 ? true : undefined;
        },
        60_000,
      ),
    );

    const stopAt = Date.now();
    await server.stop();
    log(`PostgreSQL stopped under a checked-out connection (${((Date.now() - stopAt) / 1000).toFixed(1)} s)`);
    await blocker.end().catch(() => undefined);

    // A second file arrives during the outage: registerFile cannot reach the database.
    await upload('uploads/second.txt', paragraph('second'));
    const second = await route('uploads/second.txt', 'hardening#2');

    const failing = await withWorkerOutput(
      eventually(
        'both activities to fail retryably while the database is away',
        async () => {
          if (!alive(worker?.child as ChildProcess)) throw new Error('the worker exited');
          // Small files: one activity (ingestSmallFile) registers, extracts, chunks and stores each.
          const store = await pending(first, 'ingestSmallFile');
          const register = await pending(second, 'ingestSmallFile');
          return (store?.attempt ?? 0) >= 2 && (register?.attempt ?? 0) >= 2
            ? { store, register }
            : undefined;
        },
        OUTAGE_MS,
      ),
    );
    log(
      `during the outage: ingestSmallFile (store) attempt ${failing.store?.attempt} (last failure: ${failing.store?.lastFailure?.message}); ` +
        `ingestSmallFile (register) attempt ${failing.register?.attempt} (last failure: ${failing.register?.lastFailure?.message})`,
    );
    expect(failing.store?.lastFailure?.message).toMatch(/terminat|connect|ECONNREFUSED/i);
    expect(failing.register?.lastFailure?.message).toMatch(/ECONNREFUSED|connect/i);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stopAt + OUTAGE_MS - Date.now())));
    expect(alive(worker.child), workerOutput()).toBe(true);
    await server.start();
    const restartedAt = Date.now();
    log(`PostgreSQL back after ${((restartedAt - stopAt) / 1000).toFixed(1)} s down`);

    const outcomes = await withWorkerOutput(
      eventually(
        'both workflows to complete after the restart',
        async () => {
          if (!alive(worker?.child as ChildProcess)) throw new Error('the worker exited');
          const results: IngestOutcome[] = [];
          for (const id of [first, second]) {
            const handle = ingestFileHandle(deps().temporal, id);
            if ((await handle.describe()).status.name === 'RUNNING') return undefined;
            results.push(await handle.result());
          }
          return results;
        },
        120_000,
      ),
    );
    log(
      `both completed ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart: ${JSON.stringify(outcomes)}`,
    );
    for (const outcome of outcomes) expect(outcome.status).toBe('completed');

    // The same process did the work before and after the outage.
    expect(worker.child.pid).toBe(pidBefore);
    expect(alive(worker.child)).toBe(true);
    expect(() => process.kill(pidBefore as number, 0)).not.toThrow();
    for (const id of [first, second]) {
      const history = await ingestFileHandle(deps().temporal, id).fetchHistory();
      const identities = (history.events ?? [])
        .map((e) => e.activityTaskStartedEventAttributes?.identity)
        .filter((identity): identity is string => Boolean(identity));
      // A small file is one activity (ingestSmallFile); its recorded attempt ran on this worker.
      expect(identities.length).toBeGreaterThanOrEqual(1);
      for (const identity of identities) expect(identity).toMatch(new RegExp(`^${pidBefore}@`));
    }

    // One warning for the outage, one line for the recovery; no crash, no stack dump.
    const lost = records(/^PostgreSQL connection lost/);
    expect(lost.map((r) => r.level)).toEqual([40]);
    expect(lost[0]?.pid).toBe(pidBefore);
    expect(records(/^PostgreSQL connection restored/)).toHaveLength(1);
    log(`worker pid before ${pidBefore}, after ${worker.child.pid}; warnings for the loss: ${lost.length}`);

    // Exactly the rows of two completed files.
    const rows = await deps().pool.query<{ id: string; status: string; chunk_count: number }>(
      'SELECT id, status, chunk_count FROM files WHERE tenant_id = $1 ORDER BY path',
      [tenant],
    );
    expect(rows.rows.map((r) => [r.id, r.status])).toEqual([
      [fileIdFor(tenant, `/buckets/${tenant}/uploads/first.txt`), 'completed'],
      [fileIdFor(tenant, `/buckets/${tenant}/uploads/second.txt`), 'completed'],
    ]);
    const resources = await deps().pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE tenant_id = $1',
      [tenant],
    );
    expect(resources.rows[0]?.n).toBe(rows.rows.reduce((sum, r) => sum + r.chunk_count, 0));
  }, 240_000);
});
