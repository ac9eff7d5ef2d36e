import type { ExtractedDocument, ExtractedSection } from '../../../domain/content.js';
import { CorruptFileError } from '../../../domain/errors.js';
import { checkExtractedChars, limitExceeded } from '../../limits.js';
import { ToolTimeoutError, ToolUnavailableError } from '../../media/tools.js';
import {
  type ContentProvider,
  type ProviderContext,
  readSourceFile,
  type SourceFile,
  type StreamCheckpoint,
  type StreamItem,
  type StreamSummary,
} from '../../provider.js';
import { bodySize, type HeadingState, type PdfPage, pageSections, weighSizes } from './pdf-layout.js';
import { ocrPdfPages, type PageToOcr } from './pdf-ocr.js';
import { corrupt, openPdfJs, pdfJsMetadata, pdfjsVersion, readPdfJsPage } from './pdf-pdfjs.js';
import { PdftotextFailedError, pdftotextCommand, pdftotextVersion, runPdftotext } from './pdf-poppler.js';
import { measureFlateStreams } from './pdf-streams.js';

/**
 * Which engine reads the text layer: `auto` (poppler's pdftotext where installed, pdfjs where it is not
 * or where pdftotext fails on the file), or one of them forced (tests and the bench compare them).
 */
export type PdfEngine = 'auto' | 'poppler' | 'pdfjs';

/** Which engine read a document, recorded in its metadata (`engine`), with the reason for a fallback. */
export interface PdfEngineUsed {
  name: 'pdftotext' | 'pdfjs-dist';
  version?: string;
  /** Why pdftotext did not read it (not installed, or its error on this file). */
  fallbackReason?: string;
}

/**
 * Per-page text with 1-based page numbers. Each page becomes paragraphs (split on vertical gaps),
 * lists, and headings (lines set clearly larger than the document's body text, nested by size), so
 * chunks can break where the author did (pdf-layout.ts). The text layer is read by poppler's pdftotext
 * where installed (pdf-poppler.ts: one process per document, 2–3× faster than pdfjs here), else by
 * pdfjs (pdf-pdfjs.ts); `metadata.engine` says which. Pages without a text layer (scans, pictures) are
 * listed in metadata and read by OCR (pdf-ocr.ts): their sections say `source: 'ocr'`. An empty file
 * is corrupt: no PDF is zero bytes. Limits: pages, extracted characters, and the bytes its flate
 * streams inflate to (measured before either engine reads the file, see pdf-streams.ts).
 */
export const pdfProvider: ContentProvider = {
  name: 'pdf',
  // 2.0: poppler reads the text layer where installed (line breaks and spacing differ from pdfjs's).
  version: '2.0.0',
  mimeTypes: ['application/pdf'],
  extensions: ['.pdf'],
  extract: (file, ctx) => extractPdf(file, ctx),
  // Huge text-layer PDFs, page by page (see streamPdf at the end of this file).
  streamSections: (file, ctx, from) => streamPdf(file, ctx, from),
};

interface TextLayer {
  pages: PdfPage[];
  metadata: Record<string, unknown>;
  engine: PdfEngineUsed;
}

/** The whole-document extraction, with the engine chosen (`auto` for the provider). */
export async function extractPdf(
  file: SourceFile,
  ctx: ProviderContext,
  engine: PdfEngine = 'auto',
): Promise<ExtractedDocument> {
  const { pages, metadata, engine: used } = await readTextLayer(file, ctx, engine);
  const weights = new Map<number, number>();
  for (const page of pages) weighSizes(page.lines, weights);
  // What counts as body text (and so as a heading) is a property of the whole document.
  const body = bodySize(weights);
  const headings: HeadingState[] = [];
  const sections: ExtractedSection[] = [];
  const pagesWithoutText: number[] = [];
  pages.forEach((page, index) => {
    if (page.lines.length === 0) pagesWithoutText.push(index + 1);
    sections.push(...pageSections(page.lines, index + 1, body, headings));
  });
  const document: ExtractedDocument = {
    provider: 'pdf',
    pageCount: pages.length,
    sections,
    metadata: { pagesWithoutText, ...metadata, engine: used },
  };
  if (pagesWithoutText.length === 0) return document;
  // Worth a line: OCR reads them next, which takes seconds per page.
  ctx.log.info('PDF pages without a text layer: OCR', { file: file.name, pages: pagesWithoutText });
  const pagesToOcr: PageToOcr[] = pagesWithoutText.map((page) => {
    const { widthPts, heightPts } = pages[page - 1] as PdfPage;
    return { page, widthPts, heightPts };
  });
  // After the engine is done with the file: OCR failures are reported as what they are, not as damage.
  const ocr = await ocrPdfPages(file, pagesToOcr, ctx, ctx.config.limits);
  const all = [...sections, ...[...ocr.sections.values()].flat()];
  // Stable: the text layer's order within a page is kept, OCR pages fall into place between them.
  all.sort((a, b) => (a.page ?? 0) - (b.page ?? 0));
  checkExtractedChars(
    file.name,
    ctx.config.limits,
    all.reduce((n, s) => n + s.text.length, 0),
  );
  return { ...document, sections: all, metadata: { ...document.metadata, ...ocr.metadata } };
}

