/**
 * Chunker overhead: `chunkDocument` against the bare tokenizer it is built on (gpt-tokenizer's
 * cl100k_base `encode`, with `countTokens` as a second column) over the same extracted text. All are
 * measured in input tokens per second, so "chunker rate ÷ encode rate" is how chunking compares with
 * encoding the text once (target ≥ 0.8, i.e. chunking costs at most 1.25× one encode).
 *
 * Corpora: each sample as our providers extract it, all of them together, and a ~1 MB document made of
 * the samples' sections repeated, so the figure is not dominated by tiny inputs.
 * Run alone: npx tsx bench/chunker.bench.ts [--quick]; --before=/path/to/old/chunking.ts
 * adds a column for another chunker (e.g. a copy of the previous version) measured in the same rounds.
 */
import path from 'node:path';
import type { ExtractedDocument } from '../src/domain/content.js';
import {
  type BenchSection,
  fixed,
  int,
  interleavedThroughput,
  isEntryPoint,
  markdownTable,
  progress,
  samplesDir,
  textOf,
} from './lib.js';

const DOCUMENTS = [
  'content/Sample.pdf',
  'content/Sample.md',
  'content/Sample.docx',
  'content/diary_sample.md',
];
const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 3 : 5;
const MIN_RUN_MS = QUICK ? 100 : 200;
/** Size of the generated corpus, in characters. */
const BIG_CHARS = 1_000_000;

interface Row {
  corpus: string;
  settings: string;
  tokens: number;
  chunks: number;
  encodeRate: number;
  countRate: number;
  chunkRate: number;
  beforeRate?: number;
}

type Chunker = (doc: ExtractedDocument, options: { maxTokens: number; overlapTokens: number }) => unknown[];

