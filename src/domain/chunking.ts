/**
 * Token-aware chunking of extracted documents.
 *
 * Encoding: cl100k_base. The chunks become rows that are embedded for search, and OpenAI's embedding
 * models (text-embedding-3-small/-large, ada-002) use cl100k_base, so a chunk's limit is enforced in
 * the units the embedding endpoint enforces. It is also the smaller table of the two candidates, so
 * it loads faster into every worker. gpt-tokenizer builds it once, when this module is first imported.
 *
 * Cost model: every section's text is read by the tokenizer's pre-token expression once
 * (chunking-tokens.ts), which keeps where each pre-token ends and the running count; the count of any
 * piece of it, and the exact tokenCount of a finished chunk, are then differences of running counts
 * plus a few pre-tokens re-read at their edges. Overlap words go through a cache. Packing itself only
 * adds numbers. So chunking costs about one tokenizer pass over the text (bench/chunker.bench.ts).
 *
 * Big documents: `chunkSteps` is the same algorithm as a generator that takes sections one by one and
 * hands out each chunk as soon as it is final, with a pause point (`undefined`) at least every few
 * milliseconds of work, so a caller can yield to its event loop, heartbeat and stop on cancellation
 * while chunking hundreds of megabytes; `chunkDocument` is that generator collected.
 *
 * Do not import this module from workflow code: it loads the tokenizer tables.
 */
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { type Block, countRange, countSpans, countText, pretokenize, type Span } from './chunking-tokens.js';
import type { ExtractedDocument, ExtractedSection, SectionKind, SectionSource } from './content.js';

export interface ChunkOptions {
  maxTokens: number;
  overlapTokens: number;
}

/**
 * One chunk and what a search hit can be shown with. Offsets are into the document's extracted text:
 * its sections' trimmed texts joined by blank lines ("\n\n"), empty sections left out. Section fields
 * (sheet, slide, time range, source, metadata) are carried from the sections the chunk's text came from.
 */
export interface Chunk {
  ordinal: number;
  text: string;
  tokenCount: number;
  pages?: number[];
  heading?: string;
  kinds?: string[];
  /** Offset of the chunk's first character in the extracted text, and of the character after its last. */
  charStart?: number;
  charEnd?: number;
  /** Sheet names (spreadsheets) and 1-based slide numbers (presentations), in order of appearance. */
  sheets?: string[];
  slides?: number[];
  /** Time range covered (audio, video): earliest start and latest end of the sections, in seconds. */
  startSeconds?: number;
  endSeconds?: number;
  /** How the text was obtained when not from a text layer ('ocr', 'transcription'), in order of appearance. */
  sources?: SectionSource[];
  /** The sections' own metadata (a code file's language, a CSV header), merged; the first section wins a key. */
  metadata?: Record<string, unknown>;
}

/**
 * Where a SectionChunker can start again (plain JSON, small: it travels in heartbeat details): a point
 * where a chunk has just ended at the start of a section, so nothing is pending but the overlap.
 */
