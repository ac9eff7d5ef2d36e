/**
 * The pdf provider's two engines on real files: poppler's pdftotext (used where installed) and pdfjs
 * (the fallback). On every PDF among the samples and fixtures, and on generated many-page PDFs, both
 * give the same page count, the same pages without a text layer, and per-page words that agree (≥ 95%),
 * also with plain `pdftotext` split on form feeds. Then the fallback (pdftotext missing, or failing on
 * a file), the limits, the time limit and cancellation (both kill the process), and streaming in
 * pdftotext page batches with resumes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExtractedDocument, ExtractedSection } from '../../src/domain/content.js';
import { CorruptFileError, LimitExceededError } from '../../src/domain/errors.js';
import { extractPdf, STREAM_BATCH_PAGES, streamPdfWith } from '../../src/providers/formats/pdf/pdf.js';
import { PdftotextFailedError, runPdftotext } from '../../src/providers/formats/pdf/pdf-poppler.js';
import { measureFlateStreams, scanStreams } from '../../src/providers/formats/pdf/pdf-streams.js';
import { DEFAULT_LIMITS } from '../../src/providers/limits.js';
import { DEFAULT_MEDIA } from '../../src/providers/media/settings.js';
import { ToolTimeoutError } from '../../src/providers/media/tools.js';
import {
  localContext,
  localFile,
  type ProviderContext,
  type ProviderLog,
  type StreamCheckpoint,
} from '../../src/providers/provider.js';
import { MiB, pdfFlateBomb } from '../support/hostile-files.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { textPdf } from '../support/text-pdf.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'p8fs-pdf-poppler-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function context(overrides: Partial<ProviderContext> = {}, media = {}, limits = {}): ProviderContext {
  // OCR off: pages without a text layer are compared as such; OCR has its own tests (content-ocr).
  return localContext({
    config: { limits: { ...DEFAULT_LIMITS, ...limits }, media: { ...DEFAULT_MEDIA, ocr: false, ...media } },
    ...overrides,
  });
}

function pdfsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.toLowerCase().endsWith('.pdf'))
    .map((name) => path.join(dir, name))
    .sort();
}

function writePdf(name: string, bytes: Buffer): string {
  const file = path.join(tmp, name);
  writeFileSync(file, bytes);
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

const words = (text: string) => text.replace(/[\u200b-\u200d\u2060\ufeff]/g, '').match(/\S+/g) ?? [];

function pageWords(doc: ExtractedDocument): string[][] {
  const pages = Array.from({ length: doc.pageCount ?? 0 }, () => [] as string[]);
  for (const s of doc.sections) pages[(s.page as number) - 1]?.push(...words(s.text));
  return pages;
}

/** Words both lists hold (as multisets) over the longer list's length: 1 when they agree fully. */
function overlap(a: string[], b: string[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const w of a) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of b) {
    const n = counts.get(w) ?? 0;
    if (n > 0) {
      common++;
      counts.set(w, n - 1);
    }
  }
  return common / Math.max(a.length, b.length);
}

/** The processes still running pdftotext on `file` (the path is unique to this test). */
function pdftotextsOn(file: string): string[] {
  const run = spawnSync('pgrep', ['-f', `pdftotext .*${file}`], { encoding: 'utf8' });
  return run.stdout.split('\n').filter(Boolean);
}

const PDFS = [
  ...pdfsUnder(SAMPLES_DIR),
  ...pdfsUnder(path.resolve('test/fixtures')),
  writePdf('generated-40.pdf', textPdf({ pages: 40, blank: [7, 40] })),
];

