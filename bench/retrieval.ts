/**
 * Search quality, measured: the corpus of bench/retrieval/corpus (35 manual pages, distinct subjects) goes
 * into a fresh tenant through the real pipeline on the test stack (S3 → JetStream → bridge → Temporal →
 * storage workers, which store and embed), then every labelled question (bench/retrieval/questions.json)
 * is asked in each search mode. Printed per mode and question kind (paraphrased / in the document's own
 * words): recall@5 (the answer's document among the first 5 hits), section recall@5 (a hit from the
 * labelled section among them) and MRR over the first 10 hits; per question, the share of its words the
 * answer's document holds (stemmed as the full-text index stems them) and its rank in each mode.
 * The result goes to docs/PERFORMANCE.md (through bench/run.ts) and between markers in docs/SEARCH.md.
 *
 * Run: npx tsx bench/retrieval.ts   (brings the test stack up; needs the embedding model installed)
 * Exported for bench/run.ts: runRetrievalBench().
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { embeddingProviderFromConfig } from '../src/providers/embeddings/index.js';
import { stackUp } from '../src/stack/stack.js';
import { createPipeline, type Pipeline } from '../test/support/pipeline.js';
import { isolatedEnv, testStackConfig, uniqueTenant } from '../test/support/test-stack.js';
import { percentile } from './e2e/runs.js';
import { type BenchSection, errorMessage, fixed, markdownTable, progress } from './lib.js';
import {
  CORPUS_DIR,
  type CorpusDocument,
  loadManifest,
  loadQuestions,
  type Outcome,
  outcomeOf,
  type Question,
  summarize,
} from './retrieval/metrics.js';
import { queryEmbedder, SEARCH_MODES, type SearchMode, searchTopHits } from './retrieval/search-modes.js';

const K = 5;
const DEPTH = 10;
const SEARCH_DOC = path.resolve(process.cwd(), 'docs', 'SEARCH.md');
const MARK_START = '<!-- retrieval:start -->';
const MARK_END = '<!-- retrieval:end -->';
const STUCK_MS = 180_000;

interface Asked extends Outcome {
  ms: number;
}

/** Uploads every corpus file and publishes its event; resolves when all are completed with vectors. */
async function ingestCorpus(p: Pipeline, tenant: string, docs: CorpusDocument[], provider: string) {
  const t0 = Date.now();
  for (const d of docs) {
    const body = readFileSync(path.join(CORPUS_DIR, d.file));
    const key = `manuals/${d.file}`;
    await p.putObject(tenant, key, body, 'text/markdown');
    await p.publish({
      event_type: 'create',
      path: `/buckets/${tenant}/${key}`,
      size: body.length,
      mime_type: 'text/markdown',
    });
  }
  let seen = '';
  let lastChange = Date.now();
  for (;;) {
    await sleep(500);
    const { rows } = await p.pool.query<{
      completed: number;
      failed: number;
      chunks: number;
      vectors: number;
    }>(
      `SELECT (SELECT count(*) FROM files WHERE tenant_id = $1 AND status = 'completed')::int AS completed,
              (SELECT count(*) FROM files WHERE tenant_id = $1 AND status = 'failed')::int AS failed,
              (SELECT count(*) FROM resources WHERE tenant_id = $1)::int AS chunks,
              (SELECT count(*) FROM resources r WHERE r.tenant_id = $1 AND EXISTS (
                 SELECT 1 FROM embeddings.resources_embeddings e
                  WHERE e.entity_id = r.id AND e.embedding_provider = $2))::int AS vectors`,
      [tenant, provider],
    );
    const now = rows[0] ?? { completed: 0, failed: 0, chunks: 0, vectors: 0 };
    if (now.failed > 0) throw new Error(`${now.failed} corpus file(s) failed to ingest in ${tenant}`);
    if (now.completed === docs.length && now.chunks > 0 && now.vectors === now.chunks)
      return { chunks: now.chunks, seconds: (Date.now() - t0) / 1000 };
    const state = `${now.completed}/${now.vectors}`;
    if (state !== seen) {
      seen = state;
      lastChange = Date.now();
      progress(
        `retrieval: ${now.completed}/${docs.length} files completed, ${now.vectors}/${now.chunks} chunks embedded`,
      );
    }
    if (Date.now() - lastChange > STUCK_MS)
      throw new Error(
        `retrieval: ingestion stuck for ${STUCK_MS / 1000} s (${state} of ${docs.length} files/chunks)`,
      );
  }
}

