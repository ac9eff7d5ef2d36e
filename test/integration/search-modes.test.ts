/**
 * Search by meaning on the test stack's PostgreSQL 18 with pgvector: chunks and their vectors written by
 * SQL (no embedding model: vectors point along chosen axes, so the expected order is known), then
 * searchResources in text, semantic and hybrid mode. Two tenants hold the same text and the same vectors,
 * so a leak across tenants would show; a third has no vectors; a fourth has many matches (the capped count).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_COUNTED_TOTAL,
  type QueryEmbedder,
  SearchQueryError,
  searchResources,
} from '../../src/db/search.js';
import { embeddingIdFor } from '../../src/domain/ids.js';
import { reciprocalRankFusion } from '../../src/domain/rank-fusion.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { isolatedConfig, uniqueTenant } from '../support/test-stack.js';

const cfg = isolatedConfig('searchmodes');
let pool: pg.Pool;
const PROVIDER = 'test-axes-384';
const DIMS = 384;
const tenantA = uniqueTenant('modesa');
const tenantB = uniqueTenant('modesb');
const bare = uniqueTenant('modesbare');
const many = uniqueTenant('modesmany');

/** A unit vector with these weights on the first axes, 384 numbers. */
function weights(...w: number[]): number[] {
  const norm = Math.hypot(...w);
  return Array.from({ length: DIMS }, (_, i) => (w[i] ?? 0) / norm);
}
/** A unit vector along `axes` (equal parts). */
function along(...axes: number[]): number[] {
  return weights(...Array.from({ length: Math.max(...axes) + 1 }, (_, i) => (axes.includes(i) ? 1 : 0)));
}

/**
 * The chunks each of tenants A and B holds: same text, same vectors. Axis 0 is "engine cooling"; the
 * invoices chunk leans away from it (negative similarity), so it ranks last by meaning.
 */
const CHUNKS = [
  {
    key: 'cooling',
    text: 'Keep the radiator filled with coolant and check the hoses every spring.',
    vector: along(0),
  },
  {
    key: 'invoices',
    text: 'Invoices are due within thirty days of the monthly statement.',
    vector: weights(-0.3, 1),
  },
  {
    key: 'mixed',
    text: 'The invoice for the new radiator and the coolant flush came to 240 euros.',
    vector: along(0, 1),
  },
  { key: 'garden', text: 'Tomatoes want sun, water at the roots and a stake to climb.', vector: along(2) },
] as const;

/** The query's meaning: engine cooling. */
const COOLING = along(0);
const embedder = (vector: number[] = COOLING): QueryEmbedder & { calls: number } => {
  const e = {
    provider: PROVIDER,
    calls: 0,
    async embed() {
      e.calls += 1;
      return Float32Array.from(vector);
    },
  };
  return e;
};

const ids: Record<string, Record<string, string>> = {};

async function addFile(tenant: string, name: string): Promise<string> {
  const id = randomUUID();
  const path = `/buckets/${tenant}/docs/${name}`;
  await pool.query(
    `INSERT INTO files (id, tenant_id, uri, path, name, category, status) VALUES ($1, $2, $3, $3, $4, 'docs', 'completed')`,
    [id, tenant, path, name],
  );
  return id;
}

