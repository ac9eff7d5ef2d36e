/**
 * Permanent storage errors fail at once; text PostgreSQL cannot hold is cleaned (real Temporal, NATS,
 * SeaweedFS, PostgreSQL).
 *
 * Before: a JSON string holding "\u0000" (a NUL once parsed) made every storeChunks attempt fail with
 * SQLSTATE 22021, a version `..` made the derived key `tenant/file/../extracted.json`, which SeaweedFS
 * refuses with 400, and both were retried for the tier's whole budget (2 hours on the small tier) with the
 * file left in `processing`. Now NUL is dropped and lone surrogates become U+FFFD before storing, any
 * version gives a safe derived key, and what S3 or PostgreSQL refuse for good (SQLSTATE classes 22, 23,
 * 42, S3 4xx) fails the file within seconds as PermanentStorageError with the server's words.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyStorageError } from '../../src/activities/ingest/storage-errors.js';
import { pgClientConfig } from '../../src/clients/postgres.js';
import { createS3Client } from '../../src/clients/s3.js';
import { cleanText } from '../../src/domain/clean-text.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { derivedPrefix, type IngestFileInput } from '../../src/domain/ingest.js';
import { parseStorageEvent } from '../../src/domain/storage-event.js';
import { taskQueueFor } from '../../src/temporal/names.js';
import { ingestFileHandle, startIngestFile } from '../../src/temporal/starts.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const log = (message: string) => console.log(`[hardening-errors] ${message}`);

let p: Pipeline;
const tenant = uniqueTenant('errors');

beforeAll(async () => {
  // The workflow from src (not a prebuilt dist/ bundle that may predate it).
  p = await createPipeline('errors', {});
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

interface FileRow {
  status: string;
  error: string | null;
  chunk_count: number | null;
}

/** Uploads, publishes a create event and waits until the file leaves `processing`. */
async function ingest(key: string, body: string, mime: string, timeoutMs = 60_000) {
  await p.putObject(tenant, key, body, mime);
  const path = `/buckets/${tenant}/${key}`;
  const started = Date.now();
  await p.publish({ event_type: 'create', path, size: Buffer.byteLength(body), mime_type: mime });
  const fileId = fileIdFor(tenant, path);
  const row = await eventually(
    `${path} to leave processing`,
    async () => {
      const r = await p.pool.query<FileRow>('SELECT status, error, chunk_count FROM files WHERE id = $1', [
        fileId,
      ]);
      const found = r.rows[0];
      return found && found.status !== 'processing' ? found : undefined;
    },
    timeoutMs,
  );
  return { path, fileId, row, seconds: (Date.now() - started) / 1000 };
}

/** The workflow the bridge started for `path`, and its activities' attempts from the history. */
async function attemptsOf(path: string) {
  const started = p.results.find((r) => r.kind === 'started' && r.event.path === path);
  if (started?.kind !== 'started') throw new Error(`no workflow started for ${path}`);
  const handle = ingestFileHandle(p.temporal, started.workflowId);
  const events = (await handle.fetchHistory()).events ?? [];
  const names = new Map<string, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) names.set(String(e.eventId), name);
  }
  return events.flatMap((e) => {
    const attrs = e.activityTaskStartedEventAttributes;
    return attrs ? [`${names.get(String(attrs.scheduledEventId))}#${attrs.attempt}`] : [];
  });
}

describe('text PostgreSQL cannot hold is cleaned, not retried', () => {
  it('a JSON file with "\\u0000" and a lone "\\ud800" in its strings completes, the text cleaned', async () => {
    const body =
      '{"title": "before\\u0000after", "note": "half a pair \\ud800 here", "\\u0000key": "value", "ok": "fine"}';
    const { fileId, row, seconds } = await ingest('json/nul-and-surrogate.json', body, 'application/json');
    log(`JSON with NUL and a lone surrogate: ${row.status} in ${seconds.toFixed(1)} s`);
    expect(row).toMatchObject({ status: 'completed', error: null });
    const resources = await p.pool.query<{ content: string; metadata: unknown }>(
      'SELECT content, metadata FROM resources WHERE file_id = $1 ORDER BY ordinal',
      [fileId],
    );
    const text = resources.rows.map((r) => r.content).join('\n');
    expect(text).not.toContain('\u0000');
    expect(text).toContain('beforeafter');
    expect(text).toContain('half a pair \uFFFD here');
    expect(text).toContain('fine');
    expect(cleanText(text)).toBe(text);
    const errors = await p.pool.query('SELECT 1 FROM errors WHERE tenant_id = $1', [tenant]);
    expect(errors.rowCount).toBe(0);
  });
});

