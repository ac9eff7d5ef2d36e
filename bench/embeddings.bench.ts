/**
 * The `local` embedding provider against the bare ONNX Runtime session it is built on, side by side in
 * one run on the same batches: the chunks our chunker makes of the samples (Sample.md, diary_sample.md,
 * Sample.docx, each chunk cut to the model's 256 tokens as the provider does). The provider's time
 * includes tokenizing, batching by length, tensors, pooling and normalising; the bare session's only
 * `session.run` on tensors built beforehand from the provider's own batches. Read: provider ÷ bare
 * (target ≥ 0.8), per thread count. Memory: the resident set of a fresh Node process before and after
 * loading the model and embedding 32 texts of 256 tokens, and its peak (a child process, so nothing else this bench loaded counts).
 *
 * Run alone: npx tsx bench/embeddings.bench.ts   (needs scripts/install-embedding-model.sh)
 * Exported for bench/run.ts: runEmbeddingsBench().
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/config.js';
import { chunkDocument } from '../src/domain/chunking.js';
import type { ExtractedDocument } from '../src/domain/content.js';
import {
  batchTensors,
  lengthBatches,
  loadModel,
  localEmbeddingProvider,
  tokenIds,
} from '../src/providers/embeddings/local.js';
import {
  type BenchSection,
  fixed,
  int,
  isEntryPoint,
  markdownTable,
  median,
  progress,
  samplesDir,
} from './lib.js';

const DOCUMENTS = ['content/Sample.md', 'content/diary_sample.md', 'content/Sample.docx'];
const ROUNDS = 3;
const MiB = 1024 * 1024;

async function benchChunks(): Promise<string[]> {
  const { extractFile, pickProvider } = await import('../src/providers/index.js');
  const { chunking } = loadConfig({});
  const texts: string[] = [];
  for (const name of DOCUMENTS) {
    const provider = pickProvider(undefined, name);
    if (!provider) continue;
    const doc: ExtractedDocument = await extractFile(provider, path.join(samplesDir(), name));
    texts.push(...chunkDocument(doc, chunking).map((c) => c.text));
  }
  if (texts.length === 0) throw new Error(`no sample text found under ${samplesDir()}`);
  return texts;
}

interface Row {
  threads: number;
  texts: number;
  tokens: number;
  providerRate: number;
  bareRate: number;
}

async function measure(texts: string[], threads: number, modelDir: string, batchSize: number): Promise<Row> {
  const provider = localEmbeddingProvider({ modelDir, threads, batchSize });
  // The bare side: its own session with the same options, fed the provider's batches as tensors.
  const model = await loadModel(modelDir, threads);
  const ort = await import('onnxruntime-node');
  const ids = texts.map((t) => tokenIds(model, t));
  const feeds = lengthBatches(ids, batchSize).map((batch) => {
    const { rows, cols, inputIds, mask, typeIds } = batchTensors(
      batch.map((i) => ids[i] ?? []),
      model.padId,
    );
    return {
      input_ids: new ort.Tensor('int64', inputIds, [rows, cols]),
      attention_mask: new ort.Tensor('int64', mask, [rows, cols]),
      token_type_ids: new ort.Tensor('int64', typeIds, [rows, cols]),
    };
  });
  const bare = async () => {
    for (const feed of feeds) {
      const out = await model.session.run(feed);
      for (const t of Object.values(out)) t.dispose();
    }
  };
  const ours = () => provider.embed(texts);
  await ours(); // loads the provider's session; both sides warm
  await bare();
  const times: [number[], number[]] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, work] of [ours, bare].entries()) {
      const t0 = performance.now();
      await work();
      times[k as 0 | 1].push(performance.now() - t0);
    }
  }
  await provider.close();
  await model.session.release();
  const rate = (ms: number[]) => texts.length / (median(ms) / 1000);
  return {
    threads,
    texts: texts.length,
    tokens: ids.reduce((s, r) => s + r.length, 0),
    providerRate: rate(times[0]),
    bareRate: rate(times[1]),
  };
}

/** In a fresh process (this module with --rss): RSS before loading, after loading and one batch. */
async function rssChild(modelDir: string): Promise<void> {
  const before = process.memoryUsage().rss;
  const provider = localEmbeddingProvider({ modelDir, threads: 1, batchSize: 32 });
  const text = 'The engine overheats when the coolant level is low. '.repeat(30);
  await provider.embed(Array.from({ length: 32 }, (_, i) => `${i} ${text}`));
  const after = process.memoryUsage().rss;
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ before, after, peak }));
}

interface Rss {
  before: number;
  after: number;
  peak: number;
}

function measureRss(modelDir: string): Rss {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--rss', modelDir], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as Rss;
}

export async function runEmbeddingsBench(): Promise<BenchSection> {
  const config = loadConfig({});
  const { modelDir } = config.embeddings.local;
  const { batchSize } = config.embeddings;
  progress('embeddings: chunking the samples');
  const texts = await benchChunks();
  const rows: Row[] = [];
  for (const threads of [1, 2]) {
    progress(`embeddings: provider vs bare session, ${threads} thread(s), ${texts.length} chunks`);
    rows.push(await measure(texts, threads, modelDir, batchSize));
  }
  progress('embeddings: resident memory of a fresh process with the model loaded');
  const rss = measureRss(modelDir);
  const table = [
    markdownTable(
      [
        'intra-op threads',
        'chunks',
        'tokens',
        'provider (chunks/s)',
        'bare session (chunks/s)',
        'provider ÷ bare',
      ],
      ['r', 'r', 'r', 'r', 'r', 'r'],
      rows.map((r) => [
        String(r.threads),
        int(r.texts),
        int(r.tokens),
        fixed(r.providerRate, 1),
        fixed(r.bareRate, 1),
        fixed(r.providerRate / r.bareRate),
      ]),
    ),
    '',
    `Resident memory of a fresh Node process: ${fixed(rss.before / MiB, 0)} MiB before, ${fixed(rss.after / MiB, 0)} MiB ` +
      `with the model loaded and 32 texts of 256 tokens embedded (+${fixed((rss.after - rss.before) / MiB, 0)} MiB); peak during it ${fixed(rss.peak / MiB, 0)} MiB.`,
  ].join('\n');
  const ratios = rows
    .map((r) => `${fixed(r.providerRate / r.bareRate)}× with ${r.threads} thread(s)`)
    .join(', ');
  const best = rows.reduce((a, b) => (b.providerRate > a.providerRate ? b : a));
  return {
    title: 'Embeddings: the local provider vs the bare ONNX session',
    compared:
      'all-MiniLM-L6-v2 (int8 ONNX) through our `local` provider against a bare onnxruntime-node session on the ' +
      `same batches (batch size ${batchSize}, grouped by length), over the chunks of ${DOCUMENTS.length} samples; median of ${ROUNDS} rounds.`,
    table,
    interpretation:
      `the provider runs at ${ratios} of the bare session (target ≥ 0.8); ${fixed(best.providerRate, 1)} chunks/s at best on this machine; ` +
      `the model adds ${fixed((rss.after - rss.before) / MiB, 0)} MiB of resident memory (peak ${fixed(rss.peak / MiB, 0)} MiB while embedding).`,
    notMeasured: [],
  };
}

if (process.argv[2] === '--rss') {
  await rssChild(process.argv[3] as string);
} else if (isEntryPoint(import.meta.url)) {
  const section = await runEmbeddingsBench();
  console.log(`${section.table}\n\n${section.interpretation}`);
}
