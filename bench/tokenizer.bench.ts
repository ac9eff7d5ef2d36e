/**
 * Tokenizer throughput: gpt-tokenizer (what the chunker uses) against js-tiktoken, both on
 * cl100k_base, over the text our own providers extract from the samples. Also reports the chunker
 * itself, so its cost can be read as a ratio of the bare tokenizer it is built on.
 *
 * Run: npx tsx bench/tokenizer.bench.ts   (a later `make bench` imports runTokenizerBench instead)
 */
import path from 'node:path';
import type { ExtractedDocument } from '../src/domain/content.js';
import { TEXT_SAMPLE_FILES as SAMPLE_FILES, SAMPLES_DIR } from '../test/support/samples.js';
import { isEntryPoint } from './lib.js';

const RUNS = 7;
// Each run repeats the corpus until this much time has passed, so short corpora still time reliably.
const MIN_RUN_MS = 250;

interface Row {
  candidate: string;
  corpus: string;
  tokens: number;
  tokensPerSecond: number;
  exact: string;
}

/** Best-of-RUNS throughput of `work`, which handles `tokens` tokens per call. */
function measure(tokens: number, work: () => unknown): number {
  let best = 0;
  for (let run = 0; run < RUNS; run++) {
    let calls = 0;
    const started = performance.now();
    let elapsed = 0;
    do {
      work();
      calls++;
      elapsed = performance.now() - started;
    } while (elapsed < MIN_RUN_MS);
    best = Math.max(best, (tokens * calls) / (elapsed / 1000));
  }
  return best;
}

async function timedImport<T>(load: () => Promise<T>): Promise<{ module: T; ms: number }> {
  const started = performance.now();
  const module = await load();
  return { module, ms: performance.now() - started };
}

const sameTokens = (a: number[], b: number[]) => a.length === b.length && a.every((t, i) => t === b[i]);

export async function runTokenizerBench(): Promise<string> {
  // Imported here, timed, before anything else loads the tables.
  const gpt = await timedImport(() => import('gpt-tokenizer/encoding/cl100k_base'));
  const tiktoken = await timedImport(async () => {
    const [{ Tiktoken }, ranks] = await Promise.all([
      import('js-tiktoken/lite'),
      import('js-tiktoken/ranks/cl100k_base'),
    ]);
    return new Tiktoken(ranks.default);
  });
  const { extractFile, pickProvider } = await import('../src/providers/index.js');
  const { chunkDocument } = await import('../src/domain/chunking.js');

  const samples = SAMPLES_DIR;
  const docs: ExtractedDocument[] = [];
  for (const name of SAMPLE_FILES) {
    const provider = pickProvider(undefined, name);
    if (provider) docs.push(await extractFile(provider, path.join(samples, name)));
  }
  const textOf = (doc: ExtractedDocument) => doc.sections.map((s) => s.text).join('\n\n');
  // Two corpora: everything, and prose alone. The samples' box-drawing diagrams are long runs of
  // multi-byte punctuation, which some BPE implementations handle in quadratic time.
  const corpora = [
    { name: 'all samples', text: docs.map(textOf).join('\n\n') },
    {
      name: 'prose (diary)',
      text: textOf(docs[SAMPLE_FILES.indexOf('content/diary_sample.md')] as ExtractedDocument),
    },
  ];

  // User text may contain special-token strings; both sides must treat them as plain text.
  const plain = { disallowedSpecial: new Set<string>() };
  const rows: Row[] = [];
  for (const { name: corpus, text } of corpora) {
    const gptTokens = gpt.module.encode(text, plain);
    const tikTokens = tiktoken.module.encode(text, [], []);
    const exact = sameTokens(gptTokens, tikTokens) ? 'yes' : 'no';
    const countExact = gpt.module.countTokens(text, plain) === tikTokens.length ? 'yes' : 'no';
    rows.push(
      {
        candidate: 'gpt-tokenizer encode',
        corpus,
        tokens: gptTokens.length,
        tokensPerSecond: measure(gptTokens.length, () => gpt.module.encode(text, plain)),
        exact,
      },
      {
        candidate: 'gpt-tokenizer countTokens',
        corpus,
        tokens: gptTokens.length,
        tokensPerSecond: measure(gptTokens.length, () => gpt.module.countTokens(text, plain)),
        exact: countExact,
      },
      {
        candidate: 'js-tiktoken encode',
        corpus,
        tokens: tikTokens.length,
        tokensPerSecond: measure(tikTokens.length, () => tiktoken.module.encode(text, [], [])),
        exact,
      },
    );
  }
  const allTokens = (rows[0] as Row).tokens;
  rows.push({
    candidate: 'chunkDocument 400/40',
    corpus: 'all samples',
    tokens: allTokens,
    tokensPerSecond: measure(allTokens, () => {
      for (const doc of docs) chunkDocument(doc, { maxTokens: 400, overlapTokens: 40 });
    }),
    exact: 'n/a',
  });

  const fastest = new Map<string, number>();
  for (const r of rows) fastest.set(r.corpus, Math.max(fastest.get(r.corpus) ?? 0, r.tokensPerSecond));
  const lines = [
    '| candidate | corpus | tokens | tokens/s | ratio vs fastest | exact |',
    '|---|---|---:|---:|---:|:---:|',
    ...rows.map((r) => {
      const ratio = r.tokensPerSecond / (fastest.get(r.corpus) as number);
      const rate = Math.round(r.tokensPerSecond).toLocaleString('en-US');
      return `| ${r.candidate} | ${r.corpus} | ${r.tokens} | ${rate} | ${ratio.toFixed(2)} | ${r.exact} |`;
    }),
    '',
    `Encoding cl100k_base; corpora as extracted by the providers (${(corpora[0] as { text: string }).text.length} ` +
      `characters in all); best of ${RUNS} runs of at least ${MIN_RUN_MS} ms; ratio against the fastest ` +
      `candidate on the same corpus; exact = identical token ids (countTokens: identical count) to js-tiktoken; ` +
      'gpt-tokenizer keeps a merge cache, so its repeated runs are warm, as in a long-lived worker. ' +
      `Load time: gpt-tokenizer ${gpt.ms.toFixed(0)} ms, js-tiktoken ${tiktoken.ms.toFixed(0)} ms; Node ${process.version}.`,
  ];
  return lines.join('\n');
}

if (isEntryPoint(import.meta.url)) {
  console.log(await runTokenizerBench());
}
