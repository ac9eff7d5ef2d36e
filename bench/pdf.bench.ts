/**
 * PDF text extraction: our pdf provider (pdfjs-dist, with paragraph and heading detection) against
 * poppler's `pdftotext` on the same file. pdftotext runs as a process per file, as one would call it
 * from a worker, so its times include process start.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type BenchSection,
  fixed,
  int,
  markdownTable,
  progress,
  samplesDir,
  type Timing,
  textOf,
  timeInterleaved,
} from './lib.js';

const SAMPLE = 'content/Sample.pdf';
const RUNS = 15;
const INSTALL_HINT =
  'install it with `apt-get install -y poppler-utils` (Debian/Ubuntu) to measure the baseline';

function pdftotextVersion(): string | undefined {
  const probe = spawnSync('pdftotext', ['-v'], { encoding: 'utf8' });
  if (probe.error) return undefined;
  const line = `${probe.stdout}${probe.stderr}`.split('\n').find((l) => /version/i.test(l));
  return line?.trim() ?? 'pdftotext (version unknown)';
}

function runPdftotext(file: string): string {
  const result = spawnSync('pdftotext', ['-enc', 'UTF-8', file, '-'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`pdftotext exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

function pdfjsVersion(): string {
  try {
    const manifest = path.join(process.cwd(), 'node_modules', 'pdfjs-dist', 'package.json');
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

const words = (text: string) => text.match(/\S+/g)?.length ?? 0;

export async function runPdfBench(): Promise<BenchSection> {
  const { extractFile } = await import('../src/providers/index.js');
  const file = path.join(samplesDir(), SAMPLE);
  const notMeasured: string[] = [];

  const doc = await extractFile('pdf', file);
  const pages = doc.pageCount ?? 0;
  const oursText = textOf(doc);
  const version = pdftotextVersion();
  const baselineText = version ? runPdftotext(file) : undefined;
  progress(
    `pdf: our provider${version ? ` and ${version}` : ''} on ${SAMPLE}, ${RUNS} interleaved runs each`,
  );
  const works: (() => Promise<unknown> | unknown)[] = [() => extractFile('pdf', file)];
  if (version) works.push(() => runPdftotext(file));
  const [ours, theirs] = (await timeInterleaved(RUNS, works)) as [Timing, Timing | undefined];

  interface Row {
    tool: string;
    timing: Timing;
    words: number;
  }
  const rows: Row[] = [
    { tool: `our pdf provider (pdfjs-dist ${pdfjsVersion()})`, timing: ours, words: words(oursText) },
  ];
  let baseline: Row | undefined;
  if (version && theirs && baselineText !== undefined) {
    baseline = {
      tool: `pdftotext (${version.replace(/^pdftotext\s*/i, '')})`,
      timing: theirs,
      words: words(baselineText),
    };
    rows.push(baseline);
  } else {
    const reason = `pdftotext: not measured, the binary is not on PATH; ${INSTALL_HINT}`;
    progress(reason);
    notMeasured.push(reason);
  }

  const pagesPerSecond = (t: Timing) => pages / (t.bestMs / 1000);
  const table = markdownTable(
    ['tool', 'pages', 'best ms', 'median ms', 'pages/s (best)', 'words out', 'speed ratio vs pdftotext'],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows.map((r) => [
      r.tool,
      String(pages),
      fixed(r.timing.bestMs, 1),
      fixed(r.timing.medianMs, 1),
      int(pagesPerSecond(r.timing)),
      int(r.words),
      baseline ? fixed(baseline.timing.bestMs / r.timing.bestMs) : 'n/a',
    ]),
  );
  const note =
    `File ${SAMPLE} (${pages} pages); ${RUNS} interleaved runs of each after one warm-up, so pdfjs is already loaded; ` +
    'pdftotext is started as a process per run (`pdftotext -enc UTF-8 FILE -`). Ratio = pdftotext time ÷ our ' +
    'time (above 1: ours is faster). Words out is a sanity check that both read the same text layer.';

  let interpretation: string;
  if (baseline) {
    const r = baseline.timing.bestMs / ours.bestMs;
    const speed = r >= 1 ? `${fixed(r)}× as fast as pdftotext` : `${fixed(1 / r)}× slower than pdftotext`;
    interpretation =
      `Our provider extracts ${int(pagesPerSecond(ours))} pages/s against pdftotext's ` +
      `${int(pagesPerSecond(baseline.timing))} (process start included), i.e. ${speed}, and finds ` +
      `${fixed((100 * words(oursText)) / Math.max(1, baseline.words), 0)}% of pdftotext's word count.`;
  } else {
    interpretation = `Our provider extracts ${int(pagesPerSecond(ours))} pages/s; no pdftotext baseline in this run (${INSTALL_HINT}).`;
  }
  return {
    title: 'PDF extraction',
    compared: `\`extractFile('pdf', …)\` (src/providers) against poppler's \`pdftotext\` on ${SAMPLE}.`,
    table: `${table}\n\n${note}`,
    interpretation,
    notMeasured,
  };
}