describe('permanent storage errors fail at once', () => {
  it('a chunk PostgreSQL refuses (a CHECK constraint: SQLSTATE 23514) fails the file in seconds, not retried', async () => {
    // A rule of this database that the file's text breaks: every attempt would fail the same way.
    await p.pool.query(
      `ALTER TABLE resources ADD CONSTRAINT test_no_forbidden_marker CHECK (position('FORBIDDEN-MARKER' in content) = 0)`,
    );
    try {
      const body = `A harmless first paragraph.\n\nThen the FORBIDDEN-MARKER that the table refuses.\n`;
      const { path, fileId, row, seconds } = await ingest('text/forbidden.txt', body, 'text/plain', 30_000);
      log(`CHECK violation: ${row.status} after ${seconds.toFixed(1)} s: ${row.error}`);
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(
        /^PermanentStorageError: ingestSmallFile: PostgreSQL refused: SQLSTATE 23514: .*test_no_forbidden_marker/,
      );
      expect(seconds).toBeLessThan(30);
      // The store (in ingestSmallFile, one activity for a small file) ran once: the failure was not retried.
      expect(await attemptsOf(path)).toEqual(['ingestSmallFile#1', 'recordIngestFailure#1']);
      const errors = await p.pool.query<{ message: string }>(
        `SELECT message FROM errors WHERE metadata->>'file_id' = $1`,
        [fileId],
      );
      expect(errors.rows).toHaveLength(1);
      expect(errors.rows[0]?.message).toContain('SQLSTATE 23514');
      const stored = await p.pool.query('SELECT 1 FROM resources WHERE file_id = $1', [fileId]);
      expect(stored.rowCount).toBe(0);
    } finally {
      await p.pool.query('ALTER TABLE resources DROP CONSTRAINT test_no_forbidden_marker');
    }
  });

  it.each([
    ['..', '..'],
    ['.', '.'],
    ['empty', ''],
    ['a/../../b', 'a/../../b'],
    ['of 600 characters', 'v'.repeat(600)],
  ])(
    'version %s: the run completes with its derived objects under one safe folder',
    async (_label, version) => {
      const key = `versions/v${version.length}-${version.replace(/[^a-z]/g, '').slice(0, 8)}.txt`;
      await p.putObject(tenant, key, 'Some text to ingest under an odd version.\n', 'text/plain');
      const parsed = parseStorageEvent({ event_type: 'create', path: `/buckets/${tenant}/${key}` });
      if (parsed.kind !== 'event') throw new Error(parsed.kind);
      // Derived objects are written by the four steps only (small files take one activity and write
      // none): the run takes the steps as a medium-tier file does, on this file's small-tier worker.
      const input: IngestFileInput = { event: parsed.event, tier: 'medium', version, source: 'test' };
      const handle = await startIngestFile(p.temporal, input, {
        taskQueue: taskQueueFor(p.cfg, 'small'),
        workflowId: `test-version-${version.length}-${Date.now()}`,
      });
      const outcome = await handle.result();
      expect(outcome.status).toBe('completed');
      const fileId = fileIdFor(tenant, parsed.event.path);
      const prefix = derivedPrefix(tenant, fileId, version);
      expect(prefix.split('/')).toHaveLength(3);
      expect(prefix.split('/')[2]).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._~-]{0,80}$/);
      const listed = await p.s3.send(
        new ListObjectsV2Command({ Bucket: p.cfg.s3.derivedBucket, Prefix: `${tenant}/${fileId}/` }),
      );
      const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
      expect(keys).toContain(`${prefix}/chunks.jsonl`);
      for (const derived of keys) expect(derived.startsWith(`${prefix}/`)).toBe(true);
    },
  );
});