export interface ChunkerState {
  /** Chunks emitted before this point: the next chunk's ordinal. */
  emitted: number;
  /** Offset in the extracted text where the next section starts. */
  charStart: number;
  /** Sequence number the next section gets (section identity only; never stored). */
  nextSection: number;
  overlap?: {
    text: string;
    tokens: number;
    charStart: number;
    sections: SectionInfo[];
  };
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
  if (text.length > SHORT_PIECE) return countText(text);
  let n = pieceCache.get(text);
  if (n === undefined) {
    n = countText(text);
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
  /** The pre-tokenized text the piece is part of (absent for a piece cut from a huge text without one), and where in it. */
  block: Block | undefined;
  at: number;
}

interface Unit extends Piece {
  section: SectionInfo;
  /** First piece of its section: joins the chunk after a blank line rather than its own whitespace. */
  first: boolean;
  /** Offset of the piece's first character in the extracted text. */
  start: number;
}

/** What chunks take from a section (its text aside). Plain JSON: overlaps carry it through checkpoints. */
export interface SectionInfo {
  /** Sequence number in the document, for telling sections apart. */
  id: number;
  kind: SectionKind;
  page?: number;
  heading?: string;
  sheet?: string;
  slide?: number;
  startSeconds?: number;
  endSeconds?: number;
  source?: SectionSource;
  metadata?: Record<string, unknown>;
  tokens: number;
}

interface Overlap {
  text: string;
  tokens: number;
  charStart: number;
  sections: SectionInfo[];
  /** Where the text comes from, for counting (in memory only: never in a ChunkerState). */
  spans?: Span[];
}

/**
 * Packs consecutive sections into chunks of at most maxTokens (exact, cl100k_base), breaking at
 * section boundaries where it can, else at sentences, lines, then words. Consecutive chunks share about
 * overlapTokens of whole words, except where a chunk starts at a heading. Deterministic.
 */
export function chunkDocument(doc: ExtractedDocument, options: ChunkOptions): Chunk[] {
  const chunks: Chunk[] = [];
  for (const step of chunkSteps(doc.sections, options)) if (step) chunks.push(step);
  return chunks;
}

/**
 * `chunkDocument` one step at a time: yields each chunk as soon as it is final (the same chunks, in the
 * same order) and `undefined` between bounded pieces of work, where the caller may pause. Sections are
 * read lazily, and the units already packed are dropped, so memory follows the section at hand.
 */
export function* chunkSteps(
  sections: Iterable<ExtractedSection>,
  options: ChunkOptions,
): Generator<Chunk | undefined, void, undefined> {
  const chunker = new SectionChunker(options);
  for (const section of sections) yield* chunker.add(section);
  yield* chunker.finish();
}

/** A point where a new SectionChunker may start: its state, and the token given with the section to re-read. */
export interface QuietPoint<T> {
  state: ChunkerState;
  /** The `before` token of the first section the resumed chunker must be given again. */
  before: T | undefined;
}

/**
 * The chunker fed one section at a time (sections may arrive from an async stream): `add` yields the
 * chunks that became final and pause points, `finish` the last chunk. Resumable: `quiet` is the latest
 * point where a chunk ended at the start of a section; a SectionChunker constructed from `quiet.state`
 * and given the sections from that one on yields exactly the chunks this one yields after that point.
 * `before` (whatever the caller uses to find a section again, e.g. a provider checkpoint) is passed with
 * each section and handed back in `quiet`.
 */
export class SectionChunker<T = unknown> {
  private readonly packer: Packer<T>;
  private readonly unitLimit: number;
  private nextSection: number;
  private charStart: number;

  constructor(options: ChunkOptions, from?: ChunkerState) {
    const { maxTokens, overlapTokens } = validate(options);
    // Leaves room for the overlap and the blank line before a unit, so any unit fits a fresh chunk.
    this.unitLimit = Math.max(1, maxTokens - overlapTokens - 1);
    this.packer = new Packer(maxTokens, overlapTokens, from);
    this.nextSection = from?.nextSection ?? 0;
    this.charStart = from?.charStart ?? 0;
  }

  /** The latest point a chunker could start again from (see the class comment); undefined before one. */
  get quiet(): QuietPoint<T> | undefined {
    return this.packer.quiet;
  }

  /** The first section whose text is not yet all in emitted chunks (or the next one to come). */
  get oldestPending(): number {
    return this.packer.oldestPending ?? this.nextSection;
  }

  /** Chunks emitted so far (including those before the state this chunker started from). */
  get emitted(): number {
    return this.packer.emitted;
  }

  *add(section: ExtractedSection, before?: T): Generator<Chunk | undefined, void, undefined> {
    const text = section.text.trim();
    if (!text) return;
    const { unitLimit } = this;
    // Every piece of a section is known before its first unit is packed: packing reads the section's
    // total (a section that fits a fresh chunk whole is not split).
    const pieces: Piece[] = [];
    let tokens = 0;
    const levels = LINE_KINDS.has(section.kind) ? LINE_LEVELS : PROSE_LEVELS;
    const block = text.length > unitLimit * MAX_CHARS_PER_TOKEN ? undefined : pretokenize(text);
    const total = block ? block.tokens : TOO_LONG;
    if (total <= unitLimit) {
      // Most sections fit whole: no splitting machinery for them.
      pieces.push({ text, tokens: total, block, at: 0 });
      tokens = total;
    } else {
      for (const piece of splitToFit(text, total, levels, 0, unitLimit, block, 0)) {
        pieces.push(piece);
        tokens += piece.tokens;
        if (pieces.length % PIECES_PER_STEP === 0) yield undefined;
      }
    }
    const info = sectionInfo(section, this.nextSection++, tokens);
    this.packer.addSection(info, pieces, this.charStart, before);
    this.charStart += text.length + 2;
    yield* this.packer.pack();
    yield undefined;
  }

