import type { ExtractedDocument, ExtractedSection } from '../domain/content.js';
import { CorruptFileError, NonRetryableError } from '../domain/errors.js';
import { checkExtractedChars, exhausted, isResourceExhaustion, limitExceeded } from './limits.js';
import { ocrPdfPages, type PageToOcr } from './pdf-ocr.js';
import { measureFlateStreams } from './pdf-streams.js';
import {
  type ContentProvider,
  type ProviderContext,
  readSourceFile,
  type SourceFile,
  type StreamCheckpoint,
  type StreamItem,
  type StreamSummary,
} from './provider.js';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

// pdfjs is large and only PDF files need it: load it on first use, once per process.
let pdfjsPromise: Promise<PdfJs> | undefined;
function loadPdfJs(): Promise<PdfJs> {
  pdfjsPromise ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjsPromise;
}

interface Line {
  text: string;
  /** Baseline y in PDF units (grows upwards). */
  y: number;
  /** Font size, taken from the text matrix. */
  size: number;
}

interface TextItemLike {
  str: string;
  transform: number[];
  height: number;
  hasEOL: boolean;
}

/**
 * Per-page text with 1-based page numbers. Each page becomes paragraphs (split on vertical gaps),
 * lists, and headings (lines set clearly larger than the document's body text, nested by size), so
 * chunks can break where the author did. Pages without a text layer (scans, pictures) are listed in
 * metadata and read by OCR (pdf-ocr.ts): their sections say `source: 'ocr'`. An empty file is corrupt: no PDF is zero bytes. Limits: pages, extracted
 * characters, and the bytes its flate streams inflate to (measured before pdfjs reads the file, see
 * pdf-streams.ts).
 */
export const pdfProvider: ContentProvider = {
  name: 'pdf',
  version: '1.1.0',
  mimeTypes: ['application/pdf'],
  extensions: ['.pdf'],
  extract: extractPdf,
  // Huge text-layer PDFs, page by page (see streamPdf at the end of this file).
  streamSections: (file, ctx, from) => streamPdf(file, ctx, from),
};

async function extractPdf(file: SourceFile, ctx: ProviderContext): Promise<ExtractedDocument> {
  const { document, pagesToOcr } = await readTextLayer(file, ctx);
  if (pagesToOcr.length === 0) return document;
  // After pdfjs is done with the file: OCR failures are reported as what they are, not as a damaged PDF.
  const ocr = await ocrPdfPages(file, pagesToOcr, ctx, ctx.config.limits);
  const sections = [...document.sections, ...[...ocr.sections.values()].flat()];
  // Stable: the text layer's order within a page is kept, OCR pages fall into place between them.
  sections.sort((a, b) => (a.page ?? 0) - (b.page ?? 0));
  checkExtractedChars(
    file.name,
    ctx.config.limits,
    sections.reduce((n, s) => n + s.text.length, 0),
  );
  return { ...document, sections, metadata: { ...document.metadata, ...ocr.metadata } };
}