describe('poppler and pdfjs on every PDF among the samples and fixtures', () => {
  it('finds the samples, the fixtures and the generated one', () => {
    const names = PDFS.map((f) => path.basename(f));
    expect(names).toEqual(
      expect.arrayContaining(['Sample.pdf', 'sample.pdf', 'locked.pdf', 'generated-40.pdf']),
    );
  });

  it.each(PDFS.map((f) => [path.basename(f), f]))(
    '%s: same pages, same pages without text, per-page words agree ≥ 95% (also with plain pdftotext)',
    async (_name, file) => {
      const source = await localFile(file);
      const ctx = context();
      const [poppler, pdfjs] = await Promise.allSettled([
        extractPdf(source, ctx, 'auto'),
        extractPdf(source, ctx, 'pdfjs'),
      ]);
      if (pdfjs.status === 'rejected') {
        // A file neither can read (locked.pdf) fails the same way whichever engine was tried first.
        expect(poppler.status).toBe('rejected');
        const [a, b] = [(poppler as PromiseRejectedResult).reason, pdfjs.reason] as [Error, Error];
        expect(a).toBeInstanceOf(CorruptFileError);
        expect(a.message).toBe(b.message);
        return;
      }
      expect(poppler.status).toBe('fulfilled');
      const ours = (poppler as PromiseFulfilledResult<ExtractedDocument>).value;
      const theirs = pdfjs.value;
      expect(ours.metadata.engine).toMatchObject({
        name: 'pdftotext',
        version: expect.stringMatching(/^\d+\.\d+/),
      });
      expect(theirs.metadata.engine).toMatchObject({ name: 'pdfjs-dist' });
      expect(ours.pageCount).toBe(theirs.pageCount);
      expect(ours.metadata.pagesWithoutText).toEqual(theirs.metadata.pagesWithoutText);
      const a = pageWords(ours);
      const b = pageWords(theirs);
      const plain = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' })
        .split('\f')
        .slice(0, -1)
        .map(words);
      expect(plain.length).toBe(ours.pageCount);
      for (let page = 0; page < a.length; page++) {
        expect(
          overlap(a[page] as string[], b[page] as string[]),
          `page ${page + 1} vs pdfjs`,
        ).toBeGreaterThanOrEqual(0.95);
        expect(overlap(a[page] as string[], plain[page] as string[]), `page ${page + 1} vs pdftotext`).toBe(
          1,
        );
      }
      expect(a.flat().length).toBeGreaterThan(0);
    },
  );

  it('Sample.pdf: the same sections as pdfjs, headings and lists included, but for one bullet list', async () => {
    const source = await localFile(path.join(SAMPLES_DIR, 'content/Sample.pdf'));
    const ours = await extractPdf(source, context(), 'poppler');
    const theirs = await extractPdf(source, context(), 'pdfjs');
    const key = (s: ExtractedSection) => JSON.stringify([s.page, s.kind, s.heading, s.text]);
    const theirKeys = new Set(theirs.sections.map(key));
    const same = ours.sections.filter((s) => theirKeys.has(key(s)));
    // Page 6's "✅" list: poppler reads one bullet in another order; every other section is identical.
    expect(same.length).toBeGreaterThanOrEqual(theirs.sections.length - 3);
    expect(ours.sections.filter((s) => s.kind === 'heading').map((s) => s.text)).toEqual(
      theirs.sections.filter((s) => s.kind === 'heading').map((s) => s.text),
    );
  });
});

