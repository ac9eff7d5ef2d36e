/**
 * OCR of PDF pages without a text layer (scans, photographs): each page is rendered alone with poppler's
 * `pdftoppm -r 200 -f N -l N` into a grey PNG in a private temp folder and read by tesseract
 * (media/ocr.ts, with its confidence filters, so a photograph adds no junk). A page so large that 200 dpi
 * would make a huge bitmap is rendered at a lower resolution instead. Heartbeats per page; the temp folder
 * is removed whatever happens. Where OCR is off (P8FS_OCR=0) or tesseract/pdftoppm is missing, the pages
 * stay listed in the document's metadata (`pagesWithoutText`) and the reason is logged and recorded.
 */
import { join } from 'node:path';
import type { ExtractedSection } from '../../../domain/content.js';
import { CorruptFileError } from '../../../domain/errors.js';
import type { ExtractionLimits } from '../../limits.js';
import { ocrImage, ocrSections } from '../../media/ocr.js';
import { mediaSettings } from '../../media/settings.js';
import { runTool, ToolUnavailableError, toolReason, withTempDir } from '../../media/tools.js';
import type { ProviderContext, SourceFile } from '../../provider.js';

export interface PageToOcr {
  page: number;
  /** Page size in PDF points (1/72 inch). */
  widthPts: number;
  heightPts: number;
}

export interface PdfOcrResult {
  /** OCR sections by page number. */
  sections: Map<number, ExtractedSection[]>;
  metadata: Record<string, unknown>;
}

const DPI = 200;
/** Pixels of one rendered page at most (8-bit grey): a 200 dpi A0 sheet is ~70 Mpx. */
const MAX_PIXELS = 40_000_000;

export async function ocrPdfPages(
  file: SourceFile,
  pages: PageToOcr[],
  ctx: ProviderContext,
  limits: ExtractionLimits,
): Promise<PdfOcrResult> {
  const media = mediaSettings(ctx.config);
  const result: PdfOcrResult = { sections: new Map(), metadata: {} };
  if (pages.length === 0) return result;
  if (!media.ocr) {
    result.metadata.ocr = { status: 'off', reason: 'P8FS_OCR=0' };
    return result;
  }
  const pixelBudget = Math.min(MAX_PIXELS, Math.floor(limits.maxDecompressedBytes / 4));
  const dropped: { page: number; reason: string }[] = [];
  try {
    await withTempDir('pdf-ocr', async (dir) => {
      for (const [index, target] of pages.entries()) {
        ctx.signal.throwIfAborted();
        ctx.heartbeat({ step: 'ocr', page: target.page, done: index, of: pages.length });
        const pixels = ((target.widthPts * DPI) / 72) * ((target.heightPts * DPI) / 72);
        const dpi =
          pixels > pixelBudget ? Math.max(20, Math.floor(DPI * Math.sqrt(pixelBudget / pixels))) : DPI;
        const base = join(dir, `page-${target.page}`);
        const render = await runTool(
          media.pdftoppm,
          [
            '-r',
            String(dpi),
            '-f',
            String(target.page),
            '-l',
            String(target.page),
            '-gray',
            '-png',
            '-singlefile',
            file.path,
            base,
          ],
          {
            signal: ctx.signal,
            timeoutMs: 120_000,
            fileName: file.name,
            variable: 'P8FS_PDFTOPPM',
            maxStdout: 1024,
          },
        );
        if (render.code !== 0) {
          throw new CorruptFileError(
            `${file.name} page ${target.page} could not be rendered for OCR (pdftoppm: ${toolReason(render, file.path, file.name)})`,
          );
        }
        const [ocr] = await ocrImage(
          `${base}.png`,
          `${file.name} page ${target.page}`,
          media,
          ctx.signal,
          180_000,
        );
        if (ocr?.dropped) dropped.push({ page: target.page, reason: ocr.dropped });
        if (ocr)
          result.sections.set(
            target.page,
            ocrSections([ocr], () => target.page),
          );
      }
    });
  } catch (error) {
    if (!(error instanceof ToolUnavailableError)) throw error;
    // OCR cannot run here: the text layer's pages are still worth storing; say which pages are missing.
    ctx.log.warn('PDF pages without a text layer not read: OCR unavailable', {
      file: file.name,
      reason: error.message,
    });
    result.sections.clear();
    result.metadata.ocr = { status: 'unavailable', reason: error.message };
    return result;
  }
  if (dropped.length > 0) ctx.log.info('OCR text dropped as unreliable', { file: file.name, pages: dropped });
  result.metadata.ocr = {
    status: 'done',
    engine: 'tesseract',
    language: 'eng',
    minConfidence: media.ocrMinConfidence,
    pages: pages.map((p) => p.page),
    dropped,
  };
  return result;
}
