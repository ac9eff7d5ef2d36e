/**
 * The search mode through the HTTP API (`mode` query parameter) and the CLI (`p8fs search --mode`), with
 * the `openai` embedding provider pointed at a loopback stand-in for its API (test/support/
 * loopback-openai.ts), so the query really is embedded by the configured provider. Chunks and vectors
 * are written by SQL: one chunk's vector is the embedding of the question, which shares no word with it.
 * Two tenants hold the same text and vectors, each seen only with its own key.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDeps } from '../../src/api/deps.js';
import { createApiKey } from '../../src/api/keys.js';
import { buildApiServer } from '../../src/api/server.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { embeddingIdFor } from '../../src/domain/ids.js';
import { embeddingProviderFromConfig } from '../../src/providers/embeddings/index.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { type LoopbackOpenAi, startLoopbackOpenAi } from '../support/loopback-openai.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const QUESTION = 'what to do when the engine runs hot';
const COOLING = 'Keep the radiator filled with coolant and check the hoses every spring.';
const INVOICES = 'Invoices are due within thirty days of the monthly statement.';

let lb: LoopbackOpenAi;
let env: Record<string, string | undefined>;
let cfg: Config;
let pool: pg.Pool;
let app: FastifyInstance;
const tenantA = uniqueTenant('apimodea');
const tenantB = uniqueTenant('apimodeb');
const keys: Record<string, string> = {};
const cooling: Record<string, string> = {};
let provider: string;

async function addChunkWithVector(
  tenant: string,
  fileId: string,
  ordinal: number,
  text: string,
  vector: Float32Array,
) {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO resources (id, tenant_id, file_id, name, content, ordinal) VALUES ($1, $2, $3, $4, $5, $6)`,
    [id, tenant, fileId, `notes_chunk_${ordinal}`, text, ordinal],
  );
  await pool.query(
    `INSERT INTO embeddings.resources_embeddings
       (id, entity_id, field_name, embedding_provider, embedding_vector, vector_dimension, tenant_id)
     VALUES ($1, $2, 'content', $3, $4::vector, $5, $6)`,
    [
      embeddingIdFor(id, 'content', provider),
      id,
      provider,
      `[${Array.from(vector).join(',')}]`,
      vector.length,
      tenant,
    ],
  );
  return id;
}

beforeAll(async () => {
  lb = await startLoopbackOpenAi(() => 'unused');
  env = isolatedEnv('searchapicli', {
    P8FS_EMBEDDING_PROVIDER: 'openai',
    P8FS_EMBEDDING_BASE_URL: lb.baseUrl,
    P8FS_EMBEDDING_API_KEY: 'sk-loopback',
    P8FS_EMBEDDING_DIMENSIONS: '384',
  });
  cfg = loadConfig(env);
  pool = await createTestDatabase(cfg);
  const embedder = embeddingProviderFromConfig(cfg);
  provider = embedder.name;
  // The cooling chunk's vector is the question's: by meaning it is the answer, by words it is not.
  const [question, invoices] = await embedder.embed([QUESTION, INVOICES]);
  for (const tenant of [tenantA, tenantB]) {
    const fileId = randomUUID();
    await pool.query(
      `INSERT INTO files (id, tenant_id, uri, path, name, category, status)
       VALUES ($1, $2, $3, $3, 'notes.md', 'docs', 'completed')`,
      [fileId, tenant, `/buckets/${tenant}/docs/notes.md`],
    );
    cooling[tenant] = await addChunkWithVector(tenant, fileId, 0, COOLING, question as Float32Array);
    await addChunkWithVector(tenant, fileId, 1, INVOICES, invoices as Float32Array);
    keys[tenant] = (await createApiKey(pool, tenant, 'search modes')).key;
  }
  // Only the pool and the config are used by /v1/search; the rest would fail loudly if touched.
  const unused = new Proxy(
    {},
    {
      get: () => {
        throw new Error('not used by search');
      },
    },
  );
  app = await buildApiServer(
    {
      cfg,
      pool,
      s3: unused,
      presignS3: unused,
      js: unused,
      jsm: unused,
      temporal: unused,
    } as unknown as ApiDeps,
    { version: 'test' },
  );
}, 60_000);

afterAll(async () => {
  await app?.close();
  if (pool) await dropTestDatabase(cfg, pool);
  await lb?.close();
});

async function search(tenant: string, query: Record<string, string>) {
  const res = await app.inject({
    method: 'GET',
    url: '/v1/search',
    query,
    headers: { authorization: `Bearer ${keys[tenant]}` },
  });
  return {
    status: res.statusCode,
    body: res.json() as Record<string, unknown> & { hits?: Record<string, unknown>[] },
  };
}

describe('GET /v1/search?mode=', () => {
  it('semantic finds the chunk by meaning; text does not; the default is hybrid once the tenant has vectors', async () => {
    const semantic = await search(tenantA, { q: QUESTION, mode: 'semantic' });
    expect(semantic.status).toBe(200);
    expect(semantic.body.mode).toBe('semantic');
    expect(semantic.body.hits?.[0]).toMatchObject({ resourceId: cooling[tenantA], snippet: COOLING });
    expect(semantic.body.hits?.[0]?.rank as number).toBeCloseTo(1, 4);

    const text = await search(tenantA, { q: QUESTION, mode: 'text' });
    expect(text.body).toMatchObject({ mode: 'text', total: 0, hits: [] });

    const byDefault = await search(tenantA, { q: QUESTION });
    expect(byDefault.body.mode).toBe('hybrid');
    expect(byDefault.body.hits?.[0]?.resourceId).toBe(cooling[tenantA]);
  });

  it('each key sees only its tenant, in every mode, though both hold the same text and vectors', async () => {
    for (const [tenant, other] of [
      [tenantA, tenantB],
      [tenantB, tenantA],
    ] as const) {
      for (const mode of ['text', 'semantic', 'hybrid']) {
        const res = await search(tenant, { q: 'radiator or invoices', mode, limit: '100' });
        expect(res.status).toBe(200);
        const paths = (res.body.hits ?? []).map((h) => h.path);
        expect(paths.length, `${tenant} ${mode}`).toBeGreaterThan(0);
        expect(paths.every((p) => p === `/buckets/${tenant}/docs/notes.md`)).toBe(true);
        expect((res.body.hits ?? []).some((h) => h.resourceId === cooling[other])).toBe(false);
      }
    }
  });

  it('a query that only excludes words is a 400 saying a search needs a word; an unknown mode is a 400', async () => {
    const negated = await search(tenantA, { q: '-radiator' });
    expect(negated.status).toBe(400);
    expect(String(negated.body.detail)).toMatch(/a search needs at least one word to find/);
    const mode = await search(tenantA, { q: 'radiator', mode: 'fuzzy' });
    expect(mode.status).toBe(400);
    expect(String(mode.body.detail)).toMatch(/mode/);
  });

  it('an embedding provider that fails: semantic asked by name is a 503, the default falls back to text with a note', async () => {
    lb.embeddingReplies.push({ status: 401, raw: { error: { message: 'Incorrect API key provided' } } });
    const named = await search(tenantA, { q: 'radiator', mode: 'semantic' });
    expect(named.status).toBe(503);
    lb.embeddingReplies.push({ status: 401, raw: { error: { message: 'Incorrect API key provided' } } });
    const fallback = await search(tenantA, { q: 'radiator' });
    expect(fallback.status).toBe(200);
    expect(fallback.body.mode).toBe('text');
    expect(String(fallback.body.note)).toMatch(/could not be embedded .*searched by words only/);
    expect(fallback.body.hits?.[0]?.resourceId).toBe(cooling[tenantA]);
  });
});

describe('p8fs search --mode', () => {
  it('semantic, text and hybrid from the command line; a bad mode and an excluded-only query are errors', async () => {
    const semantic = await runCliInProcess(
      ['search', QUESTION, '--tenant', tenantA, '--mode', 'semantic', '--json'],
      env,
    );
    expect(semantic.code).toBe(0);
    const parsed = JSON.parse(semantic.stdout) as { mode: string; hits: { resourceId: string }[] };
    expect(parsed.mode).toBe('semantic');
    expect(parsed.hits[0]?.resourceId).toBe(cooling[tenantA]);

    const hybrid = await runCliInProcess(['search', QUESTION, '--tenant', tenantA], env);
    expect(hybrid.code).toBe(0);
    expect(hybrid.stdout.split('\n')[0]).toMatch(
      new RegExp(`^2 hits for "${QUESTION}" in tenant ${tenantA}, hybrid search`),
    );
    expect(hybrid.stdout).toMatch(
      /1\. \/buckets\/.*notes\.md · chunk 0 {2}\(rrf [\d.]+, similarity 1\.000\)/,
    );

    const text = await runCliInProcess(['search', QUESTION, '--tenant', tenantA, '--mode', 'text'], env);
    expect(text.stdout).toMatch(/^no hits for .* \(text search, searched as/);

    // commander refuses the value before our code runs (its message and choices: docs/CLI.md, cli-help).
    const bad = await runCliInProcess(['search', 'radiator', '--tenant', tenantA, '--mode', 'fuzzy'], env);
    expect(bad.code).not.toBe(0);

    // After `--` a leading '-' is the query's, not an option.
    const negated = await runCliInProcess(['search', '--tenant', tenantA, '--', '-radiator'], env);
    expect(negated.code).toBe(1);
    expect(negated.stderr).toMatch(/a search needs at least one word to find/);
  });
});