describe('falling back to pdfjs', () => {
  it('reads the file with pdfjs where pdftotext is not installed, says so once, records why', async () => {
    const warnings: string[] = [];
    const log: ProviderLog = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
    const ctx = context({ log }, { pdftoppm: path.join(tmp, 'no-poppler', 'pdftoppm') });
    const source = await localFile(path.join(SAMPLES_DIR, 'small/sample.pdf'));
    const first = await extractPdf(source, ctx);
    await extractPdf(source, ctx);
    expect(first.metadata.engine).toMatchObject({
      name: 'pdfjs-dist',
      fallbackReason: expect.stringMatching(/pdftotext is not installed/),
    });
    expect(first.sections).toEqual((await extractPdf(source, context(), 'pdfjs')).sections);
    expect(warnings).toEqual(['pdftotext not found: PDFs are read by pdfjs (slower)']);
  });

  it('lets pdfjs word the failure of a file pdftotext cannot read: locked, damaged', async () => {
    const infos: unknown[] = [];
    const log: ProviderLog = { debug() {}, info: (_m, meta) => void infos.push(meta), warn() {}, error() {} };
    const locked = await localFile(path.resolve('test/fixtures/content/locked.pdf'));
    const err = await rejection(extractPdf(locked, context({ log })));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/^locked\.pdf is password-protected/);
    expect(infos).toEqual([
      { file: 'locked.pdf', reason: 'pdftotext: Command Line Error: Incorrect password' },
    ]);

    const random = await localFile(
      writePdf('random.pdf', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251))),
    );
    const damaged = await rejection(extractPdf(random, context()));
    expect(damaged).toBeInstanceOf(CorruptFileError);
    expect(damaged.message).toContain(
      'random.pdf is damaged or not a PDF (InvalidPDFException: Invalid PDF structure',
    );
    // Forced, poppler's own failure comes back as it is, naming the file.
    const forced = await rejection(extractPdf(random, context(), 'poppler'));
    expect(forced).toBeInstanceOf(PdftotextFailedError);
    expect(forced.message).toMatch(/^pdftotext: .*xref/i);
  });
});

describe('the pre-scan of flate streams chooses the engine', () => {
  it('measures flate behind ASCII85 (ReportLab) and ASCIIHex; a bomb there goes to pdfjs, as before', async () => {
    const small = readFileSync(path.join(SAMPLES_DIR, 'small/sample.pdf'));
    // ReportLab writes ASCII85 then Flate: 523 bytes of content streams once both are undone.
    const measured = await measureFlateStreams(small, 100_000, new AbortController().signal);
    expect(measured).toMatchObject({ bytes: 0, wrappedBytes: 523, unmeasured: [] });

    // A flate bomb behind ASCIIHex: the limit never covered it (the memory ceiling of the extraction
    // process does, see hardening-bombs); poppler would spend minutes of CPU on it, pdfjs reads it.
    const bomb = await localFile(
      writePdf('hidden.pdf', pdfFlateBomb({ inflatedBytes: 8 * MiB, hexWrapped: true })),
    );
    const doc = await extractPdf(bomb, context({}, {}, { maxDecompressedBytes: MiB }));
    expect(doc.metadata.engine).toMatchObject({
      name: 'pdfjs-dist',
      fallbackReason: 'streams behind ASCIIHex/ASCII85 inflate past the limit: read by pdfjs',
    });
    expect(doc.sections.map((s) => s.text)).toEqual(['bomb']);
    const lzw = Buffer.from(
      '%PDF-1.4\n1 0 obj\n<< /Length 4 /Filter /LZWDecode >>\nstream\nabcd\nendstream\nendobj\n',
    );
    expect(scanStreams(lzw).unmeasured).toEqual(['/LZWDecode']);
  });
});

