/**
 * PDF text extraction, side by side on the same files: our pdf provider as it runs (poppler's pdftotext
 * where installed, src/providers/formats/pdf/pdf-poppler.ts), the same provider with pdfjs forced (its fallback),
 * plain `pdftotext` (the baseline), and `pdftotext -bbox-layout` (the call our poppler path makes: its
 * ceiling). Every pdftotext is a process per run, as a worker starts it, so process start is included.
 * Files: the samples' PDFs and a generated many-page text PDF. Agreement with pdftotext: the page count,
 * and per page the share of pdftotext's words (as a multiset) that the candidate found too.
 *
 * pdftotext missing: the bench installs it with scripts/install-servers.sh (poppler-utils from
 * Debian's packages, as `make setup` does) rather than measuring without its baseline.
 * P8FS_BENCH_QUICK=1: fewer runs and a smaller generated PDF.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExtractedDocument } from '../src/domain/content.js';
import { textPdf } from '../test/support/text-pdf.js';
import {
  type BenchSection,
  fixed,
  int,
  markdownTable,
  progress,
  samplesDir,
  type Timing,
  timeInterleaved,
} from './lib.js';

const QUICK = process.env.P8FS_BENCH_QUICK === '1';
const RUNS = QUICK ? 5 : 11;
const GENERATED_PAGES = QUICK ? 100 : 400;
const SAMPLES = ['content/Sample.pdf', 'small/sample.pdf'];

function pdftotextVersion(): string | undefined {
  const probe = spawnSync('pdftotext', ['-v'], { encoding: 'utf8' });
  if (probe.error) return undefined;
  return /version\s+([\d.]+)/i.exec(`${probe.stdout}${probe.stderr}`)?.[1] ?? '?';
}

/** pdftotext on PATH, installed by scripts/install-servers.sh first when it is not. */
function ensurePdftotext(notMeasured: string[]): string | undefined {
  const version = pdftotextVersion();
  if (version) return version;
  progress('pdf: pdftotext is not installed; installing poppler-utils with scripts/install-servers.sh');
  const install = spawnSync('bash', ['scripts/install-servers.sh'], { stdio: 'inherit' });
  const after = pdftotextVersion();
  if (!after) {
    notMeasured.push(
      `pdftotext: scripts/install-servers.sh could not install it (exit ${install.status}); run \`make setup\` as root`,
    );
  }
  return after;
}

