/**
 * From a PDF page's lines to sections, whichever engine read the lines (poppler's pdftotext in
 * pdf-poppler.ts, pdfjs in pdf-pdfjs.ts): paragraphs split on vertical gaps, lists, and headings (lines
 * set clearly larger than the document's body text, nested by size). Pure functions over numbers, so
 * both engines give the same structure for the same geometry.
 */
import type { ExtractedSection } from '../../../domain/content.js';

export interface Line {
  text: string;
  /** Baseline (or bottom) y in PDF units, growing upwards. */
  y: number;
  /**
   * Type size: pdfjs's font size, or poppler's line box height. Only compared within one document
   * read by one engine, so the two scales never meet.
   */
  size: number;
}

/** One page as an engine read it: its lines in reading order and its size (OCR renders by it). */
export interface PdfPage {
  lines: Line[];
  /** Page size in PDF points (1/72 inch). */
  widthPts: number;
  heightPts: number;
}

interface Block {
  text: string;
  kind: 'heading' | 'paragraph' | 'list';
  size: number;
}

export interface HeadingState {
  size: number;
  text: string;
}

const BULLET = /^(?:[●•▪◦‣○■□–-]|\d{1,3}[.)])\s/;

/** Whitespace runs inside a line become one space; an empty line is dropped by the caller. */
export function cleanLine(text: string): string {
  return text.replace(/[ \t\u00a0]+/g, ' ').trim();
}

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

/** Ordinary baseline-to-baseline distance in type sizes: the lower quartile of the page's gaps. */
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

/** Letters per type size, added into `weights`: what bodySize chooses from (no text kept). */
export function weighSizes(lines: Line[], weights: Map<number, number>): void {
  for (const line of lines) {
    const key = Math.round(line.size * 2) / 2;
    // Letters only, so box-drawing diagrams and rules of dashes do not pass for body text.
    const letters = line.text.match(/\p{L}/gu)?.length ?? 0;
    weights.set(key, (weights.get(key) ?? 0) + letters);
  }
}

/** The type size carrying most letters in the document (the smaller on a tie): its body text. */
export function bodySize(weights: Map<number, number>): number {
  let best = 0;
  let bestWeight = -1;
  for (const [size, w] of weights) {
    if (w > bestWeight || (w === bestWeight && size < best)) {
      best = size;
      bestWeight = w;
    }
  }
  return best;
}

/**
 * One page's sections. `headings` is the open heading path, carried from page to page (and in stream
 * checkpoints): larger type means an outer heading; equal or smaller closes the previous one.
 */
export function pageSections(
  lines: Line[],
  page: number,
  body: number,
  headings: HeadingState[],
): ExtractedSection[] {
  const sections: ExtractedSection[] = [];
  for (const block of toBlocks(lines, body)) {
    if (block.kind === 'heading') {
      while (headings.length && (headings.at(-1) as HeadingState).size <= block.size) headings.pop();
      headings.push({ size: block.size, text: block.text.replace(/\s+/g, ' ') });
    }
    const heading = headings.length ? headings.map((h) => h.text).join(' > ') : undefined;
    sections.push({ text: block.text, page, kind: block.kind, ...(heading ? { heading } : {}) });
  }
  return sections;
}
