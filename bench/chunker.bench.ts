/**
 * Chunker overhead: `chunkDocument` against the bare tokenizer it is built on (gpt-tokenizer's
 * cl100k_base `countTokens`) over the same extracted text. Both are measured in input tokens per second,
 * so their ratio is what chunking costs on top of counting the text once.
 */
import path from 'node:path';
import type { ExtractedDocument } from '../src/domain/content.js';
import {
  type BenchSection,
  fixed,
  int,
  interleavedThroughput,
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
const RUNS = 5;
const MIN_RUN_MS = 200;

interface Row {
  corpus: string;
  settings: string;
  tokens: number;
  chunks: number;
  bareRate: number;
  chunkRate: number;
}

export async function runChunkerBench(): Promise<BenchSection> {
  const { extractFile, pickProvider } = await import('../src/providers/index.js');
  const { chunkDocument } = await import('../src/domain/chunking.js');
  const { countTokens } = await import('gpt-tokenizer/encoding/cl100k_base');
  const { loadConfig } = await import('../src/config/config.js');

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

  const rows: Row[] = [];
  const measure = (
    corpus: string,
    set: typeof docs,
    options: { maxTokens: number; overlapTokens: number },
  ) => {
    progress(`chunker: ${corpus} at ${options.maxTokens}/${options.overlapTokens}`);
    const tokens = set.reduce((sum, d) => sum + countTokens(d.text, plain), 0);
    const chunks = set.reduce((sum, d) => sum + chunkDocument(d.doc, options).length, 0);
    const [bareRate = 0, chunkRate = 0] = interleavedThroughput(
      tokens,
      [
        () => {
          for (const d of set) countTokens(d.text, plain);
        },
        () => {
          for (const d of set) chunkDocument(d.doc, options);
        },
      ],
      RUNS,
      MIN_RUN_MS,
    );
    rows.push({
      corpus,
      settings: `${options.maxTokens}/${options.overlapTokens}`,
      tokens,
      chunks,
      bareRate,
      chunkRate,
    });
  };
  for (const d of docs) measure(d.name, [d], defaults);
  measure('all of the above', docs, defaults);
  measure('all of the above', docs, small);

  const table = markdownTable(
    [
      'corpus',
      'max/overlap tokens',
      'tokens',
      'chunks',
      'countTokens tokens/s',
      'chunkDocument tokens/s',
      'chunker time ÷ countTokens time',
    ],
    ['l', 'c', 'r', 'r', 'r', 'r', 'r'],
    rows.map((r) => [
      r.corpus,
      r.settings,
      int(r.tokens),
      int(r.chunks),
      int(r.bareRate),
      int(r.chunkRate),
      `${fixed(r.bareRate / r.chunkRate)}×`,
    ]),
  );
  const note =
    `Text as extracted by our providers; best of ${RUNS} interleaved runs of at least ${MIN_RUN_MS} ms each; both sides ` +
    'run warm (gpt-tokenizer keeps a merge cache, the chunker a cache of short pieces), as in a long-lived worker. ' +
    `${defaults.maxTokens}/${defaults.overlapTokens} are the configured defaults.`;

  const atDefaults = rows.filter((r) => r.settings === `${defaults.maxTokens}/${defaults.overlapTokens}`);
  const overheads = atDefaults.map((r) => r.bareRate / r.chunkRate);
  const all = atDefaults.at(-1) as Row;
  const smallRow = rows.at(-1) as Row;
  const interpretation =
    `At ${defaults.maxTokens}/${defaults.overlapTokens}, chunking costs ${fixed(Math.min(...overheads))}–` +
    `${fixed(Math.max(...overheads))}× the time of one bare countTokens over the same text ` +
    `(${int(all.chunkRate)} vs ${int(all.bareRate)} tokens/s on all samples); at ${smallRow.settings} ` +
    `(${int(smallRow.chunks)} chunks instead of ${int(all.chunks)}) it costs ` +
    `${fixed(smallRow.bareRate / smallRow.chunkRate)}×.`;

  return {
    title: 'Chunker vs the bare tokenizer',
    compared:
      '`chunkDocument` (src/domain/chunking.ts) against gpt-tokenizer `countTokens` (cl100k_base), the ' +
      'tokenizer it is built on, over the same extracted text, in input tokens per second.',
    table: `${table}\n\n${note}`,
    interpretation,
    notMeasured: [],
  };
}