function runPdftotext(file: string, extra: string[] = []): string {
  const result = spawnSync('pdftotext', [...extra, '-enc', 'UTF-8', file, '-'], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`pdftotext exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

const wordsOf = (text: string) => text.replace(/[\u200b-\u200d\u2060\ufeff]/g, '').match(/\S+/g) ?? [];

/** Per page, the words of a document. */
function docPages(doc: ExtractedDocument): string[][] {
  const pages = Array.from({ length: doc.pageCount ?? 0 }, () => [] as string[]);
  for (const s of doc.sections)
    if (s.source !== 'ocr') pages[(s.page as number) - 1]?.push(...wordsOf(s.text));
  return pages;
}

/** Share of `reference`'s words (multiset) that `candidate` has too; 1 for two empty pages. */
function found(reference: string[], candidate: string[]): number {
  if (reference.length === 0) return candidate.length === 0 ? 1 : 0;
  const counts = new Map<string, number>();
  for (const w of candidate) counts.set(w, (counts.get(w) ?? 0) + 1);
  let hit = 0;
  for (const w of reference) {
    const n = counts.get(w) ?? 0;
    if (n > 0) {
      hit++;
      counts.set(w, n - 1);
    }
  }
  return hit / reference.length;
}

interface Row {
  file: string;
  tool: string;
  timing: Timing;
  pages: number;
  words: number;
  /** Page count equals pdftotext's. */
  samePages: boolean;
  /** Lowest and overall share of pdftotext's words found, per page. */
  minOverlap: number;
  overlap: number;
}

export async function runPdfBench(): Promise<BenchSection> {
  const { extractPdf } = await import('../src/providers/formats/pdf/pdf.js');
  const { localContext, localFile } = await import('../src/providers/provider.js');
  const { DEFAULT_MEDIA } = await import('../src/providers/media/settings.js');
  const notMeasured: string[] = [];
  const version = ensurePdftotext(notMeasured);
  // OCR off: page 8 of Sample.pdf is a photograph; its seconds of OCR are not text-layer extraction.
  const base = localContext();
  const ctx = localContext({ config: { ...base.config, media: { ...DEFAULT_MEDIA, ocr: false } } });
  const dir = mkdtempSync(path.join(tmpdir(), 'p8fs-pdf-bench-'));
  const generated = path.join(dir, `generated-${GENERATED_PAGES}-pages.pdf`);
  writeFileSync(generated, textPdf({ pages: GENERATED_PAGES }));
  const files = [
    ...SAMPLES.map((name) => ({ label: name, file: path.join(samplesDir(), name) })),
    { label: `generated ${GENERATED_PAGES}-page text PDF`, file: generated },
  ];
  const rows: Row[] = [];
  try {
    for (const { label, file } of files) {
      const source = await localFile(file);
      const ours = () => extractPdf(source, ctx, 'auto');
      const pdfjs = () => extractPdf(source, ctx, 'pdfjs');
      const works: (() => unknown)[] = [ours, pdfjs];
      if (version)
        works.push(
          () => runPdftotext(file),
          () => runPdftotext(file, ['-bbox-layout']),
        );
      progress(`pdf: ${label}: ${works.length} candidates, ${RUNS} interleaved runs each`);
      const timings = await timeInterleaved(RUNS, works);
      const [oursDoc, pdfjsDoc] = [await ours(), await pdfjs()];
      const reference = version ? runPdftotext(file).split('\f').slice(0, -1).map(wordsOf) : undefined;
      const row = (tool: string, timing: Timing, pages: string[][]): Row => {
        const shares = reference ? reference.map((ref, i) => found(ref, pages[i] ?? [])) : [];
        const refWords = reference?.flat().length ?? 0;
        const hits = reference
          ? reference.reduce((n, ref, i) => n + found(ref, pages[i] ?? []) * ref.length, 0)
          : 0;
        return {
          file: label,
          tool,
          timing,
          pages: pages.length,
          words: pages.flat().length,
          samePages: reference ? reference.length === pages.length : false,
          minOverlap: shares.length ? Math.min(...shares) : Number.NaN,
          overlap: refWords ? hits / refWords : Number.NaN,
        };
      };
      const engine = (oursDoc.metadata.engine as { name?: string } | undefined)?.name ?? '?';
      rows.push(row(`ours (auto: ${engine})`, timings[0] as Timing, docPages(oursDoc)));
      rows.push(row('ours, pdfjs forced', timings[1] as Timing, docPages(pdfjsDoc)));
      if (reference) {
        rows.push(row('pdftotext (baseline)', timings[2] as Timing, reference));
        // Timed only: its listing is markup, not text, so words and agreement are not counted for it.
        const listing = runPdftotext(file, ['-bbox-layout']);
        rows.push({
          ...row('pdftotext -bbox-layout (the call ours makes)', timings[3] as Timing, reference),
          pages: listing.split('<page ').length - 1,
          words: Number.NaN,
          minOverlap: Number.NaN,
          overlap: Number.NaN,
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const baselineOf = (file: string) => rows.find((r) => r.file === file && r.tool === 'pdftotext (baseline)');
  const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : `${fixed(100 * x, 1)}%`);
  const table = markdownTable(
    [
      'file',
      'tool',
      'pages',
      'words',
      'best ms',
      'pages/s',
      'speed ratio vs pdftotext',
      'same pages',
      "pdftotext's words found (all / worst page)",
    ],
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'c', 'r'],
    rows.map((r) => {
      const baseline = baselineOf(r.file);
      return [
        r.file,
        r.tool,
        String(r.pages),
        Number.isNaN(r.words) ? 'n/a' : int(r.words),
        fixed(r.timing.bestMs, 1),
        int(r.pages / (r.timing.bestMs / 1000)),
        baseline ? fixed(baseline.timing.bestMs / r.timing.bestMs) : 'n/a',
        baseline ? (r.samePages ? 'yes' : 'NO') : 'n/a',
        Number.isNaN(r.overlap) ? 'n/a' : `${pct(r.overlap)} / ${pct(r.minOverlap)}`,
      ];
    }),
  );
  const note =
    `${RUNS} interleaved runs of each candidate per file after one warm-up (pdfjs loaded, pdftotext's version known); ` +
    'best time shown. Ratio = pdftotext time ÷ candidate time (above 1: faster than pdftotext). "ours (auto)" is ' +
    'the provider as workers run it (pages, paragraphs, headings, metadata; OCR off here); "-bbox-layout" is the ' +
    'listing with page sizes and word boxes our poppler path parses, so it bounds what that path can reach. ' +
    "Words found: the share of plain pdftotext's words, page by page, that the candidate has too.";

  const interpretation = (() => {
    const sample = rows.filter((r) => r.file === SAMPLES[0]);
    const ours = sample[0];
    const pdfjs = sample[1];
    const baseline = baselineOf(SAMPLES[0] as string);
    if (!ours || !pdfjs) return 'no figures';
    const speedup = fixed(pdfjs.timing.bestMs / ours.timing.bestMs);
    if (!baseline)
      return `On ${SAMPLES[0]} ours reads ${speedup}× as fast as with pdfjs forced; no pdftotext baseline.`;
    const gen = rows.filter((r) => r.file.startsWith('generated'));
    const genRatio =
      gen[0] && baselineOf(gen[0].file)
        ? fixed((baselineOf(gen[0].file) as Row).timing.bestMs / gen[0].timing.bestMs)
        : 'n/a';
    return (
      `On ${SAMPLES[0]} ours runs at ${fixed(baseline.timing.bestMs / ours.timing.bestMs)}× pdftotext's speed ` +
      `(${speedup}× as fast as with pdfjs forced), with ${ours.samePages ? 'the same' : 'a DIFFERENT'} page count and ` +
      `${pct(ours.overlap)} of its words; on the generated ${GENERATED_PAGES}-page PDF ${genRatio}× — the -bbox-layout ` +
      'listing our path needs for page sizes and type sizes costs poppler itself more than plain text.'
    );
  })();
  return {
    title: 'PDF extraction',
    compared: `\`extractFile('pdf', …)\` (poppler path, and pdfjs forced) against poppler's \`pdftotext\` on the samples' PDFs and a generated ${GENERATED_PAGES}-page PDF.`,
    table: `${table}\n\n${note}`,
    interpretation,
    notMeasured,
  };
}
