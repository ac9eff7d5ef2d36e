/**
 * OCR on real files made with real tools: a "scanned" PDF (pages 3–4 of Sample.pdf rendered to JPEG by
 * pdftoppm and rebuilt as a PDF of pictures, no text layer) goes through the real pipeline and is found by
 * its words with the right page numbers, its chunks marked OCR; pictures of text (PNG from pdftoppm, then
 * JPEG and TIFF from ffmpeg) are read by their words; Sample.pdf's page 8, a photograph, adds nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdFor } from '../../src/domain/ids.js';
import { mimeTypeForFileName } from '../../src/domain/provider-catalog.js';
import { extractFile } from '../../src/providers/index.js';
import { convertMedia, imagesToPdf, pdfPageText, renderPages, renderPng } from '../support/media-files.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { uniqueTenant } from '../support/test-stack.js';

let p: Pipeline;
const tenant = uniqueTenant('ocr');
const tmp = mkdtempSync(join(tmpdir(), 'p8fs-ocr-test-'));
const SAMPLE_PDF = join(SAMPLES_DIR, 'content/Sample.pdf');
const SMALL_PDF = join(SAMPLES_DIR, 'small/sample.pdf');

interface Chunk {
  content: string;
  pages: number[];
  source: string | null;
}

async function ingest(
  file: string,
): Promise<{ status: string; provider: string; pageCount: number; chunks: Chunk[] }> {
  const body = readFileSync(file);
  const mime = mimeTypeForFileName(file);
  const key = `scans/${basename(file)}`;
  await p.putObject(tenant, key, body, mime);
  const path = `/buckets/${tenant}/${key}`;
  await p.publish({ event_type: 'create', path, size: body.length, mime_type: mime });
  const fileId = fileIdFor(tenant, path);
  const row = await eventually(
    `files row of ${path} to finish`,
    async () => {
      const r = await p.pool.query<{
        status: string;
        provider: string;
        page_count: number;
        error: string | null;
      }>('SELECT status, provider, page_count, error FROM files WHERE id = $1', [fileId]);
      const found = r.rows[0];
      return found && found.status !== 'processing' ? found : undefined;
    },
    180_000,
  );
  expect(row.error).toBeNull();
  const chunks = await p.pool.query<Chunk>(
    `SELECT content, ARRAY(SELECT jsonb_array_elements_text(metadata->'pages')::int) AS pages,
            metadata->>'source' AS source
     FROM resources WHERE file_id = $1 ORDER BY ordinal`,
    [fileId],
  );
  return { status: row.status, provider: row.provider, pageCount: row.page_count, chunks: chunks.rows };
}

/**
 * The prose of a page's text layer: lines of box-drawing diagrams left out (tesseract reads words inside
 * ASCII-art boxes poorly, and below the confidence threshold they are dropped on purpose).
 */
function prose(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/[│┌┐└┘─├┤┬┴┼]/.test(line))
    .join('\n');
}

/** Distinctive words of a text: lower case, 6 letters or more. */
function distinctive(text: string): Set<string> {
  return new Set((text.toLowerCase().match(/[a-z]{6,}/g) ?? []).filter((w) => !/^(system|content)$/.test(w)));
}

beforeAll(async () => {
  p = await createPipeline('ocr');
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('OCR', () => {
  it('a scanned PDF is found by its words, with the right page numbers, in chunks marked OCR', async () => {
    const scanDir = mkdtempSync(join(tmp, 'scan-'));
    // Pages 3 and 4 of Sample.pdf (mostly prose) become pages 1 and 2 of a PDF holding only their pictures.
    const pages = renderPages(SAMPLE_PDF, scanDir, { first: 3, last: 4 });
    expect(pages).toHaveLength(2);
    const scanned = join(tmp, 'scanned-sample.pdf');
    imagesToPdf(pages, scanned);

    const result = await ingest(scanned);
    expect(result).toMatchObject({ status: 'completed', provider: 'pdf', pageCount: 2 });
    expect(result.chunks.length).toBeGreaterThan(0);
    for (const chunk of result.chunks) expect(chunk.source).toBe('ocr');

    const page1 = distinctive(prose(pdfPageText(SAMPLE_PDF, 3)));
    const page2 = distinctive(prose(pdfPageText(SAMPLE_PDF, 4)));
    for (const [page, expected] of [
      [1, [...page1].filter((w) => !page2.has(w))],
      [2, [...page2].filter((w) => !page1.has(w))],
    ] as const) {
      expect(expected.length).toBeGreaterThan(10);
      const onPage = distinctive(
        result.chunks
          .filter((c) => c.pages.includes(page))
          .map((c) => c.content)
          .join(' '),
      );
      const found = expected.filter((w) => onPage.has(w));
      // tesseract reads clean 150 dpi renderings almost perfectly; 80 % leaves room for a few slips.
      expect(
        found.length / expected.length,
        `page ${page}: missing ${expected.filter((w) => !onPage.has(w)).join(' ')}`,
      ).toBeGreaterThan(0.8);
    }
  }, 240_000);

  it('a PNG of text goes through the pipeline and is found by its words', async () => {
    const png = join(tmp, 'second-page.png');
    renderPng(SMALL_PDF, 2, png);
    const result = await ingest(png);
    expect(result).toMatchObject({ status: 'completed', provider: 'image' });
    const text = result.chunks.map((c) => c.content).join(' ');
    expect(text).toContain('Page 2: Additional Content');
    expect(text).toContain('More content on the second page.');
    expect(result.chunks.every((c) => c.source === 'ocr' && c.pages.includes(1))).toBe(true);
  }, 120_000);

  it('JPEG and TIFF pictures of text are read by their words', async () => {
    const png = join(tmp, 'first-page.png');
    renderPng(SMALL_PDF, 1, png);
    for (const ext of ['jpg', 'tiff']) {
      const picture = join(tmp, `first-page.${ext}`);
      convertMedia(png, picture);
      const doc = await extractFile('image', picture);
      const text = doc.sections.map((s) => s.text).join('\n');
      expect(text, ext).toContain('This is a test PDF for integration testing.');
      expect(doc.sections.every((s) => s.source === 'ocr')).toBe(true);
    }
  }, 120_000);

  it('Sample.pdf page 8, a photograph, adds no text and no error', async () => {
    const doc = await extractFile('pdf', SAMPLE_PDF);
    expect(doc.pageCount).toBe(8);
    expect(doc.metadata.pagesWithoutText).toEqual([8]);
    expect(doc.metadata.ocr).toMatchObject({ status: 'done', pages: [8] });
    expect(doc.sections.filter((s) => s.page === 8)).toEqual([]);
    expect(doc.sections.filter((s) => s.source === 'ocr')).toEqual([]);
    expect(doc.sections.some((s) => s.page === 7)).toBe(true);
  }, 120_000);
});
