/**
 * Vectors follow their rows (src/db/embeddings, migrations 0009 and 0011) on the test stack's PostgreSQL
 * with pgvector, in a fresh migrated database: which chunks lack a vector, upserts under the original's
 * ids, a store of the same text keeping its vectors and a changed chunk losing its own, a rename moving
 * them to the new rows' ids, a delete leaving none, a transcript's moments replaced likewise, and the
 * backfill's tenant pages by id. Vectors here are made up (4 dimensions): what is tested is bookkeeping.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceMoments } from '../../src/activities/insight/moment-store.js';
import type { Config } from '../../src/config/config.js';
import {
  fileEmbeddingColumns,
  fileVectorCounts,
  markFileEmbedded,
  pendingChunksOfFile,
  pendingIdsOfTenant,
  pendingMomentsOfTranscript,
  upsertVectors,
} from '../../src/db/embeddings/index.js';
import {
  deleteFileRows,
  renameFileRows,
  replaceResources,
  type StoreChunksInput,
  upsertFile,
  upsertRunningJob,
} from '../../src/db/files/index.js';
import type { Chunk } from '../../src/domain/chunking.js';
import { embeddingIdFor, fileIdFor, P8FS_NAMESPACE, resourceIdFor, uuidV5 } from '../../src/domain/ids.js';
import type { MomentBuilderResult } from '../../src/domain/insight/moment-output.js';
import type { StorageEvent } from '../../src/domain/storage-event.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { isolatedConfig, uniqueTenant } from '../support/test-stack.js';

let cfg: Config;
let pool: pg.Pool;
const tenant = uniqueTenant('embdb');
const PROVIDER = 'test-4d';

beforeAll(async () => {
  cfg = isolatedConfig('embdb');
  pool = await createTestDatabase(cfg);
}, 60_000);

afterAll(async () => {
  if (pool) await dropTestDatabase(cfg, pool);
});

function eventFor(key: string): StorageEvent {
  return {
    type: 'create',
    path: `/buckets/${tenant}/${key}`,
    bucket: tenant,
    key,
    tenantId: tenant,
    category: key.split('/')[0] as string,
    fileName: key.split('/').pop() as string,
    version: 'etag-1',
  };
}

function chunksOf(texts: string[]): Chunk[] {
  return texts.map((text, ordinal) => ({ ordinal, text, tokenCount: 3, kinds: ['text'] }) as Chunk);
}

async function storedFile(key: string, texts: string[]) {
  const event = eventFor(key);
  const fileId = fileIdFor(tenant, event.path);
  const jobId = uuidV5(`embdb-job:${fileId}`, P8FS_NAMESPACE);
  await upsertFile(pool, { fileId, event, version: 'v1', status: 'processing' });
  await upsertRunningJob(pool, { jobId, tenantId: tenant, workflowId: key, runId: key, payload: {} });
  const store = (next: string[]) =>
    replaceResources(pool, {
      fileId,
      jobId,
      event,
      chunks: chunksOf(next),
      provider: 'text',
      contentHash: next.join('|'),
      version: 'v1',
      sourceEtag: 'etag-1',
    } satisfies StoreChunksInput);
  await store(texts);
  return { fileId, event, store };
}

/** Made-up vectors for a file's pending chunks, as the embed step writes them. */
async function embedAll(fileId: string): Promise<number> {
  const rows = await pendingChunksOfFile(pool, {
    tenantId: tenant,
    fileId,
    provider: PROVIDER,
    afterOrdinal: -1,
    limit: 100,
  });
  return upsertVectors(pool, {
    kind: 'resources',
    tenantId: tenant,
    provider: PROVIDER,
    dimensions: 4,
    rows,
    vectors: rows.map((r) => [r.ordinal + 1, 0, 0, 1]),
  });
}

async function vectorsOf(fileId: string) {
  const result = await pool.query<{ id: string; entity_id: string; ordinal: number; created_at: Date }>(
    `SELECT e.id, e.entity_id, r.ordinal, e.created_at FROM embeddings.resources_embeddings e
       JOIN resources r ON r.id = e.entity_id WHERE r.file_id = $1 ORDER BY r.ordinal`,
    [fileId],
  );
  return result.rows;
}

