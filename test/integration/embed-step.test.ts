/**
 * Embedding as a step of ingestion on the real stack (Temporal, NATS, SeaweedFS, PostgreSQL with
 * pgvector) with the local provider (all-MiniLM-L6-v2, scripts/install-embedding-model.sh): an uploaded
 * file's chunks get 384-dimensional unit vectors under the provider's name and the file's embeddings are
 * done; the same bytes uploaded again are stored again but embedded not at all (the vectors are the very
 * rows, untouched); a delete leaves no vector; `embedBackfill` fills chunks and moments stored without
 * vectors and, run again, embeds nothing.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceMoments } from '../../src/activities/insight/moment-store.js';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { fileIdFor } from '../../src/domain/ids.js';
import type { IngestOutcome } from '../../src/domain/ingest.js';
import type { MomentBuilderResult } from '../../src/domain/insight/moment-output.js';
import { LOCAL_PROVIDER_NAME } from '../../src/providers/embeddings/index.js';
import { startEmbedBackfill } from '../../src/temporal/embed-backfill-starts.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

type Started = Extract<RouteResult, { kind: 'started' }>;

let p: Pipeline;
const tenant = uniqueTenant('embedstep');

beforeAll(async () => {
  p = await createPipeline('embedstep', { P8FS_EMBEDDINGS_ENABLED: 'true' });
  await p.startWorkers(['small']);
  await p.startBridge();
}, 180_000);

afterAll(async () => {
  await p?.close();
});

const ENGINE = [
  '# Cooling system',
  'When the engine runs hot, check the coolant level in the expansion tank and look for leaks at the radiator hoses.',
  'A stuck thermostat keeps coolant from reaching the radiator; replace it if the upper hose stays cold.',
  'The radiator fan should start when the temperature gauge passes the middle; test its fuse and relay.',
]
  .join('\n\n')
  .repeat(12);

async function upload(key: string, body: string, type: 'create' | 'delete' = 'create'): Promise<Started> {
  const path = `/buckets/${tenant}/${key}`;
  const before = p.results.length;
  if (type === 'create') await p.putObject(tenant, key, body, 'text/markdown');
  else await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: key }));
  await p.publish({ event_type: type, path, size: body.length, mime_type: 'text/markdown' });
  return eventually(`the ${type} of ${key} to start its workflow`, async () =>
    p.results
      .slice(before)
      .find((r): r is Started => r.kind === 'started' && r.event.path === path && r.event.type === type),
  );
}

async function outcomeOf(started: Started): Promise<IngestOutcome> {
  return ingestFileHandle(p.temporal, started.workflowId).result();
}

interface VectorRow {
  id: string;
  entity_id: string;
  dims: number;
  norm: number;
  provider: string;
  updated_at: Date;
}

async function vectorsOfFile(fileId: string): Promise<VectorRow[]> {
  const { rows } = await p.pool.query<VectorRow>(
    `SELECT e.id, e.entity_id, vector_dims(e.embedding_vector) AS dims,
            vector_norm(e.embedding_vector) AS norm, e.embedding_provider AS provider, e.updated_at
       FROM embeddings.resources_embeddings e JOIN resources r ON r.id = e.entity_id
      WHERE r.file_id = $1 AND e.tenant_id = $2 ORDER BY r.ordinal`,
    [fileId, tenant],
  );
  return rows;
}

async function chunkCount(fileId: string): Promise<number> {
  const { rows } = await p.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
    [fileId],
  );
  return rows[0]?.n ?? 0;
}

describe('embedding after the store (local provider)', () => {
  const key = 'notes/engine.md';
  const fileId = fileIdFor(tenant, `/buckets/${tenant}/${key}`);
  let first: VectorRow[] = [];

  it("an uploaded file's chunks get unit vectors of all-MiniLM-L6-v2; its embeddings are done", async () => {
    const outcome = await outcomeOf(await upload(key, ENGINE));
    const chunks = await chunkCount(fileId);
    expect(chunks).toBeGreaterThan(1);
    expect(outcome).toMatchObject({
      status: 'completed',
      embeddings: { status: 'done', provider: LOCAL_PROVIDER_NAME, embedded: chunks, kept: 0, rows: chunks },
    });
    first = await vectorsOfFile(fileId);
    expect(first).toHaveLength(chunks);
    for (const v of first) {
      expect(v).toMatchObject({ dims: 384, provider: LOCAL_PROVIDER_NAME });
      expect(v.norm).toBeCloseTo(1, 3);
    }
    const { rows } = await p.pool.query(
      'SELECT status, embedding_status, embedding_provider FROM files WHERE id = $1',
      [fileId],
    );
    expect(rows[0]).toEqual({
      status: 'completed',
      embedding_status: 'done',
      embedding_provider: LOCAL_PROVIDER_NAME,
    });
  });

  it('the same bytes uploaded again: stored again, embedded not at all, the vectors untouched', async () => {
    const outcome = await outcomeOf(await upload(key, ENGINE));
    const chunks = first.length;
    expect(outcome).toMatchObject({
      status: 'completed',
      embeddings: { status: 'done', embedded: 0, kept: chunks, rows: chunks },
    });
    expect(await vectorsOfFile(fileId)).toEqual(first);
  });

  it('a delete leaves no vector of the file', async () => {
    const outcome = await outcomeOf(await upload(key, '', 'delete'));
    expect(outcome).toMatchObject({ status: 'deleted' });
    expect(await vectorsOfFile(fileId)).toEqual([]);
    const { rows } = await p.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM embeddings.resources_embeddings e
        WHERE e.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM resources r WHERE r.id = e.entity_id)`,
      [tenant],
    );
    expect(rows[0]?.n).toBe(0);
  });
});

describe('embed backfill', () => {
  it('fills chunks and moments stored without vectors, and run again embeds nothing', async () => {
    const key = 'notes/later.md';
    const fileId = fileIdFor(tenant, `/buckets/${tenant}/${key}`);
    await outcomeOf(await upload(key, ENGINE.replaceAll('radiator', 'heat exchanger')));
    // As rows stored before this release (or under another provider): no vectors.
    await p.pool.query('DELETE FROM embeddings.resources_embeddings WHERE tenant_id = $1', [tenant]);
    const moment = (content: string) => ({
      name: content,
      category: null,
      content,
      summary: null,
      uri: null,
      metadata: {},
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
    await replaceMoments(p.pool, tenant, 'standup', {
      moments: [moment('We agreed to replace the thermostat'), moment('Budget review next week')],
      analysis_summary: 's',
      total_moments: 2,
    } as never as MomentBuilderResult);
    const chunks = await chunkCount(fileId);

    const run = async () => {
      const { handle } = await startEmbedBackfill(p.cfg, p.temporal, {
        tenantId: tenant,
        provider: LOCAL_PROVIDER_NAME,
        pageSize: 5,
        window: 2,
        pagesPerRun: 2,
      });
      return handle.result();
    };
    const filled = await run();
    expect(filled).toMatchObject({ done: true, embedded: chunks + 2, failedPages: 0 });
    expect(await vectorsOfFile(fileId)).toHaveLength(chunks);
    const moments = await p.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM embeddings.moments_embeddings WHERE tenant_id = $1',
      [tenant],
    );
    expect(moments.rows[0]?.n).toBe(2);
    const file = await p.pool.query('SELECT embedding_status FROM files WHERE id = $1', [fileId]);
    expect(file.rows[0]?.embedding_status).toBe('done');

    expect(await run()).toMatchObject({ done: true, embedded: 0, pages: 0, failedPages: 0 });
  });
});