describe('the classifier, on errors the real servers raise', () => {
  it('PostgreSQL: data, integrity and statement errors are permanent; shutdown and network errors are transient', async () => {
    const client = new pg.Client(pgClientConfig(p.cfg));
    client.on('error', () => undefined);
    await client.connect();
    const errorOf = (run: () => Promise<unknown>) =>
      run().then(
        () => {
          throw new Error('expected an error');
        },
        (error: unknown) => error,
      );
    try {
      const cases: [string, () => Promise<unknown>, string, 'permanent' | 'transient'][] = [
        ['NUL in text', () => client.query('SELECT $1::text', ['a\u0000b']), '22021', 'permanent'],
        ['NUL in jsonb', () => client.query('SELECT $1::jsonb', ['{"a":"\\u0000"}']), '22P05', 'permanent'],
        [
          'lone surrogate in jsonb',
          () => client.query('SELECT $1::jsonb', ['{"a":"\\ud800"}']),
          '22P02',
          'permanent',
        ],
        [
          'foreign key',
          () =>
            client.query(
              `INSERT INTO resources (id, tenant_id, file_id, name, content, ordinal)
               VALUES (gen_random_uuid(), 't', gen_random_uuid(), 'n', 'c', 0)`,
            ),
          '23503',
          'permanent',
        ],
        ['undefined table', () => client.query('SELECT * FROM no_such_table'), '42P01', 'permanent'],
      ];
      for (const [what, run, code, kind] of cases) {
        const error = await errorOf(run);
        expect({
          what,
          code: (error as { code?: string }).code,
          kind: classifyStorageError(error).kind,
        }).toEqual({ what, code, kind });
      }

      // 57P01: the server ends the session (an administrator, a restart, a failover).
      const victim = new pg.Client(pgClientConfig(p.cfg));
      victim.on('error', () => undefined);
      await victim.connect();
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const inFlight = errorOf(() => victim.query('SELECT pg_sleep(30)'));
      await eventually('the victim to be inside its query', async () => {
        const active = await client.query(
          `SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`,
          [pid],
        );
        return active.rowCount === 1 ? true : undefined;
      });
      await client.query('SELECT pg_terminate_backend($1)', [pid]);
      const terminated = await inFlight;
      expect((terminated as { code?: string }).code).toBe('57P01');
      expect(classifyStorageError(terminated).kind).toBe('transient');
      await victim.end().catch(() => undefined);

      // 55P03: a lock another transaction holds (NOWAIT), as under contention.
      const holder = new pg.Client(pgClientConfig(p.cfg));
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE errors IN ACCESS EXCLUSIVE MODE');
      await client.query('BEGIN');
      const busy = await errorOf(() => client.query('LOCK TABLE errors IN ACCESS EXCLUSIVE MODE NOWAIT'));
      await client.query('ROLLBACK');
      await holder.query('ROLLBACK');
      await holder.end();
      expect((busy as { code?: string }).code).toBe('55P03');
      expect(classifyStorageError(busy).kind).toBe('transient');

      // No server at all.
      const nowhere = new pg.Client({ ...pgClientConfig(p.cfg), port: 1, connectionTimeoutMillis: 2000 });
      const refused = await errorOf(() => nowhere.connect());
      expect(classifyStorageError(refused)).toMatchObject({ kind: 'transient' });
      expect((refused as Error).message).toMatch(/ECONNREFUSED/);
    } finally {
      await client.end();
    }
  });

  it('S3: refused keys and requests are permanent; a missing derived object is permanent; no server is transient', async () => {
    const bucket = tenant;
    await p.putObject(bucket, 'probe.txt', 'the bucket exists');
    const errorOf = (run: () => Promise<unknown>) =>
      run().then(
        () => {
          throw new Error('expected an error');
        },
        (error: unknown) => error,
      );
    const dotdot = await errorOf(() =>
      p.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/../extracted.json', Body: '{}' })),
    );
    expect(classifyStorageError(dotdot)).toMatchObject({
      kind: 'permanent',
      system: 'S3',
      message: /^HTTP 400/,
    });
    const tooLong = await errorOf(() =>
      p.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k'.repeat(2000), Body: '{}' })),
    );
    expect(classifyStorageError(tooLong)).toMatchObject({ kind: 'permanent', message: /KeyTooLong/ });
    const missing = await errorOf(() =>
      p.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'derived/never-written.json' })),
    );
    expect(classifyStorageError(missing)).toMatchObject({ kind: 'permanent', message: /404 NoSuchKey/ });
    const badKey = await errorOf(() =>
      p.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x\ud800', Body: '' })),
    );
    expect(classifyStorageError(badKey)).toMatchObject({ kind: 'permanent', message: /URIError/ });

    const nowhere = createS3Client({ ...p.cfg, s3: { ...p.cfg.s3, endpoint: 'http://127.0.0.1:1' } });
    try {
      const refused = await errorOf(() => nowhere.send(new GetObjectCommand({ Bucket: bucket, Key: 'x' })));
      expect(classifyStorageError(refused)).toMatchObject({ kind: 'transient', message: /ECONNREFUSED/ });
    } finally {
      nowhere.destroy();
    }
  });
});
