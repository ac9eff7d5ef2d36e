/**
 * Token-aware chunking of extracted documents.
 *
 * Encoding: cl100k_base. The chunks become rows that are embedded for search, and OpenAI's embedding
 * models (text-embedding-3-small/-large, ada-002) use cl100k_base, so a chunk's limit is enforced in
 * the units the embedding endpoint enforces. It is also the smaller table of the two candidates, so
 * it loads faster into every worker. gpt-tokenizer builds it once, when this module is first imported.
 *
 * Cost model: every section is counted once, oversized sections once more per split level they reach,
 * short pieces (words, overlap tails) through a cache, and every finished chunk once to report an
 * exact tokenCount. Packing itself only adds numbers.
 *
 * Do not import this module from workflow code: it loads the tokenizer tables.
 */
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import type { ExtractedDocument, SectionKind } from './content.js';

export interface ChunkOptions {
  maxTokens: number;
  overlapTokens: number;
}

export interface Chunk {
  ordinal: number;
  text: string;
  tokenCount: number;
  pages?: number[];
  heading?: string;
  kinds?: string[];
}

// Documents may legitimately contain "<|endoftext|>"; it is text to us, not a control token, and the
// library's default would throw on it.
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** Exact cl100k_base token count, treating special-token strings as ordinary text. */
export function countTokens(text: string): number {
  return countCl100k(text, AS_PLAIN_TEXT);
}

// Words and short phrases repeat constantly; caching them makes per-word counting nearly free.
const SHORT_PIECE = 48;
const CACHE_LIMIT = 50_000;
const pieceCache = new Map<string, number>();

function countPiece(text: string): number {
  if (text.length > SHORT_PIECE) return countTokens(text);
  let n = pieceCache.get(text);
  if (n === undefined) {
    n = countTokens(text);
    // Cleared rather than evicted one by one: simpler, and a long-lived worker's memory stays bounded.
    if (pieceCache.size >= CACHE_LIMIT) pieceCache.clear();
    pieceCache.set(text, n);
  }
  return n;
}

