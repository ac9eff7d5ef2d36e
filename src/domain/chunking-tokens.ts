/**
 * Exact cl100k_base token counts for the chunker at the price of tokenizing the text about once.
 *
 * cl100k_base first cuts text into pre-tokens with one regular expression, then byte-pair encodes each
 * pre-token on its own, so a text's count is the sum of its pre-tokens' counts. `pretokenize` runs that
 * expression once over a block of text and keeps where each pre-token ends and the running count. The
 * count of any stretch of the block, alone or inside a chunk whose other parts come from elsewhere, is
 * then a difference of running counts plus a few pre-tokens re-read at its two edges:
 * - start: the expression has no lookbehind, so from a point where both the chunk and the block start a
 *   pre-token, both cut identically; re-reading from the stretch's start finds such a point after one or
 *   two pre-tokens ("word" inside the chunk, " word" in the block, both end at the word's end).
 * - end: a pre-token of the block that ends at P, with a non-space character before P and P inside the
 *   stretch, looked at no character past P (the alternatives that scan further scan whitespace only);
 *   so every pre-token up to the last such P is the same in any text holding the stretch, and only the
 *   rest is re-read in its real surroundings.
 * Re-reading always runs the same expression on the real text, so the sum is exact, not an estimate;
 * test/unit/chunking.test.ts compares it with gpt-tokenizer's countTokens on adversarial text.
 */
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base';

// gpt-tokenizer's CL100K_TOKEN_SPLIT_PATTERN (not exported by the package), verbatim.
const CONTRACTION = "'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])";
// Sticky: every character is matched by some alternative, so pre-tokens are contiguous and each one is
// text.slice(previous lastIndex, lastIndex); `test` spares the match array `exec` would build.
const PRETOKEN = new RegExp(
  String.raw`${CONTRACTION}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$|\s*[\r\n]|\s+(?!\S)|\s`,
  'uy',
);

// Documents may legitimately contain "<|endoftext|>"; it is text to us, not a control token.
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

// Pre-tokens repeat constantly (words with their leading space); their counts are cached. Cleared when
// full: a long-lived worker's memory stays bounded.
const CACHE_LIMIT = 100_000;
const pieceCache = new Map<string, number>();
const utf8 = new TextEncoder();
const utf16 = new TextDecoder();

/** Tokens of one pre-token (a pre-token read alone is that one pre-token, so the library's count is its BPE length). */
function pretokenTokens(piece: string): number {
  const cached = pieceCache.get(piece);
  if (cached !== undefined) return cached;
  const n = countCl100k(piece, AS_PLAIN_TEXT);
  if (pieceCache.size >= CACHE_LIMIT) pieceCache.clear();
  // A match may be a view into a huge section; the key is copied so the cache never holds the section.
  pieceCache.set(piece.length > 12 ? utf16.decode(utf8.encode(piece)) : piece, n);
  return n;
}

/** Exact cl100k_base count of `text` (special-token strings as plain text), through the pre-token cache. */
export function countText(text: string): number {
  return countFrom(text, 0);
}

/** Tokens of text from `pos` (where a pre-token starts) to its end. */
function countFrom(text: string, pos: number): number {
  const re = PRETOKEN;
  re.lastIndex = pos;
  let total = 0;
  let start = pos;
  while (re.test(text)) {
    const end = re.lastIndex;
    total += pretokenTokens(text.slice(start, end));
    start = end;
  }
  // Unreachable while the expression covers every character; should it not, the library reads the rest.
  if (start < text.length) total += countCl100k(text.slice(start), AS_PLAIN_TEXT);
  return total;
}

/**
 * A text's pre-tokens: `ends[k]` is where pre-token k ends (ends[0] = 0) and `sums[k]` the tokens up to
 * there. Blocks are what chunk pieces point into; they hold no strings but `text`.
 */
export interface Block {
  text: string;
  ends: Int32Array;
  sums: Int32Array;
  /** Pre-tokens + 1. */
  size: number;
  tokens: number;
}

/** Blocks of fewer characters keep no pre-token ends: the chunk count re-reads them whole (see countSpans). */
export const MIN_SPAN = 24;
const NO_ENDS = new Int32Array(0);

let scratchEnds = new Int32Array(4096);
let scratchSums = new Int32Array(4096);

// Most blocks are short paragraphs: their arrays are cut from shared slabs rather than allocated one by
// one (a slab lives as long as any block in it).
const SLAB = 1 << 16;
let slab = new Int32Array(SLAB);
let slabUsed = 0;