/**
 * Reads the file under the signal and applies the checks made before any engine sees it. Returns the
 * bytes and, when some streams could not be measured (filters the pre-scan does not decode) or inflate
 * past the limit behind an ASCIIHex/ASCII85 wrapper (a flate bomb the limit does not cover, as before),
 * why pdftotext should not read it: poppler would inflate such a stream in little memory but for
 * minutes of CPU, bounded only by its time limit (a retryable error), while pdfjs runs into the
 * extraction process's memory ceiling within seconds (src/activities/ingest/extraction/), a
 * final answer.
 */
async function checkedBytes(
  file: SourceFile,
  ctx: ProviderContext,
): Promise<{ bytes: Buffer; avoidPoppler?: string }> {
  const { limits } = ctx.config;
  const bytes = await readSourceFile(file, ctx.signal);
  if (bytes.length === 0) throw new CorruptFileError(`${file.name} is empty (0 bytes), not a PDF`);
  const inflated = await measureFlateStreams(bytes, limits.maxDecompressedBytes, ctx.signal);
  if (inflated.bytes > limits.maxDecompressedBytes) {
    const measured = `${inflated.measured} of ${inflated.streams} measured`;
    throw limitExceeded(
      file.name,
      limits,
      'maxDecompressedBytes',
      `its flate streams inflate past it (${measured})`,
    );
  }
  if (inflated.bytes + inflated.wrappedBytes > limits.maxDecompressedBytes) {
    return { bytes, avoidPoppler: 'streams behind ASCIIHex/ASCII85 inflate past the limit: read by pdfjs' };
  }
  if (inflated.unmeasured.length === 0) return { bytes };
  const filters = inflated.unmeasured.slice(0, 3).join(', ');
  return { bytes, avoidPoppler: `streams the pre-scan cannot measure (${filters}): read by pdfjs` };
}

let unavailableLogged = false;
/**
 * Whether a pdftotext failure lets pdfjs try: not installed, or failed on this file (pdfjs then reads
 * it or words the failure as before: locked, damaged). Cancellation, a time limit or a limit crossed
 * are final. Logged (a missing pdftotext once per process), since it costs speed.
 */
function fallbackReason(error: unknown, file: SourceFile, ctx: ProviderContext): string | undefined {
  ctx.signal.throwIfAborted();
  if (error instanceof ToolUnavailableError) {
    if (!unavailableLogged) {
      unavailableLogged = true;
      ctx.log.warn('pdftotext not found: PDFs are read by pdfjs (slower)', { reason: error.message });
    }
    return error.message;
  }
  if (error instanceof PdftotextFailedError) {
    ctx.log.info('pdftotext failed on a PDF: pdfjs reads it', { file: file.name, reason: error.message });
    return error.message;
  }
  return undefined;
}

async function readTextLayer(file: SourceFile, ctx: ProviderContext, engine: PdfEngine): Promise<TextLayer> {
  const { bytes, avoidPoppler } = await checkedBytes(file, ctx);
  let fallback = engine === 'auto' ? avoidPoppler : undefined;
  if (engine === 'poppler' || (engine === 'auto' && !fallback)) {
    try {
      return await readWithPoppler(file, ctx);
    } catch (error) {
      fallback = engine === 'auto' ? fallbackReason(error, file, ctx) : undefined;
      if (fallback === undefined) throw error;
    }
  }
  const layer = await readWithPdfJs(bytes, file, ctx);
  if (fallback) layer.engine.fallbackReason = fallback;
  return layer;
}