// Split points are whitespace runs; a piece keeps the whitespace before it, so pieces of one section
// concatenate back to its exact text and no cut ever falls inside a word.
const SENTENCE_GAP = /(?<=[.!?…。！？]['"”’)\]]*)\s+(?=\S)/gu;
const LINE_GAP = /[ \t]*\n\s*(?=\S)/g;
const WORD_GAP = /\s+(?=\S)/g;
const PROSE_LEVELS = [SENTENCE_GAP, LINE_GAP, WORD_GAP];
// In code, tables and lists a line is the natural unit; sentences may not even exist.
const LINE_LEVELS = [LINE_GAP, SENTENCE_GAP, WORD_GAP];
const LINE_KINDS: ReadonlySet<SectionKind> = new Set(['code', 'table', 'list']);

interface Piece {
  text: string;
  tokens: number;
}

interface Unit extends Piece {
  section: number;
  /** First piece of its section: joins the chunk after a blank line rather than its own whitespace. */
  first: boolean;
}

interface SectionInfo {
  kind: SectionKind;
  page?: number;
  heading?: string;
  tokens: number;
}

interface Overlap {
  text: string;
  tokens: number;
  sections: number[];
}

/**
 * Packs consecutive sections into chunks of at most maxTokens (exact, cl100k_base), breaking at
 * section boundaries where it can, else at sentences, lines, then words. Consecutive chunks share about
 * overlapTokens of whole words, except where a chunk starts at a heading. Deterministic.
 */
export function chunkDocument(doc: ExtractedDocument, options: ChunkOptions): Chunk[] {
  const { maxTokens, overlapTokens } = validate(options);
  // Leaves room for the overlap and the blank line before a unit, so any unit fits a fresh chunk.
  const unitLimit = Math.max(1, maxTokens - overlapTokens - 1);
  const sections: SectionInfo[] = [];
  const units: Unit[] = [];
  for (const section of doc.sections) {
    const text = section.text.trim();
    if (!text) continue;
    const index = sections.length;
    const pieces: Piece[] = [];
    splitToFit(
      text,
      countTokens(text),
      LINE_KINDS.has(section.kind) ? LINE_LEVELS : PROSE_LEVELS,
      0,
      unitLimit,
      pieces,
    );
    let tokens = 0;
    pieces.forEach((piece, i) => {
      units.push({ ...piece, section: index, first: i === 0 });
      tokens += piece.tokens;
    });
    sections.push({ kind: section.kind, page: section.page, heading: section.heading, tokens });
  }
  return pack(units, sections, maxTokens, overlapTokens);
}

function validate(options: ChunkOptions): ChunkOptions {
  const { maxTokens, overlapTokens } = options;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`);
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens * 2 >= maxTokens) {
    throw new RangeError(
      `overlapTokens must be an integer from 0 to under half of maxTokens, got ${overlapTokens}`,
    );
  }
  return options;
}

/** Appends pieces of at most `limit` tokens, cutting at the coarsest level that gets there. */
function splitToFit(
  text: string,
  tokens: number,
  levels: RegExp[],
  level: number,
  limit: number,
  out: Piece[],
): void {
  if (tokens <= limit) {
    out.push({ text, tokens });
    return;
  }
  const gap = levels[level];
  if (!gap) {
    hardSplit(text, limit, out);
    return;
  }
  const parts = cutAt(text, gap);
  if (parts.length === 1) {
    splitToFit(text, tokens, levels, level + 1, limit, out);
    return;
  }
  const count = gap === WORD_GAP ? countPiece : countTokens;
  for (const part of parts) splitToFit(part, count(part), levels, level + 1, limit, out);
}

function cutAt(text: string, gap: RegExp): string[] {
  const parts: string[] = [];
  let start = 0;
  for (const match of text.matchAll(gap)) {
    if (match.index > start) {
      parts.push(text.slice(start, match.index));
      start = match.index;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * Last resort for a single "word" longer than a chunk (a base64 blob, a minified line): cut by
 * characters at the longest prefix that fits. Never splits a surrogate pair.
 */
function hardSplit(text: string, limit: number, out: Piece[]): void {
  let rest = text;
  while (rest) {
    // A token rarely spans more than a few dozen characters, which bounds each search.
    let hi = Math.min(rest.length, limit * 64);
    let lo = 1;
    let best = 0;
    let bestTokens = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const end = isHighSurrogate(rest.charCodeAt(mid - 1)) ? mid + 1 : mid;
      const tokens = countTokens(rest.slice(0, end));
      if (tokens <= limit) {
        best = end;
        bestTokens = tokens;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best === 0) {
      // One character that needs more tokens than the limit allows: keep it whole rather than loop.
      best = isHighSurrogate(rest.charCodeAt(0)) ? 2 : 1;
      bestTokens = countTokens(rest.slice(0, best));
    }
    out.push({ text: rest.slice(0, best), tokens: bestTokens });
    rest = rest.slice(best);
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Greedy packing over the units, with the boundary preferences described on chunkDocument. */
function pack(units: Unit[], sections: SectionInfo[], maxTokens: number, overlapTokens: number): Chunk[] {
  const chunks: Chunk[] = [];
  // A heading only closes a chunk holding at least this much, so a title is not left on its own.
  const headingBreakMin = Math.max(1, Math.floor(maxTokens / 8));
  const isHeading = (u: Unit) => sections[u.section]?.kind === 'heading';

  let overlap: Overlap | undefined;
  let start = 0; // the current chunk's own units are units[start..i)
  let ownTokens = 0;
  let tokens = 0;
  let i = 0;

  const emit = () => {
    let end = i;
    for (;;) {
      const built = build(units, start, end, overlap);
      const exact = countTokens(built.text);
      if (exact <= maxTokens) {
        chunks.push(describe(chunks.length, built.text, exact, units, sections, start, end, overlap));
        i = end;
        const next = units[i];
        // A chunk that starts at a heading starts a topic; the previous topic's tail would only blur it.
        const wantsOverlap = overlapTokens > 0 && next !== undefined && !(next.first && isHeading(next));
        overlap = wantsOverlap ? tailOf(built, overlapTokens) : undefined;
        break;
      }
      // Estimates summed below the limit but the exact count did not: give back the last unit.
      if (end - start > 1) end--;
      else if (overlap) overlap = undefined;
      else throw new Error(`chunker invariant broken: a single unit counts ${exact} > ${maxTokens} tokens`);
    }
    start = i;
    ownTokens = 0;
    tokens = overlap?.tokens ?? 0;
  };

  while (i < units.length) {
    const unit = units[i] as Unit;
    const sep = unit.first && (i > start || overlap) ? 1 : 0;
    if (i > start) {
      const section = sections[unit.section] as SectionInfo;
      const last = units[i - 1] as Unit;
      const afterHeading = isHeading(last);
      const headingBreak =
        unit.first && section.kind === 'heading' && !afterHeading && ownTokens >= headingBreakMin;
      const overflow = tokens + sep + unit.tokens > maxTokens;
      // Rather than split a section that would fit whole into the next chunk, end this one early;
      // but fill up anyway when this chunk is still small and the section is big.
      const sectionBreak =
        unit.first &&
        !afterHeading &&
        tokens + sep + section.tokens > maxTokens &&
        (section.tokens + overlapTokens + 1 <= maxTokens || tokens >= maxTokens / 4);
      if (headingBreak || overflow || sectionBreak) {
        // Headings belong with what follows them, never at the end of a chunk.
        let keep = i;
        while (keep > start && isHeading(units[keep - 1] as Unit)) keep--;
        if (keep > start) i = keep;
        // Only headings so far: take the front of the next unit rather than emit the headings alone.
        else if (!overlap && splitFront(units, i, maxTokens - tokens - sep)) continue;
        emit();
        continue;
      }
    }
    tokens += sep + unit.tokens;
    ownTokens += unit.tokens;
    i++;
  }
  if (i > start) emit();
  return chunks;
}

/**
 * Replaces units[index] by a front part of at most `room` tokens, cut at a word gap, and the rest.
 * False when not even the first word fits.
 */
function splitFront(units: Unit[], index: number, room: number): boolean {
  const unit = units[index] as Unit;
  const words = cutAt(unit.text, WORD_GAP);
  let used = 0;
  let taken = 0;
  for (const word of words) {
    const cost = countPiece(word);
    if (used + cost > room) break;
    used += cost;
    taken++;
  }
  if (taken === 0 || taken === words.length) return false;
  const front = words.slice(0, taken).join('');
  const rest = words.slice(taken).join('');
  units.splice(
    index,
    1,
    { ...unit, text: front, tokens: used },
    { ...unit, text: rest, tokens: countTokens(rest), first: false },
  );
  return true;
}

interface Built {
  text: string;
  /** Offset in text where each part starts, and the section it came from. */
  offsets: number[];
  partSections: number[];
}

function build(units: Unit[], start: number, end: number, overlap: Overlap | undefined): Built {
  let text = overlap?.text ?? '';
  const offsets: number[] = [];
  const partSections: number[] = [];
  let previous = overlap ? (overlap.sections.at(-1) as number) : -1;
  if (overlap) {
    offsets.push(0);
    partSections.push(previous);
  }
  for (let k = start; k < end; k++) {
    const unit = units[k] as Unit;
    let piece = unit.text;
    if (!text) piece = piece.trimStart();
    else if (unit.first || unit.section !== previous) piece = `\n\n${piece.trimStart()}`;
    offsets.push(text.length);
    partSections.push(unit.section);
    text += piece;
    previous = unit.section;
  }
  return { text, offsets, partSections };
}

/**
 * The end of a finished chunk to repeat at the start of the next: whole words worth at most
 * overlapTokens, starting at a sentence when one begins inside that budget.
 */
function tailOf(built: Built, overlapTokens: number): Overlap | undefined {
  const { text } = built;
  // Only the end of the chunk is ever needed; words average well under 16 characters per token.
  const windowStart = Math.max(0, text.length - overlapTokens * 16);
  const words: { start: number; end: number }[] = [];
  for (const m of text.slice(windowStart).matchAll(/\S+/g)) {
    words.push({ start: windowStart + m.index, end: windowStart + m.index + m[0].length });
  }
  // The window may begin mid-word; that partial word can never be used.
  if (windowStart > 0 && !/\s/.test(text[windowStart - 1] ?? ' ')) words.shift();

  let budget = overlapTokens;
  let used = 0;
  let from = words.length;
  let sentenceFrom = -1;
  let sentenceTokens = 0;
  while (from > 0) {
    const word = words[from - 1] as { start: number; end: number };
    const cost = countPiece(` ${text.slice(word.start, word.end)}`);
    if (cost > budget) break;
    budget -= cost;
    used += cost;
    from--;
    const before = words[from - 1];
    const startsSentence =
      before === undefined
        ? windowStart === 0
        : /[.!?…。！？:]['"”’)\]]*$/.test(text.slice(before.start, before.end)) ||
          text.slice(before.end, word.start).includes('\n');
    if (startsSentence) {
      sentenceFrom = from;
      sentenceTokens = used;
    }
  }
  if (from === words.length) return undefined;
  // A sentence start is worth keeping if it does not throw away most of the budget.
  const useSentence = sentenceFrom >= 0 && sentenceTokens * 2 >= used;
  const first = words[useSentence ? sentenceFrom : from] as { start: number };
  const offset = first.start;
  const sections: number[] = [];
  for (let k = 0; k < built.offsets.length; k++) {
    const partEnd = built.offsets[k + 1] ?? text.length;
    const section = built.partSections[k] as number;
    if (partEnd > offset && sections.at(-1) !== section) sections.push(section);
  }
  return { text: text.slice(offset), tokens: useSentence ? sentenceTokens : used, sections };
}

function describe(
  ordinal: number,
  text: string,
  tokenCount: number,
  units: Unit[],
  sections: SectionInfo[],
  start: number,
  end: number,
  overlap: Overlap | undefined,
): Chunk {
  const sectionIds = new Set<number>(overlap?.sections ?? []);
  const kinds: string[] = [];
  for (let k = start; k < end; k++) {
    const unit = units[k] as Unit;
    sectionIds.add(unit.section);
    const kind = (sections[unit.section] as SectionInfo).kind;
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  const pages = [
    ...new Set([...sectionIds].map((s) => sections[s]?.page).filter((p) => p !== undefined)),
  ].sort((a, b) => a - b);
  const heading = sections[(units[start] as Unit).section]?.heading;
  const chunk: Chunk = { ordinal, text, tokenCount, kinds };
  if (pages.length) chunk.pages = pages;
  if (heading) chunk.heading = heading;
  return chunk;
}