async function addChunk(tenant: string, fileId: string, ordinal: number, text: string): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO resources (id, tenant_id, file_id, name, content, ordinal, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, '{"pages": [1]}')`,
    [id, tenant, fileId, `chunk_${ordinal}`, text, ordinal],
  );
  return id;
}

async function addVector(
  tenant: string,
  entityId: string,
  vector: number[],
  provider = PROVIDER,
): Promise<void> {
  await pool.query(
    `INSERT INTO embeddings.resources_embeddings
       (id, entity_id, field_name, embedding_provider, embedding_vector, vector_dimension, tenant_id)
     VALUES ($1, $2, 'content', $3, $4::vector, $5, $6)`,
    [
      embeddingIdFor(entityId, 'content', provider),
      entityId,
      provider,
      `[${vector.join(',')}]`,
      vector.length,
      tenant,
    ],
  );
}

beforeAll(async () => {
  pool = await createTestDatabase(cfg);
  for (const tenant of [tenantA, tenantB, bare]) {
    const fileId = await addFile(tenant, 'car-and-home.md');
    ids[tenant] = {};
    for (const [ordinal, chunk] of CHUNKS.entries()) {
      const id = await addChunk(tenant, fileId, ordinal, chunk.text);
      (ids[tenant] as Record<string, string>)[chunk.key] = id;
      if (tenant !== bare) await addVector(tenant, id, [...chunk.vector]);
    }
  }
  // B alone holds a chunk that is exactly the query, in words and in meaning: A must never see it.
  const bFile = await addFile(tenantB, 'b-only.md');
  const bOnly = await addChunk(tenantB, bFile, 0, 'Engine cooling: radiator, coolant, invoice.');
  await addVector(tenantB, bOnly, COOLING);
  (ids[tenantB] as Record<string, string>).bOnly = bOnly;
  // A's garden chunk also has a vector of another provider pointing exactly at the query: never compared.
  await addVector(tenantA, ids[tenantA]?.garden as string, COOLING, 'another-model');
  // Many matches of one word, for the capped count.
  const manyFile = await addFile(many, 'ledger.md');
  await pool.query(
    `INSERT INTO resources (id, tenant_id, file_id, name, content, ordinal)
     SELECT gen_random_uuid(), $1, $2, 'line_' || i, 'budget line ' || i, i FROM generate_series(0, $3) AS i`,
    [many, manyFile, MAX_COUNTED_TOTAL + 4],
  );
}, 60_000);

afterAll(async () => {
  if (pool) await dropTestDatabase(cfg, pool);
});

const A = (key: string): string => ids[tenantA]?.[key] as string;

describe('search modes over chunk vectors (pgvector)', () => {
  it('semantic ranks by cosine similarity to the query vector: a chunk sharing no word with the query is found', async () => {
    const text = await searchResources(pool, { tenantId: tenantA, query: 'overheating motor', mode: 'text' });
    expect(text.hits).toEqual([]);
    const result = await searchResources(pool, {
      tenantId: tenantA,
      query: 'overheating motor',
      mode: 'semantic',
      embedder: embedder(),
    });
    expect(result.mode).toBe('semantic');
    expect(result.hits.map((h) => h.resourceId).slice(0, 2)).toEqual([A('cooling'), A('mixed')]);
    expect(result.hits[0]?.rank).toBeCloseTo(1, 5);
    expect(result.hits[0]?.similarity).toBeCloseTo(1, 5);
    expect(result.hits[1]?.rank).toBeCloseTo(Math.SQRT1_2, 5);
    // A chunk found by meaning alone shows its opening words; file and pages as in text mode.
    expect(result.hits[0]).toMatchObject({
      snippet: CHUNKS[0].text,
      fileName: 'car-and-home.md',
      path: `/buckets/${tenantA}/docs/car-and-home.md`,
      pages: [1],
    });
    // Only the configured provider's vectors: the garden chunk's other-provider vector equals the query.
    expect(result.hits.find((h) => h.resourceId === A('garden'))?.similarity ?? 0).toBeLessThan(0.01);
  });

  it('a vector of text the chunk no longer holds (a streamed store rewrote it in place) does not rank it', async () => {
    const tenant = uniqueTenant('modesstale');
    const fileId = await addFile(tenant, 'notes.md');
    const current = await addChunk(tenant, fileId, 0, 'Keep the radiator filled with coolant.');
    const rewritten = await addChunk(tenant, fileId, 1, 'Top up the coolant before a long drive.');
    await addVector(tenant, current, COOLING);
    await addVector(tenant, rewritten, COOLING);
    const semantic = () =>
      searchResources(pool, {
        tenantId: tenant,
        query: 'engine heat',
        mode: 'semantic',
        embedder: embedder(),
      });
    expect((await semantic()).hits.map((h) => h.resourceId).sort()).toEqual([current, rewritten].sort());
    // The row's text changes after its vector was written: the vector waits for the embed step.
    await pool.query(
      `UPDATE resources SET content = 'Tomatoes want sun.', updated_at = now() + interval '1 second' WHERE id = $1`,
      [rewritten],
    );
    expect((await semantic()).hits.map((h) => h.resourceId)).toEqual([current]);
  });

  it('hybrid fuses the text and vector ranks (RRF, k = 60): the chunk good in both comes first', async () => {
    const search = (mode: 'text' | 'semantic' | 'hybrid') =>
      searchResources(pool, { tenantId: tenantA, query: 'invoice', mode, embedder: embedder() });
    const text = await search('text');
    const semantic = await search('semantic');
    const hybrid = await search('hybrid');
    expect(semantic.hits.map((h) => h.resourceId)).toEqual([
      A('cooling'),
      A('mixed'),
      A('garden'),
      A('invoices'),
    ]);
    expect(text.hits.map((h) => h.resourceId).sort()).toEqual([A('invoices'), A('mixed')].sort());
    expect(hybrid.mode).toBe('hybrid');
    expect(hybrid.hits[0]?.resourceId).toBe(A('mixed'));
    const expected = reciprocalRankFusion([
      text.hits.map((h) => h.resourceId),
      semantic.hits.map((h) => h.resourceId),
    ]);
    expect(hybrid.hits.map((h) => h.resourceId)).toEqual(expected.map((e) => e.id));
    expect(hybrid.hits.map((h) => h.rank)).toEqual(expected.map((e) => e.score));
    const mixed = hybrid.hits[0];
    expect(mixed?.snippet).toContain('«invoice»');
    expect(mixed?.textRank).toBeGreaterThan(0);
    expect(mixed?.similarity).toBeCloseTo(Math.SQRT1_2, 5);
    // The cooling chunk has no word of the query: in hybrid by its vector alone, with its opening words.
    const cooling = hybrid.hits.find((h) => h.resourceId === A('cooling'));
    expect(cooling?.textRank).toBeUndefined();
    expect(cooling?.snippet).toBe(CHUNKS[0].text);
  });

  it('without a mode: hybrid once the tenant has vectors of the provider, else text with a note naming the backfill', async () => {
    const withVectors = await searchResources(pool, {
      tenantId: tenantA,
      query: 'invoice',
      embedder: embedder(),
    });
    expect(withVectors.mode).toBe('hybrid');
    expect(withVectors.note).toBeUndefined();

    const e = embedder();
    const noVectors = await searchResources(pool, { tenantId: bare, query: 'invoice', embedder: e });
    expect(noVectors.mode).toBe('text');
    expect(noVectors.note).toBe(
      `no vectors yet for tenant ${bare} (provider ${PROVIDER}): run \`p8fs embed backfill --tenant ${bare}\``,
    );
    expect(noVectors.hits).toHaveLength(2);
    expect(e.calls).toBe(0); // nothing to compare: the query is not embedded
    const semantic = await searchResources(pool, {
      tenantId: bare,
      query: 'invoice',
      mode: 'semantic',
      embedder: e,
    });
    expect(semantic).toMatchObject({ mode: 'semantic', total: 0, hits: [] });
    expect(semantic.note).toMatch(/no vectors yet for tenant .*p8fs embed backfill --tenant/);
    // A provider the tenant has no vectors of is the same as none.
    const other = await searchResources(pool, {
      tenantId: tenantA,
      query: 'invoice',
      embedder: { provider: 'not-this-one', embed: async () => COOLING },
    });
    expect(other.mode).toBe('text');
    expect(await searchResources(pool, { tenantId: tenantA, query: 'invoice' })).toMatchObject({
      mode: 'text',
    });
  });

  it('never across tenants: A and B hold the same text and vectors, and each sees only its own rows in every mode', async () => {
    for (const [tenant, other] of [
      [tenantA, tenantB],
      [tenantB, tenantA],
    ] as const) {
      const own = new Set(Object.values(ids[tenant] ?? {}));
      const theirs = new Set(Object.values(ids[other] ?? {}));
      for (const mode of ['text', 'semantic', 'hybrid'] as const) {
        const result = await searchResources(pool, {
          tenantId: tenant,
          query: 'radiator coolant invoice',
          mode,
          limit: 100,
          embedder: embedder(),
        });
        expect(result.hits.length, `${tenant} ${mode}`).toBeGreaterThan(0);
        for (const hit of result.hits) {
          expect(own.has(hit.resourceId), `${tenant} ${mode} ${hit.resourceId}`).toBe(true);
          expect(theirs.has(hit.resourceId)).toBe(false);
          expect(hit.path).toMatch(new RegExp(`^/buckets/${tenant}/`));
        }
      }
    }
    // B's own exact match comes first for B, and is nowhere for A.
    const b = await searchResources(pool, {
      tenantId: tenantB,
      query: 'engine cooling',
      embedder: embedder(),
    });
    expect(b.hits[0]?.resourceId).toBe(ids[tenantB]?.bOnly);
  });

  it('pages continue the same order: page 2 of hybrid is what follows page 1', async () => {
    const all = await searchResources(pool, {
      tenantId: tenantA,
      query: 'invoice',
      mode: 'hybrid',
      embedder: embedder(),
      limit: 4,
    });
    const first = await searchResources(pool, {
      tenantId: tenantA,
      query: 'invoice',
      mode: 'hybrid',
      embedder: embedder(),
      limit: 2,
    });
    const second = await searchResources(pool, {
      tenantId: tenantA,
      query: 'invoice',
      mode: 'hybrid',
      embedder: embedder(),
      limit: 2,
      offset: 2,
    });
    expect([...first.hits, ...second.hits].map((h) => h.resourceId)).toEqual(
      all.hits.map((h) => h.resourceId),
    );
    expect(all.total).toBe(4);
  });
});