async function readTextLayer(
  file: SourceFile,
  ctx: ProviderContext,
): Promise<{ document: ExtractedDocument; pagesToOcr: PageToOcr[] }> {
  const { name } = file;
  const { signal } = ctx;
  const { limits } = ctx.config;
  const pdfjs = await loadPdfJs();
  const bytes = await readSourceFile(file, signal);
  if (bytes.length === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not a PDF`);
  const inflated = await measureFlateStreams(bytes, limits.maxDecompressedBytes, signal);
  if (inflated.bytes > limits.maxDecompressedBytes) {
    const measured = `${inflated.measured} of ${inflated.streams} measured`;
    throw limitExceeded(
      name,
      limits,
      'maxDecompressedBytes',
      `its flate streams inflate past it (${measured})`,
    );
  }
  const data = new Uint8Array(bytes);
  signal.throwIfAborted();
  const task = pdfjs.getDocument({
    data,
    // Text extraction needs neither eval'd font programs nor font faces; both only cost time here.
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
  });
  // Destroying the loading task also ends the document, so a page being read stops at once.
  const stop = () => void task.destroy().catch(() => undefined);
  signal.addEventListener('abort', stop, { once: true });
  try {
    let doc: Awaited<typeof task.promise>;
    try {
      doc = await task.promise;
    } catch (err) {
      await task.destroy().catch(() => undefined);
      signal.throwIfAborted();
      throw corrupt(name, err);
    }
    try {
      if (doc.numPages > limits.maxPages) {
        throw limitExceeded(name, limits, 'maxPages', `it has ${doc.numPages} pages`);
      }
      // Lines of every page first: what counts as body text (and so as a heading) is a property of the
      // whole document, and a page of diagrams or footnotes would mislead a per-page guess.
      const pages: Line[][] = [];
      const sizes: { widthPts: number; heightPts: number }[] = [];
      let characters = 0;
      for (let pageNumber = 1; pageNumber <= doc.numPages; pageNumber++) {
        signal.throwIfAborted();
        const page = await doc.getPage(pageNumber);
        const content = await page.getTextContent();
        const [x0 = 0, y0 = 0, x1 = 612, y1 = 792] = page.view;
        sizes.push({ widthPts: Math.abs(x1 - x0), heightPts: Math.abs(y1 - y0) });
        page.cleanup();
        const lines = toLines(content.items as unknown[]);
        pages.push(lines);
        characters = lines.reduce((n, line) => n + line.text.length + 1, characters);
        checkExtractedChars(name, limits, characters);
        ctx.heartbeat({ page: pageNumber, of: doc.numPages });
      }
      signal.throwIfAborted();
      const body = bodySize(pages.flat());
      const sections: ExtractedSection[] = [];
      const pagesWithoutText: number[] = [];
      const headings: { size: number; text: string }[] = [];
      pages.forEach((lines, index) => {
        const page = index + 1;
        if (lines.length === 0) pagesWithoutText.push(page);
        for (const block of toBlocks(lines, body)) {
          if (block.kind === 'heading') {
            // Larger type means an outer heading; equal or smaller closes the previous one.
            while (headings.length && (headings.at(-1) as { size: number }).size <= block.size)
              headings.pop();
            headings.push({ size: block.size, text: block.text.replace(/\s+/g, ' ') });
          }
          const heading = headings.length ? headings.map((h) => h.text).join(' > ') : undefined;
          sections.push({ text: block.text, page, kind: block.kind, ...(heading ? { heading } : {}) });
        }
      });
      if (pagesWithoutText.length > 0) {
        // Worth a line: OCR reads them next, which takes seconds per page.
        ctx.log.info('PDF pages without a text layer: OCR', { file: name, pages: pagesWithoutText });
      }
      const info = ((await doc.getMetadata().catch(() => undefined))?.info ?? {}) as Record<string, unknown>;
      const metadata: Record<string, unknown> = { pagesWithoutText };
      for (const key of ['Title', 'Author', 'Subject', 'Producer', 'Creator', 'CreationDate']) {
        const value = info[key];
        if (typeof value === 'string' && value.trim())
          metadata[key[0]?.toLowerCase() + key.slice(1)] = value.trim();
      }
      const pagesToOcr = pagesWithoutText.map((page) => ({
        page,
        ...(sizes[page - 1] as (typeof sizes)[0]),
      }));
      return { document: { provider: 'pdf', pageCount: doc.numPages, sections, metadata }, pagesToOcr };
    } catch (err) {
      // A cancelled extraction fails with the cancellation, not as a damaged file.
      signal.throwIfAborted();
      throw corrupt(name, err);
    } finally {
      // Already destroyed when the abort listener ran first; that second destroy has nothing to report.
      await doc.destroy().catch(() => undefined);
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/** A failure of pdfjs, told apart: a limit crossed, the engine outgrown, a locked or damaged file. */
function corrupt(name: string, err: unknown): Error {
  if (err instanceof NonRetryableError) return err;
  if (isResourceExhaustion(err)) return exhausted(name, err);
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const what =
    err instanceof Error && err.name === 'PasswordException'
      ? 'is password-protected'
      : 'is damaged or not a PDF';
  return new CorruptFileError(`${name} ${what} (${reason})`);
}

function isTextItem(item: unknown): item is TextItemLike {
  return typeof item === 'object' && item !== null && 'str' in item && 'transform' in item;
}

/** Joins text items into lines, ending a line where pdfjs saw one (hasEOL). */
function toLines(items: unknown[]): Line[] {
  const lines: Line[] = [];
  let text = '';
  let y = 0;
  let size = 0;
  const end = () => {
    const clean = text.replace(/[ \t\u00a0]+/g, ' ').trim();
    if (clean) lines.push({ text: clean, y, size });
    text = '';
    size = 0;
  };
  for (const item of items) {
    if (!isTextItem(item)) continue;
    if (item.str) {
      if (!text) y = item.transform[5] ?? 0;
      // The matrix's vertical scale is the font size even when `height` is 0 for rotated or odd fonts.
      const itemSize = Math.abs(item.transform[3] ?? 0) || item.height;
      if (item.str.trim()) size = Math.max(size, itemSize);
      text += item.str;
    }
    if (item.hasEOL) end();
  }
  end();
  return lines;
}

interface Block {
  text: string;
  kind: 'heading' | 'paragraph' | 'list';
  size: number;
}

const BULLET = /^(?:[●•▪◦‣○■□–-]|\d{1,3}[.)])\s/;

/**
 * Groups lines into paragraphs where the vertical gap is clearly wider than the page's ordinary line
 * spacing, and marks short runs of type larger than the body as headings.
 */
function toBlocks(lines: Line[], body: number): Block[] {
  const spacing = lineSpacing(lines);
  const blocks: Block[] = [];
  let current: Line[] = [];
  let currentHeading = false;
  const flush = () => {
    const first = current[0];
    if (first) {
      const text = current.map((l) => l.text).join('\n');
      const kind = currentHeading ? 'heading' : BULLET.test(first.text) ? 'list' : 'paragraph';
      blocks.push({ text, kind, size: Math.max(...current.map((l) => l.size)) });
    }
    current = [];
  };
  for (const line of lines) {
    const heading = body > 0 && line.size > body * 1.15 && line.text.length <= 200;
    const prev = current.at(-1);
    if (prev) {
      const ratio = (prev.y - line.y) / Math.max(prev.size, line.size, 1);
      // A wide gap, a jump back up (next column) or a switch between heading and body type.
      if (heading !== currentHeading || ratio > spacing * 1.35 || ratio < -0.5 || current.length >= 200)
        flush();
    }
    if (!current.length) currentHeading = heading;
    current.push(line);
  }
  flush();
  return blocks;
}

/** Ordinary baseline-to-baseline distance in font sizes: the lower quartile of the page's gaps. */
function lineSpacing(lines: Line[]): number {
  const ratios: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const a = lines[i - 1] as Line;
    const b = lines[i] as Line;
    const gap = a.y - b.y;
    if (gap > 0 && Math.abs(a.size - b.size) < 0.5) ratios.push(gap / Math.max(a.size, 1));
  }
  if (ratios.length < 3) return 1.5;
  ratios.sort((x, y) => x - y);
  return ratios[Math.floor(ratios.length / 4)] as number;
}

/** The font size carrying most letters in the document: what body text looks like there. */
function bodySize(lines: Line[]): number {
  const weight = new Map<number, number>();
  for (const line of lines) {
    const key = Math.round(line.size * 2) / 2;
    // Letters only, so box-drawing diagrams and rules of dashes do not pass for body text.
    const letters = line.text.match(/\p{L}/gu)?.length ?? 0;
    weight.set(key, (weight.get(key) ?? 0) + letters);
  }
  let best = 0;
  let bestWeight = -1;
  for (const [size, w] of weight) {
    if (w > bestWeight || (w === bestWeight && size < best)) {
      best = size;
      bestWeight = w;
    }
  }
  return best;
}

/**
 * The streaming form (ContentProvider.streamSections) for PDFs too large to hold as extracted text:
 * pdfjs still reads the file's bytes, but sections go out page by page and no page's text is kept after
 * it. A first pass measures the body type size (which extract learns from all pages at once), a second
 * hands out the pages' sections, OCR pages in place; a checkpoint after each page carries the page to
 * go on from, the body size and the heading path. Same sections, in the same order, as extract.
 */
async function* streamPdf(
  file: SourceFile,
  ctx: ProviderContext,
  from?: StreamCheckpoint,
): AsyncGenerator<StreamItem, StreamSummary | undefined, undefined> {
  const { name } = file;
  const { signal } = ctx;
  const { limits } = ctx.config;
  const state = (from?.state ?? {}) as {
    page?: number;
    body?: number;
    headings?: { size: number; text: string }[];
    characters?: number;
  };
  const doc = await openPdfForStream(file, ctx);
  try {
    const numPages = doc.numPages;
    if (numPages > limits.maxPages) throw limitExceeded(name, limits, 'maxPages', `it has ${numPages} pages`);
    const pageLines = async (pageNumber: number) => {
      signal.throwIfAborted();
      const page = await doc.getPage(pageNumber);
      const content = await page.getTextContent();
      const [x0 = 0, y0 = 0, x1 = 612, y1 = 792] = page.view;
      page.cleanup();
      return {
        lines: toLines(content.items as unknown[]),
        size: { widthPts: Math.abs(x1 - x0), heightPts: Math.abs(y1 - y0) },
      };
    };
    let body = state.body;
    if (body === undefined) {
      // Pass 1: letters per type size over every page (what bodySize weighs), no text kept.
      const weights = new Map<number, number>();
      for (let pageNumber = 1; pageNumber <= numPages; pageNumber++) {
        for (const line of (await pageLines(pageNumber)).lines) {
          const key = Math.round(line.size * 2) / 2;
          weights.set(key, (weights.get(key) ?? 0) + (line.text.match(/\p{L}/gu)?.length ?? 0));
        }
        ctx.heartbeat({ step: 'measure', page: pageNumber, of: numPages });
      }
      // bodySize's choice over the same weights: the size carrying most letters, the smaller on a tie.
      let best = 0;
      let bestWeight = -1;
      for (const [size, w] of weights) {
        if (w > bestWeight || (w === bestWeight && size < best)) {
          best = size;
          bestWeight = w;
        }
      }
      body = best;
    }
    const headings = (state.headings ?? []).map((h) => ({ ...h }));
    let characters = Number(state.characters ?? 0);
    const metadata: Record<string, unknown> = {};
    for (let pageNumber = state.page ?? 1; pageNumber <= numPages; pageNumber++) {
      const { lines, size } = await pageLines(pageNumber);
      let sections: ExtractedSection[] = [];
      if (lines.length === 0) {
        const ocr = await ocrPdfPages(file, [{ page: pageNumber, ...size }], ctx, limits);
        sections = ocr.sections.get(pageNumber) ?? [];
        Object.assign(metadata, ocr.metadata);
      }
      for (const block of toBlocks(lines, body)) {
        if (block.kind === 'heading') {
          while (headings.length && (headings.at(-1) as { size: number }).size <= block.size) headings.pop();
          headings.push({ size: block.size, text: block.text.replace(/\s+/g, ' ') });
        }
        const heading = headings.length ? headings.map((h) => h.text).join(' > ') : undefined;
        sections.push({
          text: block.text,
          page: pageNumber,
          kind: block.kind,
          ...(heading ? { heading } : {}),
        });
      }
      characters = sections.reduce((n, s) => n + s.text.length, characters);
      checkExtractedChars(name, limits, characters);
      ctx.heartbeat({ page: pageNumber, of: numPages });
      const checkpoint: StreamCheckpoint = {
        // Pages are the real position; the byte figure is an estimate for progress.
        byte: Math.floor((file.size * pageNumber) / numPages),
        state: { page: pageNumber + 1, body, headings: headings.map((h) => ({ ...h })), characters },
      };
      for (let i = 0; i < sections.length; i++) {
        const section = sections[i] as ExtractedSection;
        yield i === sections.length - 1 ? { section, checkpoint } : { section };
      }
    }
    return { pageCount: numPages, metadata };
  } catch (err) {
    signal.throwIfAborted();
    throw corrupt(name, err);
  } finally {
    await doc.destroy().catch(() => undefined);
  }
}

/** The checks and the loading of readTextLayer, for the streaming form. */
async function openPdfForStream(file: SourceFile, ctx: ProviderContext) {
  const { name } = file;
  const { signal } = ctx;
  const { limits } = ctx.config;
  const pdfjs = await loadPdfJs();
  const bytes = await readSourceFile(file, signal);
  if (bytes.length === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not a PDF`);
  const inflated = await measureFlateStreams(bytes, limits.maxDecompressedBytes, signal);
  if (inflated.bytes > limits.maxDecompressedBytes) {
    const measured = `${inflated.measured} of ${inflated.streams} measured`;
    throw limitExceeded(
      name,
      limits,
      'maxDecompressedBytes',
      `its flate streams inflate past it (${measured})`,
    );
  }
  const task = pdfjs.getDocument({
    // A view of the read bytes, not a copy: a huge PDF is held once.
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
  });
  const stop = () => void task.destroy().catch(() => undefined);
  signal.addEventListener('abort', stop, { once: true });
  try {
    return await task.promise;
  } catch (err) {
    await task.destroy().catch(() => undefined);
    signal.throwIfAborted();
    throw corrupt(name, err);
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