describe('limits, time limit and cancellation on the poppler path', () => {
  it('stops at maxPages and maxExtractedChars, killing pdftotext before it reads the rest', async () => {
    const sample = await localFile(path.join(SAMPLES_DIR, 'content/Sample.pdf'));
    const pages = await rejection(extractPdf(sample, context({}, {}, { maxPages: 3 }), 'poppler'));
    expect(pages).toBeInstanceOf(LimitExceededError);
    expect(pages.message).toMatch(/^Sample\.pdf has more pages than the 3 limit on pages/);

    const file = writePdf('long-text.pdf', textPdf({ pages: 600 }));
    const seen: number[] = [];
    const ctx = context({}, {}, { maxExtractedChars: 20_000 });
    const err = await rejection(
      runPdftotext(await localFile(file), ctx, {
        command: 'pdftotext',
        maxPages: 5000,
        onPage: (_page, n) => void seen.push(n),
      }),
    );
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err.message).toContain(
      'long-text.pdf yields more text than the 20000 limit on extracted characters',
    );
    // Parsed as it came: ~20 kB of text is a handful of pages of the 600.
    expect(seen.length).toBeLessThan(20);
    expect(pdftotextsOn(file)).toEqual([]);
  });

  it('kills pdftotext at its time limit (retryable) and on cancellation (with the signal reason)', async () => {
    const file = await localFile(writePdf('slow.pdf', textPdf({ pages: 1500 })));
    const timeout = await rejection(
      runPdftotext(file, context(), {
        command: 'pdftotext',
        maxPages: 5000,
        timeoutMs: 50,
        onPage: () => {},
      }),
    );
    expect(timeout).toBeInstanceOf(ToolTimeoutError);
    expect(timeout.message).toContain('slow.pdf');
    expect(pdftotextsOn(file.path)).toEqual([]);

    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    let pages = 0;
    const running = runPdftotext(file, context({ signal: controller.signal }), {
      command: 'pdftotext',
      maxPages: 5000,
      onPage: () => {
        pages++;
        if (pages === 2) controller.abort(reason);
      },
    });
    expect(await rejection(running)).toBe(reason);
    expect(pages).toBeLessThan(1500);
    // The provider too: cancelled mid-way, it fails with the reason, not as a damaged file.
    const again = new AbortController();
    const extraction = extractPdf(file, context({ signal: again.signal }));
    setTimeout(() => again.abort(reason), 30);
    expect(await rejection(extraction)).toBe(reason);
    await new Promise((r) => setTimeout(r, 50));
    expect(pdftotextsOn(file.path)).toEqual([]);
  });
});

describe('streaming on the poppler path', () => {
  async function streamed(file: string, from?: StreamCheckpoint, engine: 'auto' | 'pdfjs' = 'auto') {
    const items: { section: ExtractedSection; checkpoint?: StreamCheckpoint }[] = [];
    const stream = streamPdfWith(await localFile(file), context(), engine, from);
    let next = await stream.next();
    while (!next.done) {
      items.push(next.value);
      next = await stream.next();
    }
    return { items, summary: next.value };
  }

  it(`reads ${STREAM_BATCH_PAGES}-page batches into the same sections as extract, resumable from any page`, async () => {
    const pages = STREAM_BATCH_PAGES * 2 + 6;
    const file = writePdf('stream.pdf', textPdf({ pages, blank: [STREAM_BATCH_PAGES + 1] }));
    const whole = await extractPdf(await localFile(file), context());
    const { items, summary } = await streamed(file);
    expect(items.map((i) => i.section)).toEqual(whole.sections);
    expect(summary).toMatchObject({ pageCount: pages, metadata: { engine: { name: 'pdftotext' } } });
    const checkpoints = items.flatMap((item, index) =>
      item.checkpoint ? [{ index, cp: item.checkpoint }] : [],
    );
    // One checkpoint per page with text; resume inside the first, second and last batch.
    expect(checkpoints.length).toBe(pages - 1);
    for (const k of [3, STREAM_BATCH_PAGES + 4, pages - 3]) {
      const { index, cp } = checkpoints[k] as { index: number; cp: StreamCheckpoint };
      expect(cp.state).toMatchObject({ engine: 'pdftotext', pages });
      const resumed = await streamed(file, JSON.parse(JSON.stringify(cp)));
      expect(resumed.items.map((i) => i.section)).toEqual(whole.sections.slice(index + 1));
    }
  });

  it('resumes a checkpoint pdfjs wrote (no engine in it) with pdfjs, whose type sizes it holds', async () => {
    const file = path.join(SAMPLES_DIR, 'content/Sample.pdf');
    const byPdfjs = await streamed(file, undefined, 'pdfjs');
    const at = byPdfjs.items.findIndex((i) => i.checkpoint && i.section.page === 3);
    const cp = byPdfjs.items[at]?.checkpoint as StreamCheckpoint;
    const { engine: _engine, ...oldState } = cp.state as Record<string, unknown>;
    const resumed = await streamed(file, { ...cp, state: oldState });
    expect(resumed.summary?.metadata?.engine).toMatchObject({ name: 'pdfjs-dist' });
    expect(resumed.items.map((i) => i.section)).toEqual(byPdfjs.items.slice(at + 1).map((i) => i.section));
  });
});
