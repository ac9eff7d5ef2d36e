/**
 * `make bench`: runs every benchmark in one process and writes docs/PERFORMANCE.md. Each bench measures
 * ours against a baseline or a limit on the same data, side by side in this run, and reports ratios;
 * nothing here fails on an absolute time.
 *
 * Run: npx tsx bench/run.ts   (from the project root; P8FS_BENCH_ROWS changes the store bench's row count;
 * P8FS_BENCH_1M=1 adds hybrid search latency at 100k and 1M chunks, tens of minutes; P8FS_BENCH_EMBED_FILES
 * the files of the embeddings on/off runs)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBridgeBench } from './bridge.bench.js';
import { runChunkerBench } from './chunker.bench.js';
import { runDreamHeuristicBench } from './dream-heuristic.bench.js';
import { runEndToEndBench } from './e2e.bench.js';
import { runEmbeddingSpeedBench } from './embedding-speed.js';
import { runEmbeddingsBench } from './embeddings.bench.js';
import { type BenchSection, errorMessage, fixed, progress } from './lib.js';
import { runPdfBench } from './pdf.bench.js';
import { runRetrievalBench } from './retrieval.js';
import { runSearchLatencyBench } from './search-latency.js';
import { runSmallFilePathBench } from './small-file-path.js';
import { runStoreBench } from './store.bench.js';
import { runTokenizerBench } from './tokenizer.bench.js';

const OUTPUT = path.resolve(process.cwd(), 'docs', 'PERFORMANCE.md');

interface TokenizerRow {
  candidate: string;
  corpus: string;
  rate: number;
  exact: string;
}

/** Reads the rows back out of runTokenizerBench's markdown table, to interpret them. */
function parseTokenizerTable(markdown: string): TokenizerRow[] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| candidate'))
    .map((line) => line.split('|').map((cell) => cell.trim()))
    .map((cells) => ({
      candidate: cells[1] ?? '',
      corpus: cells[2] ?? '',
      rate: Number((cells[4] ?? '').replace(/,/g, '')),
      exact: cells[6] ?? '',
    }));
}

async function tokenizerSection(): Promise<BenchSection> {
  progress('tokenizer: gpt-tokenizer vs js-tiktoken on the extracted samples');
  const table = await runTokenizerBench();
  const rows = parseTokenizerTable(table);
  const find = (candidate: string, corpus: string) =>
    rows.find((r) => r.candidate === candidate && r.corpus === corpus);
  const parts: string[] = [];
  for (const corpus of [...new Set(rows.map((r) => r.corpus))]) {
    const gpt = find('gpt-tokenizer encode', corpus);
    const tik = find('js-tiktoken encode', corpus);
    if (gpt && tik && tik.rate > 0) {
      parts.push(`${fixed(gpt.rate / tik.rate, 1)}× js-tiktoken on ${corpus}`);
    }
  }
  const inexact = rows.filter((r) => r.exact === 'no');
  const exactness = inexact.length
    ? `token ids differ from js-tiktoken in ${inexact.length} row(s): ${inexact.map((r) => `${r.candidate} on ${r.corpus}`).join(', ')}`
    : 'with identical token ids on every corpus';
  return {
    title: 'Tokenizer',
    compared:
      'gpt-tokenizer (what the chunker uses) against js-tiktoken, both cl100k_base, over the text our providers ' +
      'extract from the samples; the chunker row reads as a fraction of the bare tokenizer.',
    table,
    interpretation: parts.length
      ? `gpt-tokenizer encodes at ${parts.join(' and ')}, ${exactness}.`
      : 'The tokenizer table could not be read back for interpretation.',
    notMeasured: [],
  };
}