describe('search cost bounded (issue 25)', () => {
  it('a query that only excludes words is refused in every mode instead of ranking the whole tenant', async () => {
    for (const query of ['-budget', 'radiator or -budget', '-budget -line']) {
      for (const mode of ['text', 'semantic', 'hybrid'] as const) {
        await expect(
          searchResources(pool, { tenantId: many, query, mode, embedder: embedder() }),
          `${query} ${mode}`,
        ).rejects.toThrow(SearchQueryError);
      }
    }
    await expect(searchResources(pool, { tenantId: many, query: '-budget' })).rejects.toThrow(
      /a search needs at least one word to find/,
    );
    // A word and an exclusion is a search.
    const fine = await searchResources(pool, { tenantId: tenantA, query: 'invoice -radiator', mode: 'text' });
    expect(fine.hits.map((h) => h.resourceId)).toEqual([A('invoices')]);
  });

  it(`counts matches up to ${MAX_COUNTED_TOTAL}, then says so (totalCapped), while pages still come back`, async () => {
    const result = await searchResources(pool, { tenantId: many, query: 'budget', limit: 5, offset: 20 });
    expect(result).toMatchObject({ total: MAX_COUNTED_TOTAL, totalCapped: true, limit: 5, offset: 20 });
    expect(result.hits).toHaveLength(5);
    const few = await searchResources(pool, { tenantId: tenantA, query: 'invoice', mode: 'text' });
    expect(few.total).toBe(2);
    expect(few.totalCapped).toBeUndefined();
  });

  it('semantic and hybrid need an embedder; a bad mode is refused', async () => {
    await expect(
      searchResources(pool, { tenantId: tenantA, query: 'invoice', mode: 'semantic' }),
    ).rejects.toThrow(/semantic search needs an embedding provider/);
    await expect(
      searchResources(pool, { tenantId: tenantA, query: 'invoice', mode: 'fuzzy' as 'text' }),
    ).rejects.toThrow(/mode must be one of text, semantic, hybrid/);
  });
});
