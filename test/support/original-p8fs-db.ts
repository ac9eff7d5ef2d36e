/**
 * A database as a running original P8FS has it: its schema for the tables we share (files, resources,
 * jobs, errors, moments, sessions and their embeddings tables, test/fixtures/original-p8fs/schema.sql)
 * and a few rows as its workers write them (rows.sql): one ingested file `uploads/Sample.md` of tenant
 * `tenant-test` with two chunks `Sample_chunk_{i}`, two jobs, an error, two moments and a session. No
 * schema_migrations: nothing of ours has run yet. Tests migrate it (or not) themselves.
 *
 * createOriginalP8fsDatabase makes one on the shared test-stack PostgreSQL under a name unique to the
 * caller; applyOriginalP8fsSchema fills any empty database (a private server's, say).
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { connectClient, createPool } from '../../src/clients/postgres.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { uuidV5 } from '../../src/domain/ids.js';
import { isolatedEnv } from './test-stack.js';

/** Python's uuid.NAMESPACE_DNS, the namespace the original names files and chunks in. */
const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/original-p8fs/${name}`, import.meta.url), 'utf8');

const tenant = 'tenant-test';
const fileId = uuidV5(`${tenant}:uploads/Sample.md`, DNS);

/** What rows.sql wrote, for assertions. */
export const ORIGINAL_ROWS = {
  tenant,
  /** The original's file_path: the key inside the tenant's bucket. */
  filePath: 'uploads/Sample.md',
  /** files.uri as the original writes it, which is also our files.path. */
  path: `/buckets/${tenant}/uploads/Sample.md`,
  fileId,
  resourceIds: [0, 1].map((i) => uuidV5(`${fileId}:chunk:${i}`, DNS)),
  resourceNames: ['Sample_chunk_0', 'Sample_chunk_1'],
  jobIds: {
    completed: '7d1c1a52-6c43-4a43-9d1e-6f0c2b7f4a01',
    pending: '7d1c1a52-6c43-4a43-9d1e-6f0c2b7f4a02',
  },
  errorId: '7d1c1a52-6c43-4a43-9d1e-6f0c2b7f4a03',
  momentId: '7d1c1a52-6c43-4a43-9d1e-6f0c2b7f4a04',
  /** A moment without times (resource_timestamp NULL), as its Moment model allows. */
  untimedMomentId: '7d1c1a52-6c43-4a43-9d1e-6f0c2b7f4a06',
  sessionId: '7d1c1a52-6c43-4a43-9d1e-6f0c2b7f4a05',
} as const;

/** The original's CREATE statements (and, unless rows is false, its rows) into an empty database. */
export async function applyOriginalP8fsSchema(
  client: pg.ClientBase,
  options: { rows?: boolean } = {},
): Promise<void> {
  await client.query(fixture('schema.sql'));
  // A server without uuid-ossp (the local stack's PostgreSQL) gets the same two functions in plain SQL.
  const ossp = await client.query("SELECT to_regproc('uuid_generate_v5') IS NOT NULL AS present");
  if (!ossp.rows[0]?.present) await client.query(fixture('uuid-ossp-shim.sql'));
  if (options.rows !== false) await client.query(fixture('rows.sql'));
}

export interface OriginalP8fsDb {
  /** P8FS_* variables of an isolated test environment whose P8FS_PG_DATABASE is this database. */
  readonly env: Record<string, string | undefined>;
  readonly cfg: Config;
  readonly database: string;
  readonly pool: pg.Pool;
  /** Closes the pool and drops the database. */
  dispose(): Promise<void>;
}

/**
 * A new database on the shared test-stack PostgreSQL built as the original P8FS builds it. `extra` goes
 * into the isolated environment (as isolatedEnv's extra).
 */
export async function createOriginalP8fsDatabase(
  label: string,
  options: { rows?: boolean; extra?: Record<string, string> } = {},
): Promise<OriginalP8fsDb> {
  const env = isolatedEnv(label, options.extra);
  const cfg = loadConfig(env);
  const database = cfg.pg.database;
  const admin = await connectClient(cfg, 'postgres');
  try {
    await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  const pool = createPool(cfg);
  const client = await pool.connect();
  try {
    await applyOriginalP8fsSchema(client, options);
  } finally {
    client.release();
  }
  return {
    env,
    cfg,
    database,
    pool,
    async dispose() {
      await pool.end();
      const drop = await connectClient(cfg, 'postgres');
      try {
        await drop.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await drop.end();
      }
    },
  };
}