async function guarded(title: string, bench: () => Promise<BenchSection>): Promise<BenchSection> {
  const t0 = performance.now();
  try {
    const section = await bench();
    progress(`${title}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return section;
  } catch (error) {
    const reason = `not measured: the bench failed (${errorMessage(error)})`;
    progress(`${title}: ${reason}`);
    if (error instanceof Error && error.stack) console.error(error.stack);
    return { title, compared: '', table: `_${reason}_`, interpretation: reason, notMeasured: [reason] };
  }
}

const loadAtStart = os.loadavg();

function machineFacts(): string[] {
  const cpus = os.cpus();
  const load = (l: number[]) => l.map((x) => fixed(x)).join(' / ');
  return [
    `- Date: ${new Date().toISOString()}`,
    `- CPUs: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown model'}`,
    `- Memory: ${fixed(os.totalmem() / 1024 ** 3, 1)} GiB total`,
    `- Node ${process.version} on ${os.platform()} ${os.release()} (${os.arch()})`,
    `- Load average (1 / 5 / 15 min): ${load(loadAtStart)} at the start, ${load(os.loadavg())} at the end`,
  ];
}

function render(sections: BenchSection[], seconds: number): string {
  const out = [
    '# Performance',
    '',
    'Written by `make bench` (`npx tsx bench/run.ts`); do not edit by hand, run it again. Every bench measures ' +
      'ours against a baseline or a limit on the same data in the same run, so the ratios are what to read: ' +
      'absolute times depend on the machine and on whatever else runs on it, and CI never fails on them.',
    '',
    ...machineFacts(),
    `- Whole run: ${seconds.toFixed(0)} s`,
    '',
    '## Against the targets',
    '',
    'Each line is the reading of a section below (the figures and the targets it states); the huge files are in',
    'their own section at the end (`make bench` runs it after these).',
    '',
    ...sections.map((s) => `- **${s.title}:** ${s.interpretation}`),
  ];
  sections.forEach((s, i) => {
    out.push('', `## ${i + 1}. ${s.title}`, '');
    if (s.compared) out.push(`Compared: ${s.compared}`, '');
    out.push(s.table, '', `**Reading:** ${s.interpretation}`);
    if (s.notMeasured.length)
      out.push('', 'Not measured in this run:', ...s.notMeasured.map((n) => `- ${n}`));
  });
  return `${out.join('\n')}\n`;
}

/**
 * Sections other benches own inside the same file, between `<!-- NAME:start -->` and `<!-- NAME:end -->`
 * markers (e.g. bench/huge-file.ts's `huge-file`): kept as they are when this run rewrites the file.
 */
export function markedSections(markdown: string): string[] {
  const found: string[] = [];
  const pattern = /<!-- ([\w-]+):start -->[\s\S]*?<!-- \1:end -->/g;
  for (let match = pattern.exec(markdown); match; match = pattern.exec(markdown)) found.push(match[0]);
  return found;
}

function withMarkedSections(markdown: string, previous: string): string {
  const kept = markedSections(previous);
  return kept.length ? `${markdown.trimEnd()}\n\n${kept.join('\n\n')}\n` : markdown;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  progress(
    `starting: ${os.cpus().length} CPUs, Node ${process.version}; writing ${path.relative(process.cwd(), OUTPUT)}`,
  );
  // Tokenizer first: it times loading the tokenizer tables, which must not be loaded before it.
  const sections = [
    await guarded('Tokenizer', tokenizerSection),
    await guarded('Chunker vs the bare tokenizer', runChunkerBench),
    await guarded('PDF extraction', runPdfBench),
    await guarded('Storing resources in PostgreSQL', () => runStoreBench()),
    await guarded('Bridge: events to workflow starts', runBridgeBench),
    await guarded('Small files: one activity against the four steps', runSmallFilePathBench),
    await guarded('End to end: small files from publish to committed rows', runEndToEndBench),
    await guarded('Search quality: recall@5 and MRR per mode', runRetrievalBench),
    await guarded('Embeddings on and off: files/s and worker memory', runEmbeddingSpeedBench),
    await guarded('Hybrid search latency at 10k and 1M chunks', async () => {
      const { testStackConfig } = await import('../test/support/test-stack.js');
      return runSearchLatencyBench(testStackConfig());
    }),
    await guarded('Offline dream heuristic: precision and recall', runDreamHeuristicBench),
    await guarded('Embeddings: the local provider vs the bare ONNX session', runEmbeddingsBench),
  ];
  const seconds = (performance.now() - t0) / 1000;
  const previous = existsSync(OUTPUT) ? readFileSync(OUTPUT, 'utf8') : '';
  const markdown = withMarkedSections(render(sections, seconds), previous);
  mkdirSync(path.dirname(OUTPUT), { recursive: true });
  writeFileSync(OUTPUT, markdown);
  console.log(`\n${markdown}`);
  progress(`wrote ${path.relative(process.cwd(), OUTPUT)} in ${seconds.toFixed(0)} s`);
}

await main();
// pg pools, pdfjs and tokenizer caches may keep handles; the report is written, so leave now.
process.exit(0);