  *finish(): Generator<Chunk, void, undefined> {
    yield* this.packer.finish();
  }
}

function sectionInfo(section: ExtractedSection, id: number, tokens: number): SectionInfo {
  const info: SectionInfo = { id, kind: section.kind, tokens };
  if (section.page !== undefined) info.page = section.page;
  if (section.heading !== undefined) info.heading = section.heading;
  if (section.sheet !== undefined) info.sheet = section.sheet;
  if (section.slide !== undefined) info.slide = section.slide;
  if (section.startSeconds !== undefined) info.startSeconds = section.startSeconds;
  if (section.endSeconds !== undefined) info.endSeconds = section.endSeconds;
  if (section.source !== undefined) info.source = section.source;
  if (section.metadata !== undefined && Object.keys(section.metadata).length > 0)
    info.metadata = section.metadata;
  return info;
}

/** Pieces split between two pause points: each costs one short token count. */
const PIECES_PER_STEP = 64;

/**
 * A text certainly longer than `limit` tokens is not counted whole (counting 100 MB at once would block
 * for seconds): no cl100k_base token spans more than 128 characters (a run of spaces), so more than
 * 256 characters per allowed token cannot fit. Such a text is cut without its count.
 */
const MAX_CHARS_PER_TOKEN = 256;
const TOO_LONG = Number.POSITIVE_INFINITY;

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

/**
 * Pieces of at most `limit` tokens, cut at the coarsest level that gets there. `text` is
 * `block.text.slice(at)` when there is a block: its parts are counted from the block's running counts.
 * A part of a huge text without one gets its own block once it is short enough to be counted at all.
 */
function* splitToFit(
  text: string,
  tokens: number,
  levels: RegExp[],
  level: number,
  limit: number,
  block: Block | undefined,
  at: number,
): Generator<Piece, void, undefined> {
  if (tokens <= limit) {
    yield { text, tokens, block, at };
    return;
  }
  const gap = levels[level];
  if (!gap) {
    yield* hardSplit(text, limit, block, at);
    return;
  }
  const parts = cutAt(text, gap);
  const first = parts.next();
  const second = parts.next();
  if (first.done || second.done) {
    yield* splitToFit(text, tokens, levels, level + 1, limit, block, at);
    return;
  }
  for (const part of [first.value, second.value])
    yield* splitPart(text, part, levels, level, limit, block, at);
  for (const part of parts) yield* splitPart(text, part, levels, level, limit, block, at);
}

function* splitPart(
  text: string,
  [start, end]: [number, number],
  levels: RegExp[],
  level: number,
  limit: number,
  block: Block | undefined,
  at: number,
): Generator<Piece, void, undefined> {
  const part = text.slice(start, end);
  if (block) {
    const tokens = countRange(block, at + start, at + end);
    yield* splitToFit(part, tokens, levels, level + 1, limit, block, at + start);
  } else if (part.length > limit * MAX_CHARS_PER_TOKEN) {
    yield* splitToFit(part, TOO_LONG, levels, level + 1, limit, undefined, 0);
  } else {
    const own = pretokenize(part);
    yield* splitToFit(part, own.tokens, levels, level + 1, limit, own, 0);
  }
}

/** Where the text is cut before each match of `gap` (lazily: a huge section is never cut all at once). */
function* cutAt(text: string, gap: RegExp): Generator<[number, number], void, undefined> {
  let start = 0;
  for (const match of text.matchAll(gap)) {
    if (match.index > start) {
      yield [start, match.index];
      start = match.index;
    }
  }
  yield [start, text.length];
}

/**
 * Last resort for a single "word" longer than a chunk (a base64 blob, a minified line): cut by
 * characters at the longest prefix that fits. Never splits a surrogate pair.
 */
function* hardSplit(
  text: string,
  limit: number,
  block: Block | undefined,
  at: number,
): Generator<Piece, void, undefined> {
  let rest = text;
  let offset = at;
  while (rest) {
    // A token rarely spans more than a few dozen characters, which bounds each search.
    let hi = Math.min(rest.length, limit * 64);
    let lo = 1;
    let best = 0;
    let bestTokens = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const end = isHighSurrogate(rest.charCodeAt(mid - 1)) ? mid + 1 : mid;
      const tokens = countText(rest.slice(0, end));
      if (tokens <= limit) {
        best = end;
        bestTokens = tokens;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best === 0) {
      // One character that needs more tokens than the limit allows: keep it whole rather than loop.
      best = isHighSurrogate(rest.charCodeAt(0)) ? 2 : 1;
      bestTokens = countText(rest.slice(0, best));
    }
    yield { text: rest.slice(0, best), tokens: bestTokens, block, at: offset };
    rest = rest.slice(best);
    offset += best;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Greedy packing over the units, with the boundary preferences described on chunkDocument. Units arrive
 * a section at a time (`addSection`); `pack` emits every chunk that no later unit can change, and
 * `finish` the last one. The decision at a unit looks only at that unit, the ones before it in the
 * current chunk and its section's total, so packing as units arrive gives the chunks packing all of
 * them at once would; and a packer started from a quiet point (nothing pending but the overlap) and
 * given the same units from there on gives the same chunks.
 */
class Packer<T> {
  private readonly units: Unit[] = [];
  /** The resume token of each section whose first unit is still held, by section id. */
  private readonly befores = new Map<number, T | undefined>();
  // A heading only closes a chunk holding at least this much, so a title is not left on its own.
  private readonly headingBreakMin: number;
  private overlap: Overlap | undefined;
  private start = 0; // the current chunk's own units are units[start..i)
  private ownTokens = 0;
  private tokens = 0;
  private i = 0;
  emitted = 0;
  quiet: QuietPoint<T> | undefined;

  constructor(
    private readonly maxTokens: number,
    private readonly overlapTokens: number,
    from?: ChunkerState,
  ) {
    this.headingBreakMin = Math.max(1, Math.floor(maxTokens / 8));
    if (from) {
      this.emitted = from.emitted;
      if (from.overlap) this.overlap = { ...from.overlap };
      this.tokens = this.overlap?.tokens ?? 0;
    }
  }

  get oldestPending(): number | undefined {
    return this.units[this.start]?.section.id;
  }

  addSection(info: SectionInfo, pieces: Piece[], charStart: number, before: T | undefined): void {
    let start = charStart;
    for (let i = 0; i < pieces.length; i++) {
      const { text, tokens, block, at } = pieces[i] as Piece;
      this.units.push({ text, tokens, block, at, section: info, first: i === 0, start });
      start += text.length;
    }
    this.befores.set(info.id, before);
  }

  /** Packs the units that have arrived; yields each chunk that is final. */
  *pack(): Generator<Chunk, void, undefined> {
    const { units, maxTokens, overlapTokens } = this;
    while (this.i < units.length) {
      const unit = units[this.i] as Unit;
      const sep = unit.first && (this.i > this.start || this.overlap) ? 1 : 0;
      if (this.i > this.start) {
        const section = unit.section;
        const last = units[this.i - 1] as Unit;
        const afterHeading = isHeading(last);
        const headingBreak =
          unit.first && section.kind === 'heading' && !afterHeading && this.ownTokens >= this.headingBreakMin;
        const overflow = this.tokens + sep + unit.tokens > maxTokens;
        // Rather than split a section that would fit whole into the next chunk, end this one early;
        // but fill up anyway when this chunk is still small and the section is big.
        const sectionBreak =
          unit.first &&
          !afterHeading &&
          this.tokens + sep + section.tokens > maxTokens &&
          (section.tokens + overlapTokens + 1 <= maxTokens || this.tokens >= maxTokens / 4);
        if (headingBreak || overflow || sectionBreak) {
          // Headings belong with what follows them, never at the end of a chunk.
          let keep = this.i;
          while (keep > this.start && isHeading(units[keep - 1] as Unit)) keep--;
          if (keep > this.start) this.i = keep;
          // Only headings so far: take the front of the next unit rather than emit the headings alone.
          else if (!this.overlap && splitFront(units, this.i, maxTokens - this.tokens - sep)) continue;
          yield this.emit();
          continue;
        }
      }
      this.tokens += sep + unit.tokens;
      this.ownTokens += unit.tokens;
      this.i++;
    }
  }

  /** The last chunk, once every section has arrived. */
  *finish(): Generator<Chunk, void, undefined> {
    yield* this.pack();
    if (this.i > this.start) yield this.emit();
  }

  private emit(): Chunk {
    const { units, maxTokens, overlapTokens } = this;
    let end = this.i;
    let chunk: Chunk;
    for (;;) {
      const built = build(units, this.start, end, this.overlap);
      const exact = countSpans(built.text, built.spans);
      if (exact <= maxTokens) {
        chunk = describe(this.emitted++, built, exact, units, this.start, end, this.overlap);
        this.i = end;
        const next = units[this.i];
        // A chunk that starts at a heading starts a topic; the previous topic's tail would only blur it.
        const wantsOverlap = overlapTokens > 0 && next !== undefined && !(next.first && isHeading(next));
        this.overlap = wantsOverlap ? tailOf(built, overlapTokens) : undefined;
        break;
      }
      // Estimates summed below the limit but the exact count did not: give back the last unit.
      if (end - this.start > 1) end--;
      else if (this.overlap) this.overlap = undefined;
      else throw new Error(`chunker invariant broken: a single unit counts ${exact} > ${maxTokens} tokens`);
    }
    this.start = this.i;
    this.ownTokens = 0;
    this.tokens = this.overlap?.tokens ?? 0;
    const next = units[this.start];
    if (next?.first) {
      // Nothing pending but the overlap: a packer could start here, given the sections from `next` on.
      this.quiet = {
        state: {
          emitted: this.emitted,
          charStart: next.start,
          nextSection: next.section.id,
          ...(this.overlap ? { overlap: plainOverlap(this.overlap) } : {}),
        },
        before: this.befores.get(next.section.id),
      };
    }
    // Units before the current chunk are never looked at again: drop them now and then.
    if (this.start >= DROP_UNITS_AFTER) {
      units.splice(0, this.start);
      this.i -= this.start;
      this.start = 0;
      const oldest = units[0]?.section.id ?? Number.POSITIVE_INFINITY;
      for (const id of this.befores.keys()) if (id < oldest) this.befores.delete(id);
    }
    return chunk;
  }
}

function isHeading(u: Unit): boolean {
  return u.section.kind === 'heading';
}

const DROP_UNITS_AFTER = 4096;

/**
 * Replaces units[index] by a front part of at most `room` tokens, cut at a word gap, and the rest.
 * False when not even the first word fits.
 */
function splitFront(units: Unit[], index: number, room: number): boolean {
  const unit = units[index] as Unit;
  const words = [...cutAt(unit.text, WORD_GAP)].map(([from, to]) => unit.text.slice(from, to));
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
  const rest = unit.text.slice(front.length);
  const { block, at } = unit;
  const restTokens = block ? countRange(block, at + front.length, at + unit.text.length) : countText(rest);
  units.splice(
    index,
    1,
    { ...unit, text: front, tokens: used },
    {
      ...unit,
      text: rest,
      tokens: restTokens,
      first: false,
      start: unit.start + front.length,
      at: at + front.length,
    },
  );
  return true;
}

interface Built {
  text: string;
  /** Offset in text where each part's own characters start, the section it came from, and where those characters are in the extracted text. */
  offsets: number[];
  partSections: SectionInfo[];
  sources: number[];
  /** The stretches of text that come from pre-tokenized blocks, for the exact count. */
  spans: Span[];
}

function build(units: Unit[], start: number, end: number, overlap: Overlap | undefined): Built {
  let text = overlap?.text ?? '';
  const offsets: number[] = [];
  const partSections: SectionInfo[] = [];
  const sources: number[] = [];
  const spans: Span[] = overlap?.spans ? overlap.spans.map((span) => ({ ...span })) : [];
  let previous = overlap ? (overlap.sections.at(-1) as SectionInfo).id : -1;
  if (overlap) {
    offsets.push(0);
    partSections.push(overlap.sections.at(-1) as SectionInfo);
    sources.push(overlap.charStart);
  }
  for (let k = start; k < end; k++) {
    const unit = units[k] as Unit;
    let piece = unit.text;
    let lead = 0;
    if (!text) piece = piece.trimStart();
    else if (unit.first || unit.section.id !== previous) {
      piece = piece.trimStart();
      lead = 2;
      piece = `\n\n${piece}`;
    }
    const skipped = unit.text.length - (piece.length - lead);
    offsets.push(text.length + lead);
    partSections.push(unit.section);
    sources.push(unit.start + skipped);
    if (unit.block) {
      const spanStart = text.length + lead;
      const from = unit.at + skipped;
      const last = spans.at(-1);
      // Consecutive pieces of one block read as one stretch: no edge to re-read between them.
      if (
        last &&
        last.block === unit.block &&
        last.end === spanStart &&
        last.from + (last.end - last.start) === from
      )
        last.end = spanStart + piece.length - lead;
      else spans.push({ start: spanStart, end: spanStart + piece.length - lead, block: unit.block, from });
    }
    text += piece;
    previous = unit.section.id;
  }
  return { text, offsets, partSections, sources, spans };
}

/** The overlap as a ChunkerState carries it: plain JSON, without the blocks its text points into. */
function plainOverlap({ text, tokens, charStart, sections }: Overlap): NonNullable<ChunkerState['overlap']> {
  return { text, tokens, charStart, sections };
}

/** Where the character at `offset` of a built chunk is in the extracted text (exact but for inserted breaks). */
function sourceOffset(built: Built, offset: number): number {
  let k = 0;
  while (k + 1 < built.offsets.length && (built.offsets[k + 1] as number) <= offset) k++;
  return (built.sources[k] as number) + Math.max(0, offset - (built.offsets[k] as number));
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
  const sections: SectionInfo[] = [];
  for (let k = 0; k < built.offsets.length; k++) {
    const partEnd = built.offsets[k + 1] ?? text.length;
    const section = built.partSections[k] as SectionInfo;
    if (partEnd > offset && sections.at(-1)?.id !== section.id) sections.push(section);
  }
  const spans: Span[] = [];
  for (const span of built.spans) {
    if (span.end <= offset) continue;
    const cut = Math.max(0, offset - span.start);
    spans.push({
      start: span.start + cut - offset,
      end: span.end - offset,
      block: span.block,
      from: span.from + cut,
    });
  }
  return {
    text: text.slice(offset),
    tokens: useSentence ? sentenceTokens : used,
    charStart: sourceOffset(built, offset),
    sections,
    spans,
  };
}

function describe(
  ordinal: number,
  built: Built,
  tokenCount: number,
  units: Unit[],
  start: number,
  end: number,
  overlap: Overlap | undefined,
): Chunk {
  const sections = new Map<number, SectionInfo>();
  for (const section of overlap?.sections ?? []) sections.set(section.id, section);
  const kinds: string[] = [];
  for (let k = start; k < end; k++) {
    const unit = units[k] as Unit;
    sections.set(unit.section.id, unit.section);
    if (!kinds.includes(unit.section.kind)) kinds.push(unit.section.kind);
  }
  const infos = [...sections.values()];
  const pages = [...new Set(infos.map((s) => s.page).filter((p) => p !== undefined))].sort((a, b) => a - b);
  const heading = (units[start] as Unit).section.heading;
  const last = units[end - 1] as Unit;
  const chunk: Chunk = {
    ordinal,
    text: built.text,
    tokenCount,
    kinds,
    charStart: built.sources[0] as number,
    charEnd: last.start + last.text.length,
  };
  if (pages.length) chunk.pages = pages;
  if (heading) chunk.heading = heading;
  const sheets = distinct(infos.map((s) => s.sheet));
  if (sheets.length) chunk.sheets = sheets;
  const slides = distinct(infos.map((s) => s.slide));
  if (slides.length) chunk.slides = slides;
  const starts = infos.map((s) => s.startSeconds).filter((v) => v !== undefined);
  const ends = infos.map((s) => s.endSeconds).filter((v) => v !== undefined);
  if (starts.length) chunk.startSeconds = Math.min(...starts);
  if (ends.length) chunk.endSeconds = Math.max(...ends);
  const sources = distinct(infos.map((s) => (s.source === 'text' ? undefined : s.source)));
  if (sources.length) chunk.sources = sources;
  const metadata: Record<string, unknown> = {};
  for (const info of infos) {
    for (const [key, value] of Object.entries(info.metadata ?? {}))
      if (!(key in metadata)) metadata[key] = value;
  }
  if (Object.keys(metadata).length) chunk.metadata = metadata;
  return chunk;
}

function distinct<V>(values: (V | undefined)[]): V[] {
  const out: V[] = [];
  for (const value of values) if (value !== undefined && !out.includes(value)) out.push(value);
  return out;
}
