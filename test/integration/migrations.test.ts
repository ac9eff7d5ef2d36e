/**
 * Migrations on the real PostgreSQL: ordered, transactional, safe when several processes run at once; a
 * database an earlier release migrated moves on to the seeds' columns and words.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../src/clients/postgres.js';
import { ensureDatabase } from '../../src/db/ensure-database.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';
import { fileIdFor, resourceIdFor } from '../../src/domain/ids.js';
import { isolatedConfig } from '../support/test-stack.js';

const cfg = isolatedConfig('migrations');

/** The checksums an earlier release recorded for 0001 and 0003, before they gained IF NOT EXISTS. */
const EARLIER = new Map([
  [1, '6340b69ad886f3588b654e6196d5b06fbc17e553dd0b818946715ec5ed18b5f9'],
  [3, '462879447359a3f022d94911abe7425ce9825a8e955fd2a3b8216e8f2ffdaf01'],
]);

beforeAll(async () => {
  const admin = await connectClient(cfg, 'postgres');
  await ensureDatabase(admin, cfg.pg.database).finally(() => admin.end());
});

afterAll(async () => {
  const admin = await connectClient(cfg, 'postgres');
  await admin.query(`DROP DATABASE IF EXISTS "${cfg.pg.database}" WITH (FORCE)`).finally(() => admin.end());
});

describe('migrations (real PostgreSQL)', () => {
  it('four concurrent migrators apply each migration exactly once', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => connectClient(cfg)));
    try {
      const results = await Promise.all(clients.map((client) => migrate(client)));
      const applied = results.map((r) => r.length).sort();
      expect(applied).toEqual([0, 0, 0, loadMigrations().length]);
      const rows = await clients[0]?.query('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows?.rows.map((r) => r.version)).toEqual(loadMigrations().map((m) => m.version));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('two files with the same name in one tenant do not collide; a chunk is unique per (file, ordinal)', async () => {
    const client = new pg.Client({ ...cfg.pg });
    await client.connect();
    try {
      const tenant = 't1';
      for (const path of ['/buckets/t1/a/report.pdf', '/buckets/t1/b/report.pdf']) {
        const fileId = fileIdFor(tenant, path);
        await client.query(
          `INSERT INTO files (id, tenant_id, uri, path, name, category) VALUES ($1, $2, $3, $4, 'report.pdf', 'a')`,
          [fileId, tenant, `s3:/${path}`, path],
        );
        await client.query(
          `INSERT INTO resources (id, tenant_id, file_id, name, content, ordinal) VALUES ($1, $2, $3, 'report.pdf', 'x', 0)`,
          [resourceIdFor(fileId, 0), tenant, fileId],
        );
      }
      const count = await client.query('SELECT count(*)::int AS n FROM resources WHERE name = $1', [
        'report.pdf',
      ]);
      expect(count.rows[0].n).toBe(2);
      const fileId = fileIdFor(tenant, '/buckets/t1/a/report.pdf');
      await expect(
        client.query(
          `INSERT INTO resources (id, tenant_id, file_id, name, content, ordinal) VALUES (gen_random_uuid(), $1, $2, 'n', 'y', 0)`,
          [tenant, fileId],
        ),
      ).rejects.toThrow(/resources_file_id_ordinal_key/);
    } finally {
      await client.end();
    }
  });

  it('a database an earlier release migrated to 0006: 0007 alone applies, jobs say pending, files get upload_timestamp', async () => {
    const earlier = isolatedConfig('migrations-earlier');
    const admin = await connectClient(earlier, 'postgres');
    await ensureDatabase(admin, earlier.pg.database).finally(() => admin.end());
    const client = await connectClient(earlier);
    try {
      // As that release left it: 0001…0006 applied, 0001 and 0003 recorded under their checksums then.
      await client.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
        checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      for (const m of loadMigrations().filter((m) => m.version <= 6)) {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          EARLIER.get(m.version) ?? m.checksum,
        ]);
      }
      const fileId = fileIdFor('t1', '/buckets/t1/uploads/a.md');
      await client.query(
        `INSERT INTO files (id, tenant_id, uri, path, name, category, created_at)
         VALUES ($1, 't1', 's3://t1/uploads/a.md', '/buckets/t1/uploads/a.md', 'a.md', 'uploads', now() - interval '3 days')`,
        [fileId],
      );
      await client.query(`INSERT INTO jobs (id, tenant_id, job_type, status) VALUES
        (gen_random_uuid(), 't1', 'dream_analysis', 'queued'), (gen_random_uuid(), 't1', 'ingest_file', 'running')`);

      const applied = await migrate(client);
      expect(applied.map((m) => m.version)).toEqual(
        loadMigrations()
          .filter((m) => m.version > 6)
          .map((m) => m.version),
      );
      const checksums = await client.query(
        'SELECT version, checksum FROM schema_migrations ORDER BY version',
      );
      expect(checksums.rows).toEqual(
        loadMigrations().map((m) => ({ version: m.version, checksum: m.checksum })),
      );

      const jobs = await client.query('SELECT job_type, status FROM jobs ORDER BY job_type');
      expect(jobs.rows).toEqual([
        { job_type: 'dream_analysis', status: 'pending' },
        { job_type: 'ingest_file', status: 'running' },
      ]);
      // The original's words are the only ones a new row may have (and queued, while an earlier release still runs).
      await expect(
        client.query(
          "INSERT INTO jobs (id, tenant_id, job_type, status) VALUES (gen_random_uuid(), 't1', 'x', 'done')",
        ),
      ).rejects.toThrow(/jobs_status_check/);
      const pending = await client.query(
        "INSERT INTO jobs (id, tenant_id, job_type) VALUES (gen_random_uuid(), 't1', 'x') RETURNING status",
      );
      expect(pending.rows).toEqual([{ status: 'pending' }]);

      const file = await client.query(
        `SELECT upload_timestamp = created_at AS from_created FROM files WHERE id = $1`,
        [fileId],
      );
      expect(file.rows).toEqual([{ from_created: true }]);
    } finally {
      await client.end();
      const drop = await connectClient(earlier, 'postgres');
      await drop
        .query(`DROP DATABASE IF EXISTS "${earlier.pg.database}" WITH (FORCE)`)
        .finally(() => drop.end());
    }
  });
});
