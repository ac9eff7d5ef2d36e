/** Migrations on the real PostgreSQL: ordered, transactional, safe when several processes run at once. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../src/clients/postgres.js';
import { ensureDatabase } from '../../src/db/ensure-database.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';
import { fileIdFor, resourceIdFor } from '../../src/domain/ids.js';
import { isolatedConfig } from '../support/test-stack.js';

const cfg = isolatedConfig('migrations');

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
});
