/**
 * PDF text through pdfjs-dist: the fallback engine of the pdf provider, used where poppler's pdftotext
 * is not installed or fails on a file (pdf.ts). It also words the failures of locked and damaged files
 * (corrupt()), which pdf.ts keeps the same whichever engine was tried first.
 */
import { CorruptFileError, NonRetryableError } from '../../../domain/errors.js';
import { exhausted, isResourceExhaustion } from '../../limits.js';
import { cleanLine, type Line, type PdfPage } from './pdf-layout.js';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
export type PdfJsDocument = Awaited<ReturnType<PdfJs['getDocument']>['promise']>;

// pdfjs is large and only PDF files need it: load it on first use, once per process.
let pdfjsPromise: Promise<PdfJs> | undefined;
function loadPdfJs(): Promise<PdfJs> {
  pdfjsPromise ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjsPromise;
}

/** pdfjs-dist's version ("5.5.207"), loading it if needed. */
export async function pdfjsVersion(): Promise<string> {
  return (await loadPdfJs()).version;
}

interface TextItemLike {
  str: string;
  transform: number[];
  height: number;
  hasEOL: boolean;
}

/**
 * Opens a PDF held in memory (a view of `bytes`, not a copy). The signal destroys the loading task,
 * which also ends the document, so a page being read stops at once.
 */
export async function openPdfJs(
  bytes: Buffer,
  name: string,
  signal: AbortSignal,
): Promise<{ doc: PdfJsDocument; release: () => void }> {
  const pdfjs = await loadPdfJs();
  signal.throwIfAborted();
  const task = pdfjs.getDocument({
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
    // Text extraction needs neither eval'd font programs nor font faces; both only cost time here.
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
  });
  const stop = () => void task.destroy().catch(() => undefined);
  signal.addEventListener('abort', stop, { once: true });
  const release = () => signal.removeEventListener('abort', stop);
  try {
    return { doc: await task.promise, release };
  } catch (err) {
    release();
    await task.destroy().catch(() => undefined);
    signal.throwIfAborted();
    throw corrupt(name, err);
  }
}

/** One page's lines and size. */
export async function readPdfJsPage(doc: PdfJsDocument, pageNumber: number): Promise<PdfPage> {
  const page = await doc.getPage(pageNumber);
  const content = await page.getTextContent();
  const [x0 = 0, y0 = 0, x1 = 612, y1 = 792] = page.view;
  page.cleanup();
  return {
    lines: toLines(content.items as unknown[]),
    widthPts: Math.abs(x1 - x0),
    heightPts: Math.abs(y1 - y0),
  };
}

/** Title, author… from the document's info dictionary. */
export async function pdfJsMetadata(doc: PdfJsDocument): Promise<Record<string, unknown>> {
  const info = ((await doc.getMetadata().catch(() => undefined))?.info ?? {}) as Record<string, unknown>;
  const metadata: Record<string, unknown> = {};
  for (const key of ['Title', 'Author', 'Subject', 'Producer', 'Creator', 'CreationDate']) {
    const value = info[key];
    if (typeof value === 'string' && value.trim())
      metadata[key[0]?.toLowerCase() + key.slice(1)] = value.trim();
  }
  return metadata;
}

/** A failure of pdfjs, told apart: a limit crossed, the engine outgrown, a locked or damaged file. */
export function corrupt(name: string, err: unknown): Error {
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
    const clean = cleanLine(text);
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