/** How many of the question's stemmed words (english configuration) the answer's document holds. */
async function overlapOf(pool: pg.Pool, question: Question): Promise<{ shared: number; words: number }> {
  const text = readFileSync(path.join(CORPUS_DIR, question.doc), 'utf8');
  const { rows } = await pool.query<{ shared: number; words: number }>(
    `WITH q AS (SELECT unnest(tsvector_to_array(to_tsvector('english', $1))) AS w),
          d AS (SELECT unnest(tsvector_to_array(to_tsvector('english', $2))) AS w)
     SELECT (SELECT count(*) FROM q WHERE w IN (SELECT w FROM d))::int AS shared, (SELECT count(*) FROM q)::int AS words`,
    [question.question, text],
  );
  return rows[0] ?? { shared: 0, words: 0 };
}

function rankCell(o: Asked | undefined): string {
  if (!o) return '?';
  return o.rank === undefined ? '–' : String(o.rank);
}

function render(asked: Asked[], overlaps: Map<string, { shared: number; words: number }>, facts: string[]) {
  const modes = [...SEARCH_MODES];
  const rows = summarize(asked, modes, K);
  const summary = markdownTable(
    ['mode', 'questions', 'kind', `recall@${K}`, `section recall@${K}`, `MRR@${DEPTH}`, 'p50 ms'],
    ['l', 'r', 'l', 'r', 'r', 'r', 'r'],
    rows.map((r) => [
      r.mode,
      String(r.questions),
      r.kind,
      fixed(r.recall),
      fixed(r.sectionRecall),
      fixed(r.mrr),
      fixed(
        percentile(
          asked
            .filter((a) => a.mode === r.mode && (r.kind === 'all' || a.question.kind === r.kind))
            .map((a) => a.ms),
          50,
        ),
        0,
      ),
    ]),
  );
  const questions = [...new Map(asked.map((a) => [a.question.id, a.question])).values()];
  const perQuestion = markdownTable(
    ['id', 'kind', 'answer', 'words in answer', ...modes.map((m) => `rank ${m}`), 'question'],
    ['l', 'l', 'l', 'r', ...modes.map(() => 'r' as const), 'l'],
    questions.map((q) => {
      const o = overlaps.get(q.id);
      return [
        q.id,
        q.kind,
        q.doc.replace(/\.md$/, ''),
        o ? `${o.shared}/${o.words}` : '?',
        ...modes.map((m) => rankCell(asked.find((a) => a.question.id === q.id && a.mode === m))),
        q.question,
      ];
    }),
  );
  const get = (mode: SearchMode, kind: string) => rows.find((r) => r.mode === mode && r.kind === kind);
  const hybrid = get('hybrid', 'paraphrase')?.recall ?? Number.NaN;
  const text = get('text', 'paraphrase')?.recall ?? Number.NaN;
  const met = hybrid >= 0.8 && hybrid - text >= 0.25;
  const interpretation =
    `on paraphrased questions hybrid recall@${K} is ${fixed(hybrid)} against text ${fixed(text)} ` +
    `(semantic ${fixed(get('semantic', 'paraphrase')?.recall ?? Number.NaN)}; MRR hybrid ${fixed(get('hybrid', 'paraphrase')?.mrr ?? Number.NaN)}, ` +
    `text ${fixed(get('text', 'paraphrase')?.mrr ?? Number.NaN)}); in the documents' own words hybrid ${fixed(get('hybrid', 'shared')?.recall ?? Number.NaN)}, ` +
    `text ${fixed(get('text', 'shared')?.recall ?? Number.NaN)}. Target (hybrid ≥ 0.80 and ≥ 0.25 above text on paraphrases): ${met ? 'met' : 'NOT met'}.`;
  const table = [
    summary,
    '',
    `Per question: "words in answer" is how many of the question's stemmed words (english configuration, stop words ` +
      `dropped) the answer's document holds; a rank is the position of the first hit from the answer's document ` +
      `among the first ${DEPTH} hits (– when none).`,
    '',
    perQuestion,
    '',
    ...facts,
  ].join('\n');
  return { table, interpretation };
}

