/**
 * Hybrid search latency at scale: one tenant holding 10,000 chunks (and, with P8FS_BENCH_1M=1, 100,000 and
 * 1,000,000), generated in SQL in a fresh, migrated database on the test-stack PostgreSQL: each chunk 60
 * words drawn (skewed towards the frequent) from the retrieval corpus's vocabulary, so the full-text side
 * ranks real English stems, and a random 384-dimensional vector (uniform in [-0.5, 0.5) per dimension; the
 * vector side's cost does not depend on what the vectors mean, its recall does, which is
 * bench/retrieval.ts's subject). The product's cosine index (migration 0009's HNSW definition, read from
 * the database) is dropped before loading and built again after, timed: that is the build time reported.
 * The retrieval questions (natural phrasings) are then asked through the product's hybrid search, each
 * once after a warm-up, and p50/p95 reported (query embedding included, and shown apart).
 *
 * If the HNSW build of the largest size exceeds P8FS_BENCH_HNSW_MAX_MINUTES (default 20), it is cancelled
 * and an IVFFlat index (lists = √rows) on the same expression is built instead, and the table says so.
 *
 * Run: npx tsx bench/search-latency.ts   (P8FS_BENCH_1M=1 for the large sizes: tens of minutes, ~6 GB disk)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import type { Config } from '../src/config/config.js';
import { embeddingProviderFromConfig } from '../src/providers/embeddings/index.js';
import { createTestDatabase, dropTestDatabase } from '../test/support/database.js';
import { isolatedConfig } from '../test/support/test-stack.js';
import { percentile } from './e2e/runs.js';
import { type BenchSection, errorMessage, fixed, int, markdownTable, progress } from './lib.js';
import { CORPUS_DIR, loadManifest, loadQuestions } from './retrieval/metrics.js';
import { queryEmbedder, searchTopHits } from './retrieval/search-modes.js';

const INDEX = 'resources_embeddings_cosine_384';
const CHUNKS_PER_FILE = 100;
const BATCH_FILES = 50;
const WORDS_PER_CHUNK = 60;
const DIMENSIONS = 384;

interface SizeResult {
  chunks: number;
  loadSeconds: number;
  index: string;
  buildSeconds: number;
  p50: number;
  p95: number;
  embedP50: number;
  queries: number;
  note?: string;
}

/** Distinct lower-case words of 3+ letters in the retrieval corpus, most frequent first. */
function vocabulary(): string[] {
  const counts = new Map<string, number>();
  for (const f of readdirSync(CORPUS_DIR))
    for (const w of readFileSync(path.join(CORPUS_DIR, f), 'utf8')
      .toLowerCase()
      .match(/[a-z]{3,}/g) ?? [])
      counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([w]) => w);
}