async function readWithPoppler(file: SourceFile, ctx: ProviderContext): Promise<TextLayer> {
  const command = pdftotextCommand(ctx);
  const pages: PdfPage[] = [];
  const run = await runPdftotext(file, ctx, {
    command,
    maxPages: ctx.config.limits.maxPages,
    onPage: (page) => void pages.push(page),
  });
  // Progress per page as the pdfjs path gives it (pdftotext itself beats while it runs, if long).
  for (let page = 1; page <= pages.length; page++) {
    ctx.signal.throwIfAborted();
    ctx.heartbeat({ page, of: pages.length });
  }
  const version = await pdftotextVersion(command);
  return { pages, metadata: run.metadata, engine: { name: 'pdftotext', ...(version ? { version } : {}) } };
}

async function readWithPdfJs(bytes: Buffer, file: SourceFile, ctx: ProviderContext): Promise<TextLayer> {
  const { name } = file;
  const { signal } = ctx;
  const { limits } = ctx.config;
  const { doc, release } = await openPdfJs(bytes, name, signal);
  try {
    if (doc.numPages > limits.maxPages) {
      throw limitExceeded(name, limits, 'maxPages', `it has ${doc.numPages} pages`);
    }
    const pages: PdfPage[] = [];
    let characters = 0;
    for (let pageNumber = 1; pageNumber <= doc.numPages; pageNumber++) {
      signal.throwIfAborted();
      const page = await readPdfJsPage(doc, pageNumber);
      pages.push(page);
      characters = page.lines.reduce((n, line) => n + line.text.length + 1, characters);
      checkExtractedChars(name, limits, characters);
      ctx.heartbeat({ page: pageNumber, of: doc.numPages });
    }
    signal.throwIfAborted();
    const metadata = await pdfJsMetadata(doc);
    return { pages, metadata, engine: { name: 'pdfjs-dist', version: await pdfjsVersion() } };
  } catch (err) {
    // A cancelled extraction fails with the cancellation, not as a damaged file.
    signal.throwIfAborted();
    throw corrupt(name, err);
  } finally {
    release();
    // Already destroyed when the abort listener ran first; that second destroy has nothing to report.
    await doc.destroy().catch(() => undefined);
  }
}

/** Pages per pdftotext process when streaming: memory holds one batch's text, not the document's. */
export const STREAM_BATCH_PAGES = 32;

interface StreamState {
  page?: number;
  body?: number;
  headings?: HeadingState[];
  characters?: number;
  /** Pages of the document (known after the measuring pass). */
  pages?: number;
  /** The engine that measured `body`: sizes of the two engines are not comparable. Absent: pdfjs. */
  engine?: 'pdftotext' | 'pdfjs-dist';
}

/** Reads pages `first`..`last` (bounded by the document) as the chosen engine sees them. */
type PageSource = (first: number, last: number) => Promise<PdfPage[]>;

/**
 * The streaming form (ContentProvider.streamSections) for PDFs too large to hold as extracted text:
 * sections go out page by page and no page's text is kept after it. A first pass measures the body
 * type size over every page (which extract learns from all pages at once), a second hands out the
 * pages' sections, OCR pages in place; a checkpoint after each page carries the page to go on from,
 * the body size, the heading path and the engine that measured them (a resume keeps that engine).
 * Same sections, in the same order, as extract. With poppler, the second pass runs one pdftotext per
 * STREAM_BATCH_PAGES pages (`-f/-l`), so memory holds one batch's text.
 */