/** Replaces (or appends) the marked block in docs/SEARCH.md. */
function writeSearchDoc(block: string): void {
  if (!existsSync(SEARCH_DOC)) return;
  const doc = readFileSync(SEARCH_DOC, 'utf8');
  const marked = `${MARK_START}\n${block.trim()}\n${MARK_END}`;
  const start = doc.indexOf(MARK_START);
  const end = doc.indexOf(MARK_END);
  const next =
    start >= 0 && end > start
      ? `${doc.slice(0, start)}${marked}${doc.slice(end + MARK_END.length)}`
      : `${doc.trimEnd()}\n\n## Quality, measured\n\n${marked}\n`;
  writeFileSync(SEARCH_DOC, next);
}

export async function runRetrievalBench(): Promise<BenchSection> {
  const title = 'Search quality: recall@5 and MRR per mode';
  const docs = loadManifest();
  const questions = loadQuestions(docs);
  if (process.env.P8FS_TEST_STACK !== 'external')
    await stackUp(testStackConfig(), (line) => progress(`retrieval: test stack: ${line}`));
  const env = isolatedEnv('retrieval', { P8FS_EMBEDDINGS_ENABLED: 'true' });
  const cfg = loadConfig(env);
  const provider = embeddingProviderFromConfig(cfg);
  const p = await createPipeline('retrieval', {}, env);
  const tenant = uniqueTenant('retrieval');
  try {
    await p.startWorkers(['small']);
    await p.startBridge();
    progress(
      `retrieval: ingesting ${docs.length} documents into ${tenant} (store and embed, ${provider.name})`,
    );
    const ingested = await ingestCorpus(p, tenant, docs, provider.name);
    progress(`retrieval: ${ingested.chunks} chunks stored and embedded in ${ingested.seconds.toFixed(0)} s`);
    const overlaps = new Map<string, { shared: number; words: number }>();
    for (const q of questions) overlaps.set(q.id, await overlapOf(p.pool, q));
    const embedder = queryEmbedder(cfg);
    const asked: Asked[] = [];
    for (const q of questions)
      for (const mode of SEARCH_MODES) {
        const t0 = performance.now();
        const hits = await searchTopHits(p.pool, embedder, {
          tenantId: tenant,
          query: q.question,
          mode,
          limit: DEPTH,
        });
        asked.push({ ...outcomeOf(q, mode, hits), ms: performance.now() - t0 });
      }
    const facts = [
      `Corpus: ${docs.length} manual pages rendered to Markdown (bench/retrieval/manifest.json: source and licence of ` +
        `each), ${ingested.chunks} chunks (P8FS_CHUNK_TOKENS ${cfg.chunking.maxTokens}, overlap ` +
        `${cfg.chunking.overlapTokens}), embedded by ${provider.name} (${provider.dimensions} dimensions) ` +
        `through the ingestion pipeline in ${ingested.seconds.toFixed(0)} s; ${questions.length} questions ` +
        `(${questions.filter((q) => q.kind === 'paraphrase').length} paraphrased, ` +
        `${questions.filter((q) => q.kind === 'shared').length} in the documents' own words), each asked once per mode ` +
        `(p50 ms includes embedding the question for semantic and hybrid).`,
    ];
    const { table, interpretation } = render(asked, overlaps, facts);
    writeSearchDoc(`${table}\n\n**Reading:** ${interpretation}`);
    return {
      title,
      compared: `text, semantic and hybrid search (${SEARCH_MODES.join(', ')}) on the same tenant and questions.`,
      table,
      interpretation,
      notMeasured: [],
    };
  } finally {
    await p.close();
  }
}

if (import.meta.url === pathToFileURL(path.resolve(process.argv[1] ?? '')).href) {
  runRetrievalBench()
    .then((s) => console.log(`${s.table}\n\n${s.interpretation}`))
    .catch((error) => {
      console.error(errorMessage(error));
      process.exitCode = 1;
    })
    .finally(() => process.exit());
}