async function tenantVectors(): Promise<number> {
  const result = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM embeddings.resources_embeddings WHERE tenant_id = $1',
    [tenant],
  );
  return result.rows[0]?.n ?? 0;
}

const counts = (fileId: string) => fileVectorCounts(pool, { tenantId: tenant, fileId, provider: PROVIDER });

describe('vectors follow their rows', () => {
  it("are written under the original's ids, and a file with all of them is done", async () => {
    const { fileId } = await storedFile('uploads/a.txt', ['alpha', 'beta', 'gamma']);
    expect(await counts(fileId)).toEqual({ chunks: 3, embedded: 0 });
    expect(await embedAll(fileId)).toBe(3);
    expect(await embedAll(fileId)).toBe(0);
    expect(await counts(fileId)).toEqual({ chunks: 3, embedded: 3 });
    const vectors = await vectorsOf(fileId);
    expect(vectors.map((v) => v.id)).toEqual(
      [0, 1, 2].map((i) => embeddingIdFor(resourceIdFor(fileId, i), 'content', PROVIDER)),
    );
    expect(await markFileEmbedded(pool, { tenantId: tenant, fileId, provider: PROVIDER })).toBe(true);
    expect(await markFileEmbedded(pool, { tenantId: 'another-tenant', fileId, provider: PROVIDER })).toBe(
      false,
    );
  });

  it("a listing's pending count: every chunk before, none once done, all again for another provider", async () => {
    const { fileId } = await storedFile('uploads/listed.txt', ['one', 'two', 'three']);
    const pending = async (provider: string) => {
      const { rows } = await pool.query<{ embedding_pending: number }>(
        `SELECT ${fileEmbeddingColumns('$2')} FROM files f WHERE f.id = $1`,
        [fileId, provider],
      );
      return rows[0]?.embedding_pending;
    };
    expect(await pending(PROVIDER)).toBe(3);
    await embedAll(fileId);
    expect(await pending(PROVIDER)).toBe(0);
    expect(await markFileEmbedded(pool, { tenantId: tenant, fileId, provider: PROVIDER })).toBe(true);
    expect(await pending(PROVIDER)).toBe(0);
    expect(await pending('text-embedding-3-small')).toBe(3);
  });

  it('a store of the same text keeps every vector; a changed chunk alone lacks one', async () => {
    const { fileId, store } = await storedFile('uploads/b.txt', ['one', 'two', 'three']);
    await embedAll(fileId);
    const first = await vectorsOf(fileId);
    await store(['one', 'two', 'three']);
    expect(await counts(fileId)).toEqual({ chunks: 3, embedded: 3 });
    expect(await vectorsOf(fileId)).toEqual(first);
    const status = await pool.query('SELECT embedding_status FROM files WHERE id = $1', [fileId]);
    expect(status.rows[0].embedding_status).toBeNull();

    await store(['one', 'TWO changed', 'three', 'four']);
    const pending = await pendingChunksOfFile(pool, {
      tenantId: tenant,
      fileId,
      provider: PROVIDER,
      afterOrdinal: -1,
      limit: 10,
    });
    expect(pending.map((r) => [r.ordinal, r.content])).toEqual([
      [1, 'TWO changed'],
      [3, 'four'],
    ]);
    expect((await vectorsOf(fileId)).map((v) => v.ordinal)).toEqual([0, 2]);
    // A vector made for text the row no longer holds is not written.
    const stale = await upsertVectors(pool, {
      kind: 'resources',
      tenantId: tenant,
      provider: PROVIDER,
      dimensions: 4,
      rows: [{ id: resourceIdFor(fileId, 1), hash: '0'.repeat(32) }],
      vectors: [[1, 1, 1, 1]],
    });
    expect(stale).toBe(0);
  });

  it('a rename moves the vectors to the new rows, under ids made from them', async () => {
    const { fileId, event } = await storedFile('uploads/c.txt', ['red', 'green']);
    await embedAll(fileId);
    const to = { ...eventFor('archive/c.txt'), type: 'rename' as const, oldPath: event.path };
    const moved = await renameFileRows(pool, { tenantId: tenant, path: event.path }, to, {
      objects: async () => ({ oldExists: false, newExists: true, newEtag: 'etag-1' }),
    });
    expect(moved).toMatchObject({ kind: 'moved', moved: 2 });
    const toFileId = fileIdFor(tenant, to.path);
    const vectors = await vectorsOf(toFileId);
    expect(vectors.map((v) => [v.entity_id, v.id])).toEqual(
      [0, 1].map((i) => [
        resourceIdFor(toFileId, i),
        embeddingIdFor(resourceIdFor(toFileId, i), 'content', PROVIDER),
      ]),
    );
    expect(await counts(toFileId)).toEqual({ chunks: 2, embedded: 2 });
  });

  it('a delete leaves no vector of the file', async () => {
    const { fileId } = await storedFile('uploads/d.txt', ['x', 'y']);
    await embedAll(fileId);
    const before = await tenantVectors();
    expect(await deleteFileRows(pool, { fileId })).toEqual({ deleted: 2 });
    expect(await tenantVectors()).toBe(before - 2);
    expect(await vectorsOf(fileId)).toEqual([]);
  });

  it("a transcript's moments stored again keep the vectors of unchanged moments", async () => {
    const ref = 'standup-1';
    const moment = (content: string) => ({
      name: content,
      category: null,
      content,
      summary: null,
      uri: null,
      metadata: { transcript_ref: ref },
      resource_timestamp: '2026-01-01T09:00:00Z',
      resource_ends_timestamp: '2026-01-01T09:05:00Z',
      present_persons: [],
      location: null,
      background_sounds: null,
      moment_type: 'conversation',
      emotion_tags: [],
      topic_tags: [],
      speakers: [],
    });
    const output = (contents: string[]) =>
      ({
        moments: contents.map(moment),
        analysis_summary: 's',
        total_moments: contents.length,
      }) as never as MomentBuilderResult;
    await replaceMoments(pool, tenant, ref, output(['plan the release', 'review the budget']));
    const pending = () =>
      pendingMomentsOfTranscript(pool, {
        tenantId: tenant,
        transcriptRef: ref,
        provider: PROVIDER,
        afterOrdinal: -1,
        limit: 10,
      });
    const rows = await pending();
    expect(rows).toHaveLength(2);
    await upsertVectors(pool, {
      kind: 'moments',
      tenantId: tenant,
      provider: PROVIDER,
      dimensions: 4,
      rows,
      vectors: rows.map(() => [0, 1, 0, 0]),
    });
    expect(await pending()).toEqual([]);
    await replaceMoments(pool, tenant, ref, output(['plan the release', 'review the budget again']));
    expect((await pending()).map((r) => r.content)).toEqual(['review the budget again']);
  });

  it('the backfill pages through a tenant by id and reads no other tenant', async () => {
    const ids = await pendingIdsOfTenant(pool, 'resources', {
      tenantId: tenant,
      provider: 'never-used',
      afterId: null,
      limit: 1000,
    });
    const all = await pool.query<{ id: string }>(
      'SELECT id FROM resources WHERE tenant_id = $1 ORDER BY id',
      [tenant],
    );
    expect(ids).toEqual(all.rows.map((r) => r.id));
    const half = ids[Math.floor(ids.length / 2)] as string;
    const after = await pendingIdsOfTenant(pool, 'resources', {
      tenantId: tenant,
      provider: 'never-used',
      afterId: half,
      untilId: ids.at(-1) as string,
      limit: 1000,
    });
    expect(after).toEqual(ids.filter((id) => id > half));
    expect(
      await pendingIdsOfTenant(pool, 'resources', {
        tenantId: 'nobody',
        provider: 'never-used',
        afterId: null,
        limit: 10,
      }),
    ).toEqual([]);
  });
});
