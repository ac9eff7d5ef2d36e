/**
 * Adopting a database the original P8FS built (test/support/original-p8fs-db.ts: its DDL and rows as its
 * workers write them): `p8fs migrate` adds our columns instead of failing on CREATE TABLE, once; the
 * tables then read and write as on a database we created; the original's rows keep their ids and stay
 * readable by our reads; its own writers still work (a rollback); the seeds' SQL gives its rows.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDreamSources } from '../../src/activities/insight/dream-store.js';
import { loadMoments } from '../../src/activities/insight/moment-store.js';
import { collectStatus } from '../../src/cli/commands/status.js';
import { connectClient } from '../../src/clients/postgres.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';
import { schemaProblem, schemaState } from '../../src/db/schema-version.js';
import { searchResources } from '../../src/db/search.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import {
  createOriginalP8fsDatabase,
  ORIGINAL_ROWS,
  type OriginalP8fsDb,
} from '../support/original-p8fs-db.js';
import { monitoringQueries, toPostgres, verifyQueries } from '../support/seed-sql.js';
import { isolatedConfig } from '../support/test-stack.js';

const SHARED = ['files', 'resources', 'jobs', 'errors', 'moments', 'sessions'];
const { tenant } = ORIGINAL_ROWS;

let original: OriginalP8fsDb;
const freshCfg = isolatedConfig('adoptfresh');
let fresh: pg.Pool;

beforeAll(async () => {
  [original, fresh] = await Promise.all([createOriginalP8fsDatabase('adopt'), createTestDatabase(freshCfg)]);
}, 60_000);

afterAll(async () => {
  await original?.dispose();
  if (fresh) await dropTestDatabase(freshCfg, fresh);
});

async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

interface Column {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

async function columns(pool: pg.Pool): Promise<Map<string, Column>> {
  const rows = await pool.query<{ name: string; type: string; nullable: string; default: string | null }>(
    `SELECT table_name || '.' || column_name AS name, udt_name AS type, is_nullable AS nullable,
            column_default AS default
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY($1)`,
    [SHARED],
  );
  return new Map(rows.rows.map((r) => [r.name, { ...r, nullable: r.nullable === 'YES' }]));
}

/**
 * Checks, keys and foreign keys. Not NOT NULL, which PostgreSQL 18 also lists here (contype 'n'):
 * columns() compares nullability, allowing the original's own columns to stay nullable.
 */
async function constraints(pool: pg.Pool): Promise<string[]> {
  const rows = await pool.query<{ c: string }>(
    `SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS c
       FROM pg_constraint WHERE conrelid::regclass::text = ANY($1) AND contype <> 'n' ORDER BY 1`,
    [SHARED],
  );
  return rows.rows.map((r) => r.c);
}

