/**
 * Images (PNG, JPEG, TIFF) → the text on them, by OCR (media/ocr.ts: tesseract, English, filtered by
 * confidence so a photograph adds no junk). ffprobe reads the header first: a damaged file is reported
 * in its words, and an image whose decoded pixels would pass the decompressed-bytes limit is refused
 * before tesseract (which holds the whole bitmap) is started. Pages are tesseract's: 1 for PNG and
 * JPEG, one per frame of a multi-page TIFF. An image without recognisable text gets one metadata
 * section saying so (name, size), so it can still be found; OCR switched off (P8FS_OCR=0) says that.
 */
import { stat } from 'node:fs/promises';
import type { ExtractedDocument, ExtractedSection } from '../../domain/content.js';
import { CorruptFileError } from '../../domain/errors.js';
import { approxBytes, checkExtractedChars, limitExceeded } from '../limits.js';
import { ocrImage, ocrSections } from '../media/ocr.js';
import { mediaSettings } from '../media/settings.js';
import { runTool, toolReason } from '../media/tools.js';
import type { ContentProvider, ProviderContext, SourceFile } from '../provider.js';

export const imageProvider: ContentProvider = {
  name: 'image',
  version: '1.0.0',
  mimeTypes: ['image/png', 'image/jpeg', 'image/jpg', 'image/pjpeg', 'image/tiff', 'image/x-tiff'],
  extensions: ['.png', '.jpg', '.jpeg', '.tif', '.tiff'],
  extract: extractImage,
};

/** Bytes per pixel of the bitmap tesseract (leptonica) holds: 32-bit RGBA. */
const BYTES_PER_PIXEL = 4;

async function extractImage(file: SourceFile, ctx: ProviderContext): Promise<ExtractedDocument> {
  const { name } = file;
  const { signal, log } = ctx;
  const { limits } = ctx.config;
  const media = mediaSettings(ctx.config);
  signal.throwIfAborted();
  const { size } = await stat(file.path);
  if (size === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not an image`);
  const { width, height, codec } = await probeImage(file.path, name, media.ffprobe, signal);
  const bitmap = width * height * BYTES_PER_PIXEL;
  if (bitmap > limits.maxDecompressedBytes) {
    throw limitExceeded(
      name,
      limits,
      'maxDecompressedBytes',
      `its ${width}×${height} pixels decode to ${approxBytes(bitmap)}`,
    );
  }
  const metadata: Record<string, unknown> = { width, height, format: codec };
  if (!media.ocr) {
    metadata.ocr = 'off';
    return {
      provider: 'image',
      sections: [notice(name, width, height, 'not read: OCR is switched off (P8FS_OCR=0)')],
      metadata,
    };
  }
  ctx.heartbeat({ step: 'ocr', width, height });
  const pages = await ocrImage(file.path, name, media, signal);
  if (pages.length > limits.maxPages) {
    throw limitExceeded(name, limits, 'maxPages', `it has ${pages.length} pages`);
  }
  const dropped = pages.filter((p) => p.dropped).map((p) => ({ page: p.page, reason: p.dropped }));
  if (dropped.length > 0) log.info('OCR text dropped as unreliable', { file: name, pages: dropped });
  const sections = ocrSections(pages, (p) => p.page);
  checkExtractedChars(
    name,
    limits,
    sections.reduce((n, s) => n + s.text.length, 0),
  );
  const pageCount = Math.max(1, ...pages.map((p) => p.page));
  metadata.ocr = { engine: 'tesseract', language: 'eng', minConfidence: media.ocrMinConfidence, dropped };
  if (sections.length === 0) {
    return {
      provider: 'image',
      pageCount,
      sections: [{ ...notice(name, width, height, 'no text recognised by OCR'), page: 1 }],
      metadata,
    };
  }
  return { provider: 'image', pageCount, sections, metadata };
}

function notice(name: string, width: number, height: number, what: string): ExtractedSection {
  return { text: `Image ${name} (${width}×${height} px): ${what}.`, kind: 'metadata' };
}

async function probeImage(
  path: string,
  name: string,
  ffprobe: string,
  signal: AbortSignal,
): Promise<{ width: number; height: number; codec: string }> {
  const run = await runTool(
    ffprobe,
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=width,height,codec_name',
      '-of',
      'json',
      `file:${path}`,
    ],
    { signal, timeoutMs: 60_000, fileName: name, variable: 'P8FS_FFPROBE', maxStdout: 64 * 1024 },
  );
  if (run.code !== 0) {
    throw new CorruptFileError(
      `${name} is damaged or not an image (ffprobe: ${toolReason(run, path, name)})`,
    );
  }
  let stream: { width?: number; height?: number; codec_name?: string } | undefined;
  try {
    stream = (JSON.parse(run.stdout) as { streams?: (typeof stream)[] }).streams?.[0];
  } catch {
    stream = undefined;
  }
  if (!stream?.width || !stream.height) {
    throw new CorruptFileError(`${name} is damaged or not an image (ffprobe found no picture in it)`);
  }
  return { width: stream.width, height: stream.height, codec: stream.codec_name ?? 'unknown' };
}