export async function runChunkerBench(): Promise<BenchSection> {
  const { extractFile, pickProvider } = await import('../src/providers/index.js');
  const { chunkDocument } = await import('../src/domain/chunking.js');
  const { countTokens, encode } = await import('gpt-tokenizer/encoding/cl100k_base');
  const { loadConfig } = await import('../src/config/config.js');
  // An optional second chunker (a copy of an earlier chunking.ts) measured in the same rounds.
  const beforePath = process.argv.find((arg) => arg.startsWith('--before='))?.slice('--before='.length);
  const before: Chunker | undefined = beforePath
    ? ((await import(path.resolve(beforePath))) as { chunkDocument: Chunker }).chunkDocument
    : undefined;

  // The settings a worker runs with when nothing is configured (P8FS_CHUNK_TOKENS / _OVERLAP_TOKENS).
  const defaults = loadConfig({}).chunking;
  const small = { maxTokens: 200, overlapTokens: 20 };
  const plain = { disallowedSpecial: new Set<string>() };

  const docs: { name: string; doc: ExtractedDocument; text: string }[] = [];
  for (const name of DOCUMENTS) {
    const provider = pickProvider(undefined, name);
    if (!provider) continue;
    const doc = await extractFile(provider, path.join(samplesDir(), name));
    docs.push({ name: path.basename(name), doc, text: textOf(doc) });
  }
  // The generated corpus: the samples' sections again and again, as one document.
  const bigDoc: ExtractedDocument = { provider: 'bench', sections: [], metadata: {} };
  for (let chars = 0; chars < BIG_CHARS; ) {
    for (const d of docs) {
      bigDoc.sections.push(...d.doc.sections);
      chars += d.text.length + 2;
    }
  }
  const big = {
    name: `samples repeated (${int(textOf(bigDoc).length / 1000)} K chars)`,
    doc: bigDoc,
    text: textOf(bigDoc),
  };

  const rows: Row[] = [];
  const measure = (
    corpus: string,
    set: typeof docs,
    options: { maxTokens: number; overlapTokens: number },
  ) => {
    progress(`chunker: ${corpus} at ${options.maxTokens}/${options.overlapTokens}`);
    const tokens = set.reduce((sum, d) => sum + countTokens(d.text, plain), 0);
    const chunks = set.reduce((sum, d) => sum + chunkDocument(d.doc, options).length, 0);
    const works = [
      () => {
        for (const d of set) encode(d.text, plain);
      },
      () => {
        for (const d of set) countTokens(d.text, plain);
      },
      () => {
        for (const d of set) chunkDocument(d.doc, options);
      },
    ];
    if (before) {
      works.push(() => {
        for (const d of set) before(d.doc, options);
      });
    }
    // One untimed round first (warm-up: JIT, the tokenizer's merge cache, the chunker's caches).
    for (const work of works) work();
    const [encodeRate = 0, countRate = 0, chunkRate = 0, beforeRate] = interleavedThroughput(
      tokens,
      works,
      RUNS,
      MIN_RUN_MS,
    );
    rows.push({
      corpus,
      settings: `${options.maxTokens}/${options.overlapTokens}`,
      tokens,
      chunks,
      encodeRate,
      countRate,
      chunkRate,
      ...(beforeRate !== undefined ? { beforeRate } : {}),
    });
  };
  for (const d of docs) measure(d.name, [d], defaults);
  measure('all samples', docs, defaults);
  measure('all samples', docs, small);
  measure(big.name, [big], defaults);
  measure(big.name, [big], small);

  const headers = [
    'corpus',
    'max/overlap tokens',
    'tokens',
    'chunks',
    'encode tokens/s',
    'countTokens tokens/s',
    'chunkDocument tokens/s',
    'chunker rate ÷ encode rate',
    'chunker rate ÷ countTokens rate',
  ];
  if (before) headers.push('before: chunker rate ÷ encode rate');
  const table = markdownTable(
    headers,
    headers.map((_, i) => (i === 0 ? 'l' : i === 1 ? 'c' : 'r')),
    rows.map((r) => [
      r.corpus,
      r.settings,
      int(r.tokens),
      int(r.chunks),
      int(r.encodeRate),
      int(r.countRate),
      int(r.chunkRate),
      fixed(r.chunkRate / r.encodeRate),
      fixed(r.chunkRate / r.countRate),
      ...(before ? [fixed((r.beforeRate ?? 0) / r.encodeRate)] : []),
    ]),
  );
  const note =
    `Text as extracted by our providers; one warm-up round, then best of ${RUNS} interleaved runs of at least ` +
    `${MIN_RUN_MS} ms each; every side runs warm (gpt-tokenizer keeps a merge cache, the chunker a cache of ` +
    `pre-token counts), as in a long-lived worker. ${defaults.maxTokens}/${defaults.overlapTokens} are the ` +
    'configured defaults. Target: chunker rate ≥ 0.8× the encode rate.' +
    (before ? ` "before" is ${path.basename(beforePath as string)} measured in the same rounds.` : '');

  const ratios = rows.map((r) => r.chunkRate / r.encodeRate);
  const bigRows = rows.filter((r) => r.corpus === big.name);
  const interpretation =
    `Chunking runs at ${fixed(Math.min(...ratios))}–${fixed(Math.max(...ratios))}× the rate of one bare ` +
    `encode of the same text (target ≥ 0.8); on ${big.name} ` +
    bigRows.map((r) => `${fixed(r.chunkRate / r.encodeRate)}× at ${r.settings}`).join(', ') +
    '.';

  return {
    title: 'Chunker vs the bare tokenizer',
    compared:
      '`chunkDocument` (src/domain/chunking.ts) against gpt-tokenizer `encode` and `countTokens` ' +
      '(cl100k_base), the tokenizer it is built on, over the same extracted text, in input tokens per second.',
    table: `${table}\n\n${note}`,
    interpretation,
    notMeasured: [],
  };
}

if (isEntryPoint(import.meta.url)) {
  const section = await runChunkerBench();
  console.log(`${section.table}\n\n${section.interpretation}`);
}