describe('adopting a database the original P8FS built', () => {
  it('before: workers and p8fs status name p8fs migrate; then migrate adopts it and applies every migration once', async () => {
    const state = await withClient(original.pool, (client) => schemaState(client));
    expect(state).toEqual({ kind: 'missing', original: true });
    expect(schemaProblem(original.database, state)).toMatch(/holds the original P8FS's tables.*p8fs migrate/);

    const said: string[] = [];
    const applied = await withClient(original.pool, (client) => migrate(client, (line) => said.push(line)));
    expect(applied.map((m) => m.version)).toEqual(loadMigrations().map((m) => m.version));
    expect(said[0]).toMatch(
      /^adopting the original P8FS's tables \(files, resources, jobs, errors, moments, sessions\)/,
    );
    expect(await withClient(original.pool, (client) => migrate(client))).toEqual([]);
    expect(await withClient(original.pool, (client) => schemaState(client))).toMatchObject({
      kind: 'current',
    });
  }, 60_000);

  it('its tables then have every column of ours with our types and defaults, and our constraints, its own columns beside', async () => {
    const [ours, adopted] = await Promise.all([columns(fresh), columns(original.pool)]);
    for (const [name, column] of ours) {
      const found = adopted.get(name);
      expect(found, name).toBeDefined();
      expect({ type: found?.type, default: found?.default }, name).toEqual({
        type: column.type,
        default: column.default,
      });
      // The original's own columns may stay NULL as its models allow; ours are as we declare them.
      if (!column.nullable && found?.nullable) expect(ORIGINAL_COLUMNS.has(name), name).toBe(true);
    }
    expect([...adopted.keys()].filter((name) => !ours.has(name))).toEqual(
      expect.arrayContaining([
        'files.parsing_metadata',
        'resources.userid',
        'jobs.priority',
        'sessions.query',
      ]),
    );
    const ourConstraints = await constraints(fresh);
    const adoptedConstraints = await constraints(original.pool);
    // errors.level in the original's words ('ERROR'), checked in upper case (0008) on both.
    expect(ourConstraints.filter((c) => !adoptedConstraints.includes(c))).toEqual([]);
    expect(adoptedConstraints.filter((c) => c.startsWith('errors errors_level_check'))).toHaveLength(1);
  });

  it('its rows keep their ids and updated_at, and gain our columns: path, name, category, status, file_id', async () => {
    const file = await original.pool.query(
      `SELECT id, path, name, category, status, chunk_count, upload_timestamp < now() - interval '1 day' AS old,
              updated_at < now() - interval '1 day' AS untouched
         FROM files WHERE tenant_id = $1`,
      [tenant],
    );
    expect(file.rows).toEqual([
      {
        id: ORIGINAL_ROWS.fileId,
        path: ORIGINAL_ROWS.path,
        name: 'Sample.md',
        category: 'uploads',
        status: 'completed',
        chunk_count: 2,
        old: true,
        untouched: true,
      },
    ]);
    const chunks = await original.pool.query(
      'SELECT id, name, category, file_id, ordinal FROM resources WHERE tenant_id = $1 ORDER BY ordinal',
      [tenant],
    );
    expect(chunks.rows).toEqual(
      ORIGINAL_ROWS.resourceIds.map((id, i) => ({
        id,
        name: ORIGINAL_ROWS.resourceNames[i],
        category: 'content_chunk',
        file_id: ORIGINAL_ROWS.fileId,
        ordinal: i,
      })),
    );
    const jobs = await original.pool.query('SELECT id, status FROM jobs ORDER BY id');
    expect(jobs.rows).toEqual([
      { id: ORIGINAL_ROWS.jobIds.completed, status: 'completed' },
      { id: ORIGINAL_ROWS.jobIds.pending, status: 'pending' },
    ]);
    const embeddings = await original.pool.query('SELECT entity_id FROM embeddings.resources_embeddings');
    expect(embeddings.rows).toEqual([{ entity_id: ORIGINAL_ROWS.resourceIds[0] }]);
  });

  it('our reads find them: search, p8fs status, dream sources, moments', async () => {
    const found = await searchResources(original.pool, { tenantId: tenant, query: 'engram processors' });
    expect(found.hits).toMatchObject([
      {
        resourceId: ORIGINAL_ROWS.resourceIds[1],
        fileId: ORIGINAL_ROWS.fileId,
        path: ORIGINAL_ROWS.path,
        ordinal: 1,
      },
    ]);

    const report = await collectStatus(original.cfg);
    expect(report.parts.PostgreSQL).toMatchObject({ files: { completed: 1 }, resources: 2 });

    const sources = await readDreamSources(original.pool, {
      tenantId: tenant,
      since: new Date(Date.now() - 7 * 86_400_000).toISOString(),
      sessionLimit: 10,
      resourceLimit: 10,
    });
    expect(sources.map((s) => `${s.kind} ${s.id}`).sort()).toEqual(
      [
        `resource ${ORIGINAL_ROWS.resourceIds[0]}`,
        `resource ${ORIGINAL_ROWS.resourceIds[1]}`,
        `session ${ORIGINAL_ROWS.sessionId}`,
      ].sort(),
    );

    const moments = await loadMoments(original.pool, tenant);
    expect(moments).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: ORIGINAL_ROWS.momentId,
          name: 'Morning planning',
          emotion_tags: ['focused', 'calm'],
          topic_tags: ['planning'],
          resource_timestamp: '2025-01-13T09:00:00Z',
        }),
        expect.objectContaining({
          id: ORIGINAL_ROWS.untimedMomentId,
          resource_timestamp: null,
          emotion_tags: [],
        }),
      ]),
    );
  }, 60_000);

  it('its own workers can still write after adoption (a rollback): our required columns fill themselves', async () => {
    // As the original's storage worker upserts a files row and a chunk, and its Session model a session.
    await original.pool.query(
      `INSERT INTO files (id, tenant_id, uri, file_size, mime_type, metadata)
       VALUES (uuid_generate_v5(uuid_ns_dns(), $1 || ':uploads/later.md'), $1, '/buckets/' || $1 || '/uploads/later.md', 5, NULL,
               '{"name": "later.md"}')
       ON CONFLICT (id) DO UPDATE SET uri = EXCLUDED.uri, file_size = EXCLUDED.file_size, mime_type = EXCLUDED.mime_type,
         metadata = COALESCE(files.metadata, '{}'::jsonb) || COALESCE(EXCLUDED.metadata, '{}'::jsonb)`,
      [tenant],
    );
    await original.pool.query(
      `INSERT INTO resources (id, tenant_id, name, category, content, ordinal, uri, metadata)
       VALUES (gen_random_uuid(), $1, 'later_chunk_0', 'content_chunk', 'later', 0, 'uploads/later.md#chunk_0', '{}')`,
      [tenant],
    );
    await original.pool.query(
      `INSERT INTO sessions (id, tenant_id, name, query, metadata) VALUES (gen_random_uuid(), $1, NULL, 'a question', NULL)`,
      [tenant],
    );
    const file = await original.pool.query(
      "SELECT path, name, category, status FROM files WHERE uri LIKE '%/later.md'",
    );
    expect(file.rows).toEqual([
      {
        path: `/buckets/${tenant}/uploads/later.md`,
        name: 'later.md',
        category: 'uploads',
        status: 'completed',
      },
    ]);
    const session = await original.pool.query(
      "SELECT name, external_id IS NOT NULL AS keyed FROM sessions WHERE query = 'a question'",
    );
    expect(session.rows).toEqual([{ name: 'a question', keyed: true }]);
  });

  it("the seeds' verify and monitoring SQL (PostgreSQL dialect) give its rows", async () => {
    for (const query of verifyQueries()) {
      const result = await original.pool.query(toPostgres(query.sql));
      expect(
        result.rows.filter((r) => r.name.startsWith('Sample_')),
        query.sql,
      ).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'Sample_chunk_0', category: 'content_chunk' }),
        ]),
      );
    }
    const [dreamJobs, errorCounts, activity] = monitoringQueries();
    expect((await original.pool.query(toPostgres(dreamJobs?.sql ?? ''))).fields.map((f) => f.name)).toEqual([
      'id',
      'tenant_id',
      'status',
      'created_at',
    ]);
    expect((await original.pool.query(toPostgres(errorCounts?.sql ?? ''))).rows).toEqual([
      { count: 1, level: 'ERROR', process: 'storage_worker' },
    ]);
    // Only the file its workers wrote in the last test is that recent; the adopted one is two days old.
    expect((await original.pool.query(toPostgres(activity?.sql ?? ''))).rows).toEqual([
      { tenant_id: tenant, file_count: 1 },
    ]);
  });

  it('a database with only some of its tables is refused, naming the missing ones', async () => {
    const cfg = isolatedConfig('adoptpart');
    const admin = await connectClient(cfg, 'postgres');
    await admin.query(`CREATE DATABASE "${cfg.pg.database}"`);
    try {
      const client = await connectClient(cfg);
      try {
        await client.query(
          'CREATE TABLE files (id uuid PRIMARY KEY, uri text NOT NULL, tenant_id text NOT NULL)',
        );
        await expect(migrate(client)).rejects.toThrow(
          /some of the original P8FS's tables \(files\) but not resources, jobs, errors, moments, sessions/,
        );
      } finally {
        await client.end();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${cfg.pg.database}" WITH (FORCE)`);
      await admin.end();
    }
  });
});

/** Columns the original's DDL declares (test/fixtures/original-p8fs/schema.sql), which keep its NULL rules. */
const ORIGINAL_COLUMNS = new Set(
  Object.entries({
    errors: ['created_at', 'updated_at', 'date', 'process', 'level', 'metadata'],
    files: ['created_at', 'updated_at', 'metadata'],
    jobs: ['created_at', 'updated_at', 'status', 'payload', 'queued_at'],
    moments: [
      'created_at',
      'updated_at',
      'ordinal',
      'metadata',
      'present_persons',
      'emotion_tags',
      'topic_tags',
      'speakers',
    ],
    resources: ['created_at', 'updated_at', 'ordinal', 'metadata'],
    sessions: ['created_at', 'updated_at'],
  }).flatMap(([table, names]) => names.map((name) => `${table}.${name}`)),
);