function arrays(n: number): [Int32Array, Int32Array] {
  if (n * 2 > SLAB / 8) {
    const own = new Int32Array(n * 2);
    return [own.subarray(0, n), own.subarray(n)];
  }
  if (slabUsed + n * 2 > SLAB) {
    slab = new Int32Array(SLAB);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += n * 2;
  return [slab.subarray(at, at + n), slab.subarray(at + n, at + n * 2)];
}

export function pretokenize(text: string): Block {
  if (text.length < MIN_SPAN) return { text, ends: NO_ENDS, sums: NO_ENDS, size: 0, tokens: countText(text) };
  const re = PRETOKEN;
  re.lastIndex = 0;
  let ends = scratchEnds;
  let sums = scratchSums;
  let n = 1;
  let total = 0;
  let start = 0;
  while (re.test(text)) {
    const end = re.lastIndex;
    total += pretokenTokens(text.slice(start, end));
    start = end;
    if (n === ends.length) {
      const grownEnds = new Int32Array(n * 2);
      const grownSums = new Int32Array(n * 2);
      grownEnds.set(ends);
      grownSums.set(sums);
      ends = grownEnds;
      sums = grownSums;
      // Kept for the next block only while modest: one huge section must not pin its arrays.
      if (n * 2 <= 1 << 18) {
        scratchEnds = ends;
        scratchSums = sums;
      }
    }
    ends[n] = end;
    sums[n] = total;
    n++;
  }
  if (start < text.length) {
    // Unreachable (see PRETOKEN); should it happen, the rest is one opaque stretch.
    total += countCl100k(text.slice(start), AS_PLAIN_TEXT);
    n = 1;
  }
  const [ownEnds, ownSums] = arrays(n);
  ownEnds.set(ends.subarray(0, n));
  ownSums.set(sums.subarray(0, n));
  return { text, ends: ownEnds, sums: ownSums, size: n, tokens: total };
}

/** Index of the first pre-token end at or after `at`. */
function firstEndFrom(block: Block, at: number): number {
  const { ends } = block;
  let lo = 0;
  let hi = block.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ends[mid] as number) < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Index of the last pre-token end P with from < P < to whose character before is not whitespace (see the
 * module comment), or -1.
 */
function safeEnd(block: Block, from: number, to: number): number {
  const { ends, text } = block;
  let k = firstEndFrom(block, to) - 1;
  while (k > 0) {
    const p = ends[k] as number;
    if (p <= from) return -1;
    if (!isSpace(text.charCodeAt(p - 1))) return k;
    k--;
  }
  return -1;
}

/** JavaScript's \s (WhiteSpace and LineTerminator), which the pre-token expression uses. */
export function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** A stretch of a chunk's text that is `block.text[from, from + (end - start))`. */
export interface Span {
  /** Where the stretch is in the chunk's text. */
  start: number;
  end: number;
  block: Block;
  /** Where it is in the block's text. */
  from: number;
}

/**
 * Exact token count of `text`, a chunk whose stretches listed in `spans` (in order, not overlapping)
 * come from pre-tokenized blocks; everything else (separators, text without a block) is read directly.
 */
export function countSpans(text: string, spans: readonly Span[]): number {
  const re = PRETOKEN;
  let total = 0;
  let pos = 0; // a pre-token of `text` starts here
  for (const span of spans) {
    if (span.end - span.start < MIN_SPAN) continue;
    const { block } = span;
    const to = span.from + (span.end - span.start);
    const last = safeEnd(block, span.from, to);
    if (last < 0) continue;
    const lastEnd = span.start + ((block.ends[last] as number) - span.from);
    if (pos >= lastEnd) continue;
    re.lastIndex = pos;
    let k = firstEndFrom(block, span.from + Math.max(0, pos - span.start));
    for (;;) {
      if (!re.test(text)) return total + countFrom(text, pos); // cannot happen (see PRETOKEN)
      const e = re.lastIndex;
      total += pretokenTokens(text.slice(pos, e));
      pos = e;
      if (e >= lastEnd) break;
      if (e < span.start) continue;
      const at = span.from + (e - span.start);
      while ((block.ends[k] as number) < at) k++;
      if (block.ends[k] === at) {
        // In step with the block: its pre-tokens up to `last` are this text's too.
        total += (block.sums[last] as number) - (block.sums[k] as number);
        pos = lastEnd;
        break;
      }
    }
  }
  return total + countFrom(text, pos);
}

/** Exact token count of `block.text.slice(from, to)` read alone. */
export function countRange(block: Block, from: number, to: number): number {
  if (from === 0 && to === block.text.length) return block.tokens;
  const text = block.text.slice(from, to);
  if (to - from < MIN_SPAN * 2) return countText(text);
  return countSpans(text, [{ start: 0, end: to - from, block, from }]);
}
