/**
 * OCR with tesseract (Debian's tesseract-ocr, English data), used for image files (image.ts) and for PDF
 * pages without a text layer (pdf-ocr.ts). tesseract's TSV output gives every word with its confidence,
 * so what reaches the index is filtered, and a photograph adds nothing:
 *
 * - words tesseract is less sure of than P8FS_OCR_MIN_CONFIDENCE (default 60 of 100) are dropped;
 * - lines left without a single word-like token are dropped;
 * - a page whose remaining tokens are mostly not word-like (letters with a vowel, numbers) is dropped
 *   whole: texture read as letters looks like "ll rn Ee ~~ |".
 *
 * Paragraphs are tesseract's own (block, paragraph), lines kept as lines.
 */

import type { ExtractedSection } from '../../domain/content.js';
import { CorruptFileError } from '../../domain/errors.js';
import type { MediaConfig } from './settings.js';
import { runTool, toolReason } from './tools.js';

export interface OcrPage {
  page: number;
  paragraphs: { text: string; confidence: number }[];
  /** Words kept after the filters, and words tesseract read in all. */
  wordsKept: number;
  wordsRead: number;
  /** Why the page's text was dropped, when it was. */
  dropped?: string;
}

interface Word {
  page: number;
  block: number;
  par: number;
  line: number;
  conf: number;
  text: string;
}

/** Share of a page's tokens that must look like words for its text to be kept. */
const MIN_WORDLIKE_SHARE = 0.6;
const VOWEL = /[aeiouyàáâäãåæèéêëìíîïòóôöõøùúûüýÿœ]/i;

/** A token with a letter or a digit: what the word-like share is measured on (rules of "|" do not count). */
export function isAlphanumeric(token: string): boolean {
  return /[\p{L}\d]/u.test(token);
}

/**
 * A token that reads as a word, a number, an acronym or a product name ("P8FS", "S3-compatible",
 * "TiDB/TiKV"), not as texture read as letters ("Ll", "J", "rn"): stripped of surrounding punctuation,
 * every part between hyphens, slashes and dots must be a number, an acronym in capitals, a run of
 * letters with a vowel, or letters mixed with digits.
 */
export function isWordLike(token: string): boolean {
  const core = token.replace(/^[^\p{L}\d]+|[^\p{L}\d]+$/gu, '');
  if (!core) return false;
  if (core.length === 1) return /^[aAI\d]$/.test(core);
  return core.split(/[-/.:,]+/).every((part) => {
    if (part === '') return true;
    if (/^\d+$/.test(part)) return true;
    if (/\d/.test(part)) return /^[\p{L}\d]+$/u.test(part);
    if (!/^\p{L}+(['’]\p{L}+)*$/u.test(part)) return false;
    if (part.length === 1) return /^[aAI]$/.test(part);
    if (/^\p{Lu}{2,6}s?$/u.test(part)) return true;
    return VOWEL.test(part);
  });
}

/** tesseract's TSV → words (level 5 rows with text). */
export function parseTsv(tsv: string): Word[] {
  const words: Word[] = [];
  for (const row of tsv.split('\n')) {
    const cols = row.split('\t');
    if (cols[0] !== '5' || cols.length < 12) continue;
    const text = (cols[11] ?? '').trim();
    if (!text) continue;
    words.push({
      page: Number(cols[1]),
      block: Number(cols[2]),
      par: Number(cols[3]),
      line: Number(cols[4]),
      conf: Number(cols[10]),
      text,
    });
  }
  return words;
}

/** Filters the words of one TSV into pages of paragraphs (see the module comment). */
export function pagesFromWords(words: Word[], minConfidence: number): OcrPage[] {
  const byPage = new Map<number, Word[]>();
  for (const word of words) {
    const list = byPage.get(word.page) ?? [];
    list.push(word);
    byPage.set(word.page, list);
  }
  const pages: OcrPage[] = [];
  for (const [page, pageWords] of [...byPage].sort((a, b) => a[0] - b[0])) {
    const confident = pageWords.filter((w) => w.conf >= minConfidence);
    const lines = new Map<string, Word[]>();
    for (const word of confident) {
      const key = `${word.block}:${word.par}:${word.line}`;
      lines.set(key, [...(lines.get(key) ?? []), word]);
    }
    const kept = [...lines.values()].filter((line) => line.some((w) => isWordLike(w.text)));
    const tokens = kept.flat().filter((w) => isAlphanumeric(w.text));
    const wordLike = tokens.filter((w) => isWordLike(w.text)).length;
    const result: OcrPage = { page, paragraphs: [], wordsKept: 0, wordsRead: pageWords.length };
    if (tokens.length === 0) {
      if (pageWords.length > 0) result.dropped = `no word read with confidence ≥ ${minConfidence}`;
    } else if (wordLike / tokens.length < MIN_WORDLIKE_SHARE) {
      result.dropped = `only ${wordLike} of ${tokens.length} tokens look like words`;
    } else {
      const paragraphs = new Map<string, Word[][]>();
      for (const line of kept) {
        const first = line[0] as Word;
        const key = `${first.block}:${first.par}`;
        paragraphs.set(key, [...(paragraphs.get(key) ?? []), line]);
      }
      for (const lineList of paragraphs.values()) {
        const all = lineList.flat();
        result.paragraphs.push({
          text: lineList.map((line) => line.map((w) => w.text).join(' ')).join('\n'),
          confidence: Math.round(all.reduce((n, w) => n + w.conf, 0) / all.length),
        });
      }
      result.wordsKept = tokens.length;
    }
    pages.push(result);
  }
  return pages;
}

/**
 * Runs tesseract on one image file (every page of a multi-page TIFF) and returns its filtered pages.
 * A file tesseract cannot read is a CorruptFileError naming `fileName` and tesseract's reason.
 */
export async function ocrImage(
  imagePath: string,
  fileName: string,
  media: MediaConfig,
  signal: AbortSignal,
  timeoutMs = 300_000,
): Promise<OcrPage[]> {
  const run = await runTool(media.tesseract, [imagePath, 'stdout', '-l', 'eng', '--psm', '3', 'tsv'], {
    signal,
    timeoutMs,
    fileName,
    variable: 'P8FS_TESSERACT',
    // One OMP thread: a worker already runs several extractions side by side.
    env: { ...process.env, OMP_THREAD_LIMIT: '1' },
  });
  if (run.code !== 0) {
    // tesseract prints a banner and warnings before its reason; the reason is its last other line.
    const stderr = run.stderr.replace(/^(Tesseract Open Source|Estimating resolution|Warning).*$/gm, '');
    const reason = toolReason({ ...run, stderr }, imagePath, fileName);
    throw new CorruptFileError(`${fileName} could not be read by OCR (tesseract: ${reason})`);
  }
  return pagesFromWords(parseTsv(run.stdout), media.ocrMinConfidence);
}

/** The sections of OCR pages: one per paragraph, marked as OCR, with the page number where given. */
export function ocrSections(
  pages: OcrPage[],
  pageOf: (page: OcrPage) => number | undefined,
): ExtractedSection[] {
  const sections: ExtractedSection[] = [];
  for (const page of pages) {
    const number = pageOf(page);
    for (const paragraph of page.paragraphs) {
      sections.push({
        text: paragraph.text,
        kind: 'paragraph',
        source: 'ocr',
        ...(number !== undefined ? { page: number } : {}),
        metadata: { ocrConfidence: paragraph.confidence },
      });
    }
  }
  return sections;
}
