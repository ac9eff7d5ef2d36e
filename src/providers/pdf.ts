import type { ExtractedDocument, ExtractedSection } from '../domain/content.js';
import { CorruptFileError, NonRetryableError } from '../domain/errors.js';
import { checkExtractedChars, exhausted, isResourceExhaustion, limitExceeded } from './limits.js';
import { measureFlateStreams } from './pdf-streams.js';
import { type ContentProvider, type ProviderContext, readSourceFile, type SourceFile } from './provider.js';

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
 * metadata for a later OCR step. An empty file is corrupt: no PDF is zero bytes. Limits: pages, extracted
 * characters, and the bytes its flate streams inflate to (measured before pdfjs reads the file, see
 * pdf-streams.ts).
 */
export const pdfProvider: ContentProvider = {
  name: 'pdf',
  version: '1.0.0',
  mimeTypes: ['application/pdf'],
  extensions: ['.pdf'],
  extract: extractPdf,
};

async function extractPdf(file: SourceFile, ctx: ProviderContext): Promise<ExtractedDocument> {
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
      let characters = 0;
      for (let pageNumber = 1; pageNumber <= doc.numPages; pageNumber++) {
        signal.throwIfAborted();
        const page = await doc.getPage(pageNumber);
        const content = await page.getTextContent();
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
        // Worth a line: their text is missing from the result until an OCR step reads them.
        ctx.log.info('PDF pages without a text layer', { file: name, pages: pagesWithoutText });
      }
      const info = ((await doc.getMetadata().catch(() => undefined))?.info ?? {}) as Record<string, unknown>;
      const metadata: Record<string, unknown> = { pagesWithoutText };
      for (const key of ['Title', 'Author', 'Subject', 'Producer', 'Creator', 'CreationDate']) {
        const value = info[key];
        if (typeof value === 'string' && value.trim())
          metadata[key[0]?.toLowerCase() + key.slice(1)] = value.trim();
      }
      return { provider: 'pdf', pageCount: doc.numPages, sections, metadata };
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
