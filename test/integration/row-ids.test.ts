/**
 * The original P8FS's row ids and names on every store path, on the test-stack PostgreSQL in a fresh
 * migrated database of this file: a ZIP member (its key is `{container}.parts/{member}`) stored in
 * streamed batches gets `{stem}_chunk_{i}` and `{key}#chunk_{i}`; chunks the original wrote with an empty
 * file_id (as its workers write them after a rollback) are taken over by a whole store, a streamed store
 * and a delete instead of colliding with our ids or staying behind.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import {
  deleteFileRows,
  finishStreamedStore,
  replaceResources,
  storeStreamBatch,
  upsertFile,
} from '../../src/db/files/index.js';
import type { Chunk } from '../../src/domain/chunking.js';
import { fileIdFor, P8FS_NAMESPACE, resourceIdFor, uuidV5 } from '../../src/domain/ids.js';
import type { StorageEvent } from '../../src/domain/storage-event.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { fileChunks } from '../support/file-chunks.js';
import { isolatedConfig, uniqueTenant } from '../support/test-stack.js';

let cfg: Config;
let pool: pg.Pool;
const tenant = uniqueTenant('rowids');

beforeAll(async () => {
  cfg = isolatedConfig('rowids');
  pool = await createTestDatabase(cfg);
}, 60_000);

afterAll(async () => {
  if (pool) await dropTestDatabase(cfg, pool);
});

async function file(key: string) {
  const event: StorageEvent = {
    type: 'create',
    path: `/buckets/${tenant}/${key}`,
    bucket: tenant,
    key,
    tenantId: tenant,
    category: key.split('/')[0] as string,
    fileName: key.split('/').at(-1) as string,
  };
  const fileId = fileIdFor(tenant, event.path);
  await upsertFile(pool, { fileId, event, version: 'v1', status: 'processing' });
  const base = {
    fileId,
    event,
    jobId: uuidV5(`job:${key}`, P8FS_NAMESPACE),
    provider: 'text',
    version: 'v1',
  };
  return { event, fileId, base };
}

const chunksOf = (texts: string[]): Chunk[] =>
  texts.map((text, ordinal) => ({ ordinal, text, tokenCount: text.split(' ').length }));

/** Chunks as the original P8FS's worker writes them: the file named in metadata only. */
async function originalChunks(fileId: string, key: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await pool.query(
      `INSERT INTO resources (id, tenant_id, name, category, content, ordinal, uri, metadata)
       VALUES ($1, $2, $3, 'content_chunk', 'written by the original', $4, $5, $6)`,
      [
        resourceIdFor(fileId, i),
        tenant,
        `x_chunk_${i}`,
        i,
        `${key}#chunk_${i}`,
        JSON.stringify({ file_id: fileId, chunk_index: i, chunk_type: 'text' }),
      ],
    );
  }
}

async function tenantRows(): Promise<number> {
  const n = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM resources WHERE tenant_id = $1', [
    tenant,
  ]);
  return n.rows[0]?.n ?? 0;
}

describe('row ids and names on every store path', () => {
  it('a ZIP member stored in streamed batches, over chunks the original wrote for it', async () => {
    const key = 'uploads/bundle.zip.parts/docs/timetable.md';
    const { fileId, base } = await file(key);
    await originalChunks(fileId, key, 3);
    const before = await tenantRows();
    const chunks = chunksOf(['first train 06:40', 'second train 07:10']);
    expect(await storeStreamBatch(pool, base, chunks.slice(0, 1))).toMatchObject({ stored: 1 });
    expect(await storeStreamBatch(pool, base, chunks.slice(1))).toMatchObject({ stored: 1 });
    expect(await finishStreamedStore(pool, { ...base, chunkCount: 2, contentHash: 'h' })).toEqual({
      removed: 1,
    });
    const rows = await fileChunks(pool, fileId);
    expect(rows.map((r) => [r.id, r.name, r.uri, r.content])).toEqual([
      [resourceIdFor(fileId, 0), 'timetable_chunk_0', `${key}#chunk_0`, 'first train 06:40'],
      [resourceIdFor(fileId, 1), 'timetable_chunk_1', `${key}#chunk_1`, 'second train 07:10'],
    ]);
    expect(await tenantRows()).toBe(before - 1);
  });

  it('a whole store replaces the chunks the original wrote, under the same ids', async () => {
    const key = 'content/Sample.md';
    const { fileId, base } = await file(key);
    await originalChunks(fileId, key, 2);
    const before = await tenantRows();
    const stored = await replaceResources(pool, { ...base, chunks: chunksOf(['ours']), contentHash: 'h' });
    expect(stored).toEqual({ inserted: 1, replaced: 2 });
    const rows = await fileChunks(pool, fileId);
    expect(rows.map((r) => [r.id, r.name, r.category, r.content])).toEqual([
      [resourceIdFor(fileId, 0), 'Sample_chunk_0', 'content_chunk', 'ours'],
    ]);
    expect(await tenantRows()).toBe(before - 1);
  });

  it("a delete takes the original's chunks with the file", async () => {
    const key = 'notes/old.txt';
    const { fileId } = await file(key);
    await originalChunks(fileId, key, 2);
    const before = await tenantRows();
    expect(await deleteFileRows(pool, { fileId })).toEqual({ deleted: 2 });
    expect(await tenantRows()).toBe(before - 2);
  });
});