/** Loads `chunks` synthetic chunks and their vectors into `tenant`, two connections at a time. */
async function load(pool: pg.Pool, tenant: string, chunks: number, provider: string, vocab: string[]) {
  const hasHash = (
    await pool.query(
      `SELECT 1 FROM information_schema.columns WHERE table_schema = 'embeddings'
         AND table_name = 'resources_embeddings' AND column_name = 'content_hash'`,
    )
  ).rowCount;
  const files = Math.ceil(chunks / CHUNKS_PER_FILE);
  const batches: [number, number][] = [];
  for (let i = 0; i < files; i += BATCH_FILES) batches.push([i, Math.min(files, i + BATCH_FILES) - 1]);
  let next = 0;
  let done = 0;
  const lane = async () => {
    for (let b = next++; b < batches.length; b = next++) {
      const [from, to] = batches[b] as [number, number];
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const ids = await client.query<{ id: string }>(
          `INSERT INTO files (id, tenant_id, uri, path, name, category, status, chunk_count)
           SELECT gen_random_uuid(), $1, 's3://' || $1 || '/synthetic/f' || i || '.md',
                  '/buckets/' || $1 || '/synthetic/f' || i || '.md', 'f' || i || '.md', 'synthetic', 'completed', $4
             FROM generate_series($2::int, $3::int) i RETURNING id`,
          [tenant, from, to, CHUNKS_PER_FILE],
        );
        // The sub-selects name the outer row (0 * o) so they are evaluated per chunk, not once.
        await client.query(
          `INSERT INTO resources (id, tenant_id, file_id, name, category, content, ordinal)
           SELECT gen_random_uuid(), $1, f, 'f_chunk_' || o, 'synthetic',
                  (SELECT string_agg(($2::text[])[1 + floor(power(random(), 2) * $3)::int], ' ')
                     FROM generate_series(1, $4::int + 0 * o)), o
             FROM unnest($5::uuid[]) f, generate_series(0, $6::int - 1) o`,
          [tenant, vocab, vocab.length, WORDS_PER_CHUNK, ids.rows.map((r) => r.id), CHUNKS_PER_FILE],
        );
        await client.query(
          `INSERT INTO embeddings.resources_embeddings
             (id, entity_id, field_name, embedding_provider, embedding_vector, vector_dimension, tenant_id${hasHash ? ', content_hash' : ''})
           SELECT gen_random_uuid(), r.id, 'content', $2,
                  (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, $3::int + 0 * r.ordinal))::vector,
                  $3, $1${hasHash ? ', md5(r.content)' : ''}
             FROM resources r WHERE r.file_id = ANY($4::uuid[])`,
          [tenant, provider, DIMENSIONS, ids.rows.map((r) => r.id)],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
      done += (to - from + 1) * CHUNKS_PER_FILE;
      if (b % 20 === 0)
        progress(`search latency: ${int(Math.min(done, chunks))}/${int(chunks)} chunks loaded`);
    }
  };
  await Promise.all([lane(), lane()]);
}

/** Builds the product's index again (HNSW), or IVFFlat when HNSW exceeds `maxMs`; returns what was built. */
async function buildIndex(pool: pg.Pool, definition: string, rows: number, maxMs: number) {
  const client = await pool.connect();
  try {
    await client.query(`SET maintenance_work_mem = '4GB'`);
    await client.query('SET max_parallel_maintenance_workers = 1');
    await client.query(`SET statement_timeout = ${Math.round(maxMs)}`);
    const t0 = performance.now();
    try {
      await client.query(definition);
      const settings = /WITH \(([^)]*)\)/.exec(definition)?.[1] ?? 'defaults';
      return { index: `HNSW (${settings}), cosine`, seconds: (performance.now() - t0) / 1000 };
    } catch (error) {
      if ((error as { code?: string }).code !== '57014') throw error;
      const lists = Math.max(1, Math.round(Math.sqrt(rows)));
      const ivf = definition
        .replace(/USING hnsw/i, 'USING ivfflat')
        .replace(/WITH \([^)]*\)/, `WITH (lists = ${lists})`);
      await client.query('SET statement_timeout = 0');
      const t1 = performance.now();
      await client.query(ivf);
      return {
        index: `IVFFlat (lists = ${lists}, probes = session default), cosine`,
        seconds: (performance.now() - t1) / 1000,
        note: `HNSW did not finish within ${fixed(maxMs / 60_000, 0)} min and was cancelled`,
      };
    }
  } finally {
    client.release();
  }
}

