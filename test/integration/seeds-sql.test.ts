/**
 * Seed 001's SQL, taken from the seed's text and run as written (PostgreSQL dialect: only MySQL's
 * `INTERVAL 1 HOUR` becomes `INTERVAL '1 hour'`, test/support/seed-sql.ts) against our database after an
 * ingest like the seed's self-test: content/Sample.md uploaded for tenant `tenant-test` and taken through
 * the bridge and a small-tier storage worker. The rows have the columns and values the seed shows, and the
 * tables the columns its DDL names.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertQueuedJob } from '../../src/activities/insight/dream-store.js';
import { putCreatingBucket } from '../../src/clients/object-store.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { monitoringQueries, seedTableColumns, toPostgres, verifyQueries } from '../support/seed-sql.js';

// The seed's tenant. Its bucket may be shared with other test files: this file writes one folder of its
// own and deletes only its objects (createPipeline's putObject would drop the whole bucket at the end).
const tenant = 'tenant-test';
const key = `uploads/seeds-sql-${randomBytes(3).toString('hex')}/Sample.md`;
const path = `/buckets/${tenant}/${key}`;
const sample = readFileSync(join(SAMPLES_DIR, 'content/Sample.md'));

let p: Pipeline;

async function upload(body: Buffer): Promise<{ upload_timestamp: Date; version: string }> {
  await putCreatingBucket(p.s3, tenant, () =>
    p.s3.send(new PutObjectCommand({ Bucket: tenant, Key: key, Body: body, ContentType: 'text/markdown' })),
  );
  const before = (await fileRow())?.version;
  await p.publish({ event_type: 'create', path, size: body.length, mime_type: 'text/markdown' });
  return eventually(
    `${path} ingested to completed`,
    async () => {
      const row = await fileRow();
      return row && row.status === 'completed' && row.version !== before ? row : undefined;
    },
    120_000,
  );
}

async function fileRow() {
  const result = await p.pool.query<{ status: string; upload_timestamp: Date; version: string }>(
    'SELECT status, upload_timestamp, version FROM files WHERE id = $1',
    [fileIdFor(tenant, path)],
  );
  return result.rows[0];
}

let first: { upload_timestamp: Date; version: string };

beforeAll(async () => {
  p = await createPipeline('seedssql');
  await p.startWorkers(['small']);
  await p.startBridge();
  first = await upload(sample);
}, 180_000);

afterAll(async () => {
  await p?.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: key })).catch(() => undefined);
  await p?.close();
});

describe("seed 001's SQL on our tables", () => {
  it('the verify queries give the seed shape: name, category (and size) of the Sample chunks', async () => {
    const queries = verifyQueries();
    expect(queries.map((q) => q.sql)).toEqual([
      "SELECT name, category FROM resources WHERE tenant_id = 'tenant-test' LIMIT 5;",
      "SELECT name, category, length(content) as size FROM resources WHERE tenant_id = 'tenant-test' ORDER BY created_at DESC LIMIT 5;",
    ]);
    for (const query of queries) {
      const result = await p.pool.query(toPostgres(query.sql));
      expect(result.rows.length, query.sql).toBeGreaterThan(0);
      for (const row of result.rows) {
        expect(row.name, query.sql).toMatch(/^Sample_chunk_\d+$/);
        expect(row.category, query.sql).toBe('content_chunk');
        if ('size' in row) expect(row.size).toBeGreaterThan(0);
      }
      expect(result.fields.map((f) => f.name)).toEqual(
        query.sql.includes('size') ? ['name', 'category', 'size'] : ['name', 'category'],
      );
    }
  });

  it("the tables have every column the seed's DDL names; jobs.status defaults to the original's pending", async () => {
    const tables = seedTableColumns();
    expect([...tables.keys()].sort()).toEqual(['errors', 'files', 'jobs']);
    for (const [table, names] of tables) {
      const found = await p.pool.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
        [table],
      );
      expect(
        found.rows.map((r) => r.column_name),
        table,
      ).toEqual(expect.arrayContaining(names));
    }
    const status = await p.pool.query(
      "SELECT column_default FROM information_schema.columns WHERE table_name = 'jobs' AND column_name = 'status'",
    );
    expect(status.rows).toEqual([{ column_default: "'pending'::text" }]);
  });

  it('the monitoring queries: recent dream jobs in the original status words, error counts, worker activity', async () => {
    const [dreamJobs, errorCounts, activity] = monitoringQueries();
    expect([dreamJobs?.title, errorCounts?.title, activity?.title]).toEqual([
      'Recent dream jobs',
      'Error counts',
      'Worker activity',
    ]);
    // A dream job as `p8fs dream start` registers it before its workflow runs.
    const jobId = randomUUID();
    await upsertQueuedJob(p.pool, {
      jobId,
      tenantId: tenant,
      workflowId: `dream-${jobId}`,
      runId: 'r',
      payload: {},
    });
    const jobs = await p.pool.query(toPostgres(dreamJobs?.sql ?? ''));
    expect(jobs.rows).toEqual([
      { id: jobId, tenant_id: tenant, status: 'pending', created_at: expect.any(Date) },
    ]);

    const errors = await p.pool.query(toPostgres(errorCounts?.sql ?? ''));
    expect(errors.fields.map((f) => f.name)).toEqual(['count', 'level', 'process']);

    expect(activity?.sql).toContain('INTERVAL 1 HOUR');
    const recent = await p.pool.query(toPostgres(activity?.sql ?? ''));
    expect(recent.rows).toEqual([{ tenant_id: tenant, file_count: 1 }]);
  });

  it('files.upload_timestamp is set when the file is first written and kept when a new version is ingested', async () => {
    const second = await upload(Buffer.concat([sample, Buffer.from('\n\nA line added later.\n')]));
    expect(second.version).not.toBe(first.version);
    expect(second.upload_timestamp).toEqual(first.upload_timestamp);
  }, 150_000);
});