async function* streamPdf(
  file: SourceFile,
  ctx: ProviderContext,
  from?: StreamCheckpoint,
  engine: PdfEngine = 'auto',
): AsyncGenerator<StreamItem, StreamSummary | undefined, undefined> {
  const { name } = file;
  const { signal } = ctx;
  const { limits } = ctx.config;
  const state = (from?.state ?? {}) as StreamState;
  const { bytes, avoidPoppler } = await checkedBytes(file, ctx);
  // A resume continues with the engine that measured the body size (old checkpoints: pdfjs).
  const resumed = state.body !== undefined;
  const avoided = !resumed && engine === 'auto' ? avoidPoppler : undefined;
  const usePoppler = resumed ? state.engine === 'pdftotext' : engine !== 'pdfjs' && !avoided;
  let used: PdfEngineUsed | undefined = avoided ? { name: 'pdfjs-dist', fallbackReason: avoided } : undefined;
  let numPages = state.pages;
  let body = state.body;
  let source: PageSource | undefined;
  let close: () => Promise<void> = async () => undefined;

  if (usePoppler) {
    const command = pdftotextCommand(ctx);
    try {
      if (body === undefined || numPages === undefined) {
        // Pass 1: letters per type size over every page, no text kept.
        const weights = new Map<number, number>();
        const run = await runPdftotext(file, ctx, {
          command,
          maxPages: limits.maxPages,
          onPage: (page, pageNumber) => {
            weighSizes(page.lines, weights);
            ctx.heartbeat({ step: 'measure', page: pageNumber });
          },
        });
        numPages = run.pages;
        body ??= bodySize(weights);
      }
      const version = await pdftotextVersion(command);
      used = { name: 'pdftotext', ...(version ? { version } : {}) };
      source = async (first, last) => {
        const pages: PdfPage[] = [];
        await runPdftotext(file, ctx, {
          command,
          first,
          last,
          maxPages: limits.maxPages,
          onPage: (page) => void pages.push(page),
        });
        return pages;
      };
    } catch (error) {
      const reason = !resumed && engine === 'auto' ? fallbackReason(error, file, ctx) : undefined;
      if (reason === undefined) throw error;
      used = { name: 'pdfjs-dist', fallbackReason: reason };
      body = undefined;
      numPages = undefined;
    }
  }
  if (!source) {
    const { doc, release } = await openPdfJs(bytes, name, signal);
    close = async () => {
      release();
      await doc.destroy().catch(() => undefined);
    };
    numPages = doc.numPages;
    used = { ...used, name: 'pdfjs-dist', version: await pdfjsVersion() };
    source = async (first, last) => {
      const pages: PdfPage[] = [];
      for (let n = first; n <= Math.min(last, doc.numPages); n++) {
        signal.throwIfAborted();
        pages.push(await readPdfJsPage(doc, n));
      }
      return pages;
    };
  }
  try {
    const total = numPages as number;
    if (total > limits.maxPages) throw limitExceeded(name, limits, 'maxPages', `it has ${total} pages`);
    if (body === undefined) {
      const weights = new Map<number, number>();
      for (let n = 1; n <= total; n++) {
        weighSizes(((await source(n, n))[0] as PdfPage).lines, weights);
        ctx.heartbeat({ step: 'measure', page: n, of: total });
      }
      body = bodySize(weights);
    }
    const headings = (state.headings ?? []).map((h) => ({ ...h }));
    let characters = Number(state.characters ?? 0);
    const metadata: Record<string, unknown> = { engine: used };
    const batch = used?.name === 'pdftotext' ? STREAM_BATCH_PAGES : 1;
    for (let first = state.page ?? 1; first <= total; first += batch) {
      const pages = await source(first, Math.min(total, first + batch - 1));
      for (const [offset, page] of pages.entries()) {
        const pageNumber = first + offset;
        signal.throwIfAborted();
        let sections: ExtractedSection[] = [];
        if (page.lines.length === 0) {
          const target = { page: pageNumber, widthPts: page.widthPts, heightPts: page.heightPts };
          const ocr = await ocrPdfPages(file, [target], ctx, limits);
          sections = ocr.sections.get(pageNumber) ?? [];
          Object.assign(metadata, ocr.metadata);
        }
        sections.push(...pageSections(page.lines, pageNumber, body, headings));
        characters = sections.reduce((n, s) => n + s.text.length, characters);
        checkExtractedChars(name, limits, characters);
        ctx.heartbeat({ page: pageNumber, of: total });
        const checkpoint: StreamCheckpoint = {
          // Pages are the real position; the byte figure is an estimate for progress.
          byte: Math.floor((file.size * pageNumber) / total),
          state: {
            page: pageNumber + 1,
            body,
            headings: headings.map((h) => ({ ...h })),
            characters,
            pages: total,
            engine: used?.name,
          } satisfies StreamState,
        };
        for (let i = 0; i < sections.length; i++) {
          const section = sections[i] as ExtractedSection;
          yield i === sections.length - 1 ? { section, checkpoint } : { section };
        }
      }
    }
    return { pageCount: total, metadata };
  } catch (err) {
    signal.throwIfAborted();
    // A slow or missing tool is the machine's problem, retried as such; the rest is the file's.
    if (err instanceof ToolTimeoutError || err instanceof ToolUnavailableError) throw err;
    throw corrupt(name, err);
  } finally {
    await close();
  }
}

/** The streaming form with the engine chosen, for tests and the bench. */
export function streamPdfWith(
  file: SourceFile,
  ctx: ProviderContext,
  engine: PdfEngine,
  from?: StreamCheckpoint,
): AsyncGenerator<StreamItem, StreamSummary | undefined, undefined> {
  return streamPdf(file, ctx, from, engine);
}