async function measureSize(cfg: Config, chunks: number, vocab: string[], queries: string[], maxMs: number) {
  const dbCfg = isolatedConfig(`lat${chunks}`);
  const pool = await createTestDatabase(dbCfg);
  const tenant = `t-latency-${chunks}`;
  try {
    const provider = embeddingProviderFromConfig(cfg);
    const def = await pool.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE indexname = $1`,
      [INDEX],
    );
    const definition = def.rows[0]?.indexdef;
    if (!definition) throw new Error(`index ${INDEX} not found: is migration 0009 applied?`);
    await pool.query(`DROP INDEX embeddings.${INDEX}`);
    const t0 = performance.now();
    await load(pool, tenant, chunks, provider.name, vocab);
    await pool.query('ANALYZE files, resources, embeddings.resources_embeddings');
    const loadSeconds = (performance.now() - t0) / 1000;
    progress(
      `search latency: ${int(chunks)} chunks loaded in ${loadSeconds.toFixed(0)} s; building the index`,
    );
    const built = await buildIndex(pool, definition, chunks, maxMs);
    progress(`search latency: ${built.index} built in ${built.seconds.toFixed(0)} s`);
    const embedder = queryEmbedder(cfg);
    const embedMs: number[] = [];
    for (const q of queries.slice(0, 3))
      await searchTopHits(pool, embedder, { tenantId: tenant, query: q, mode: 'hybrid', limit: 10 });
    const times: number[] = [];
    for (const q of queries) {
      const e0 = performance.now();
      await provider.embed([q]);
      embedMs.push(performance.now() - e0);
      const t1 = performance.now();
      await searchTopHits(pool, embedder, { tenantId: tenant, query: q, mode: 'hybrid', limit: 10 });
      times.push(performance.now() - t1);
    }
    return {
      chunks,
      loadSeconds,
      index: built.index,
      buildSeconds: built.seconds,
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      embedP50: percentile(embedMs, 50),
      queries: queries.length,
      note: built.note,
    } satisfies SizeResult;
  } finally {
    await dropTestDatabase(dbCfg, pool);
  }
}

export async function runSearchLatencyBench(cfg: Config): Promise<BenchSection> {
  const large = process.env.P8FS_BENCH_1M === '1';
  const sizes = large ? [10_000, 100_000, 1_000_000] : [10_000];
  const maxMs = Number(process.env.P8FS_BENCH_HNSW_MAX_MINUTES ?? 20) * 60_000;
  const vocab = vocabulary();
  const queries = loadQuestions(loadManifest()).map((q) => q.question);
  const results: SizeResult[] = [];
  for (const chunks of sizes) {
    progress(`search latency: ${int(chunks)} chunks`);
    results.push(await measureSize(cfg, chunks, vocab, queries, maxMs));
  }
  const table = markdownTable(
    [
      'chunks (one tenant)',
      'load s',
      'index',
      'build s',
      'hybrid p50 ms',
      'hybrid p95 ms',
      'of which embedding the query, p50 ms',
      'queries',
    ],
    ['r', 'r', 'l', 'r', 'r', 'r', 'r', 'r'],
    results.map((r) => [
      int(r.chunks),
      fixed(r.loadSeconds, 0),
      r.note ? `${r.index} (${r.note})` : r.index,
      fixed(r.buildSeconds, 0),
      fixed(r.p50, 0),
      fixed(r.p95, 0),
      fixed(r.embedP50, 0),
      String(r.queries),
    ]),
  );
  const reading = results
    .map((r) => `${int(r.chunks)} chunks: p50 ${fixed(r.p50, 0)} ms, p95 ${fixed(r.p95, 0)} ms`)
    .join('; ');
  return {
    title: 'Hybrid search latency at 10k and 1M chunks',
    compared:
      'the product hybrid search (full-text and vector ranks fused) over synthetic chunks of one tenant, generated in SQL ' +
      `(${WORDS_PER_CHUNK} corpus words and a random ${DIMENSIONS}-dimensional vector each), with the product's cosine index built after loading.`,
    table,
    interpretation: `${reading}.`,
    notMeasured: large
      ? []
      : ['100,000 and 1,000,000 chunks: set P8FS_BENCH_1M=1 (tens of minutes and ~6 GB of disk on 2 cores).'],
  };
}

if (import.meta.url === pathToFileURL(path.resolve(process.argv[1] ?? '')).href) {
  const { testStackConfig } = await import('../test/support/test-stack.js');
  runSearchLatencyBench(testStackConfig())
    .then((s) => console.log(`${s.table}\n\n${s.interpretation}`))
    .catch((error) => {
      console.error(errorMessage(error));
      process.exitCode = 1;
    })
    .finally(() => process.exit());
}
