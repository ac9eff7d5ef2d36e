import { parse as parseYaml } from 'yaml';
import type { ExtractedSection, SectionKind } from '../../domain/content.js';
import { readUtf8File } from '../helpers/read-text.js';
import { prescanLines, streamLines } from '../helpers/stream-lines.js';
import { checkExtractedChars } from '../limits.js';
import type {
  ContentProvider,
  ProviderContext,
  SourceFile,
  StreamCheckpoint,
  StreamItem,
} from '../provider.js';

/** While streaming, a block that grows past this many characters is handed out in parts (see BlockParser). */
export const STREAM_BLOCK_CHARS = 1024 * 1024;
/** Front matter is looked for in at most this many bytes at the start of a streamed file. */
const FRONT_MATTER_BYTES = 256 * 1024;

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const LIST_ITEM = /^\s{0,8}(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)/;
const TABLE_ROW = /^ {0,3}\|/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
// Reference definitions ("[image1]: <data:image/png;base64,…>") are never rendered; in exported Google
// Docs they hold whole images as base64, which would otherwise become hundreds of KB of "text".
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*\S/;
const INLINE_DATA_IMAGE = /!\[([^\]]*)\]\(\s*<?data:[^)]*\)/g;
const IMAGE_ONLY = /^(?:\s*!\[[^\]]*\](?:\[[^\]]*\]|\([^)]*\))\s*)+$/;

/**
 * A line-oriented reader for the block structure that matters to chunking (headings, paragraphs,
 * lists, fences, tables); inline markup is kept as written because it reads fine as text. An empty
 * file has no sections.
 */
export const markdownProvider: ContentProvider = {
  name: 'markdown',
  version: '1.0.0',
  mimeTypes: ['text/markdown', 'text/x-markdown'],
  extensions: ['.md', '.markdown'],
  async extract(file, ctx) {
    const source = await readUtf8File(file, ctx);
    const { body, frontMatter } = splitFrontMatter(source, ctx.config.limits.maxYamlAliases);
    const { sections, droppedDataImages } = parseBlocks(body);
    const metadata: Record<string, unknown> = {};
    if (frontMatter) metadata.frontMatter = frontMatter;
    if (droppedDataImages > 0) metadata.droppedDataImages = droppedDataImages;
    const title = sections.find((s) => s.kind === 'heading')?.text;
    if (title) metadata.title = title;
    return { provider: 'markdown', sections, metadata };
  },
  /**
   * The same sections line by line, for huge files: a checkpoint wherever no block is pending, carrying
   * the heading path (so sections after a resume keep their headings), the characters so far (for the
   * extracted-character limit) and the line number. Differences from `extract`, all past sizes no real
   * document reaches: a block over STREAM_BLOCK_CHARS is split into consecutive sections of its kind, a
   * line over the 4 MiB read piece becomes paragraph sections, and front matter is looked for only in
   * the first FRONT_MATTER_BYTES.
   */
  async *streamSections(file, ctx, from?: StreamCheckpoint) {
    const { limits } = ctx.config;
    const state = (from?.state ?? {}) as {
      stack?: HeadingEntry[];
      droppedDataImages?: number;
      characters?: number;
      line?: number;
      title?: string;
    };
    await prescanLines(file, ctx, from?.byte ?? 0);
    const front = await readFrontMatter(file, ctx);
    let characters = Number(state.characters ?? 0);
    let title = state.title;
    const out: ExtractedSection[] = [];
    const parser = new BlockParser((section) => out.push(section), STREAM_BLOCK_CHARS, state);
    const start = from ? from.byte : front.bodyStart;
    let line = from ? Number(state.line ?? 1) : front.bodyLine;
    // Inside a line longer than a read piece: its pieces become paragraph sections, never one huge string.
    let inLongLine = false;
    const handOut = function* (checkpoint: StreamCheckpoint | undefined): Generator<StreamItem> {
      for (let i = 0; i < out.length; i++) {
        const section = out[i] as ExtractedSection;
        characters += section.text.length;
        checkExtractedChars(file.name, limits, characters);
        if (title === undefined && section.kind === 'heading') title = section.text;
        // Only the last section of a line ends at a point a parser can start again from.
        yield i === out.length - 1 && checkpoint ? { section, checkpoint } : { section };
      }
      out.length = 0;
    };
    for await (const piece of streamLines(file, ctx, start, { startLine: line })) {
      if (!piece.complete || inLongLine) {
        if (!inLongLine) parser.end();
        inLongLine = !piece.complete;
        if (piece.text.trim()) out.push({ text: piece.text, kind: 'paragraph' });
        yield* handOut(undefined);
        continue;
      }
      // Old Mac line ends (a lone CR) are line ends too, as in extract's normalisation.
      for (const part of piece.text.split('\r')) parser.line(part);
      line = piece.line + 1;
      const checkpoint = parser.between
        ? { byte: piece.end, state: { ...parser.state, characters, line, ...(title ? { title } : {}) } }
        : undefined;
      // The checkpoint's characters must count the sections handed out with it.
      if (checkpoint) {
        const added = out.reduce((n, s) => n + s.text.length, 0);
        checkpoint.state.characters = characters + added;
        const heading = title ?? out.find((s) => s.kind === 'heading')?.text;
        if (heading) Object.assign(checkpoint.state, { title: heading });
      }
      yield* handOut(checkpoint);
    }
    parser.end();
    yield* handOut(undefined);
    const metadata: Record<string, unknown> = {};
    if (front.frontMatter) metadata.frontMatter = front.frontMatter;
    if (parser.droppedDataImages > 0) metadata.droppedDataImages = parser.droppedDataImages;
    if (title) metadata.title = title;
    return { metadata };
  },
};

/**
 * Front matter at the start of a file that is streamed: the same rule as splitFrontMatter, over the
 * first lines only. Where the body starts (byte and line), and the data when there is a mapping.
 */
async function readFrontMatter(
  file: SourceFile,
  ctx: ProviderContext,
): Promise<{ bodyStart: number; bodyLine: number; frontMatter?: Record<string, unknown> }> {
  const none = { bodyStart: 0, bodyLine: 1 };
  const lines: string[] = [];
  let read = 0;
  for await (const piece of streamLines(file, ctx, 0, { lineLimit: false })) {
    read += piece.text.length;
    if (!piece.complete || read > FRONT_MATTER_BYTES) return none;
    if (lines.length === 0) {
      if (!/^---[ \t]*$/.test(piece.text)) return none;
      lines.push(piece.text);
      continue;
    }
    if (lines.length > 1 && /^(?:---|\.\.\.)[ \t]*$/.test(piece.text)) {
      const text = `${[...lines, piece.text].join('\n')}\n`;
      const { body, frontMatter } = splitFrontMatter(text, ctx.config.limits.maxYamlAliases);
      if (!frontMatter || body !== '') return none;
      return { bodyStart: piece.end, bodyLine: piece.line + 1, frontMatter };
    }
    lines.push(piece.text);
  }
  return none;
}

function splitFrontMatter(
  text: string,
  maxAliasCount: number,
): { body: string; frontMatter?: Record<string, unknown> } {
  const match = /^---[ \t]*\n([\s\S]*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)/.exec(text);
  if (!match) return { body: text };
  try {
    // Aliases are bounded like the structured provider's; unique keys are not checked (the check is
    // quadratic in the yaml package, and for metadata the last value of a repeated key is fine).
    const data: unknown = parseYaml(match[1] ?? '', { maxAliasCount, uniqueKeys: false });
    // A leading thematic break followed by prose is not front matter; only a mapping counts.
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
      return { body: text.slice(match[0].length), frontMatter: data as Record<string, unknown> };
    }
  } catch {
    // Not YAML (or aliases expanding past the limit), so not front matter: the block stays in the body.
  }
  return { body: text };
}

interface HeadingEntry {
  level: number;
  text: string;
}

function parseBlocks(body: string): { sections: ExtractedSection[]; droppedDataImages: number } {
  const sections: ExtractedSection[] = [];
  const parser = new BlockParser((section) => sections.push(section));
  for (const line of body.split('\n')) parser.line(line);
  parser.end();
  return { sections, droppedDataImages: parser.droppedDataImages };
}

/**
 * The block reader, a line at a time, so the whole-file and the streamed forms share every rule. Between
 * blocks (`between`) nothing is pending but the heading path, which `state` hands out for a checkpoint.
 * `maxBlockChars` (streaming only) hands a paragraph, list, table or fence that grows past it out as a
 * section of its own that continues in the next, so memory follows the bound rather than the block.
 */
class BlockParser {
  droppedDataImages = 0;
  private readonly stack: HeadingEntry[];
  private buffer: string[] = [];
  private bufferChars = 0;
  // Widened on purpose: methods reassign it, which control-flow narrowing cannot see.
  private bufferKind = 'paragraph' as SectionKind;
  private fence: { closing: RegExp; code: string[]; chars: number } | undefined;

  constructor(
    private readonly emit: (section: ExtractedSection) => void,
    private readonly maxBlockChars = Number.POSITIVE_INFINITY,
    from?: { stack?: HeadingEntry[]; droppedDataImages?: number },
  ) {
    this.stack = from?.stack ? from.stack.map((h) => ({ ...h })) : [];
    this.droppedDataImages = from?.droppedDataImages ?? 0;
  }

  /** Nothing pending: a parser made from `state` and given the following lines continues exactly. */
  get between(): boolean {
    return this.fence === undefined && this.buffer.length === 0;
  }

  get state(): { stack: HeadingEntry[]; droppedDataImages: number } {
    return { stack: this.stack.map((h) => ({ ...h })), droppedDataImages: this.droppedDataImages };
  }

  line(line: string): void {
    if (this.fence) {
      const { fence } = this;
      fence.code.push(line);
      fence.chars += line.length + 1;
      if (fence.closing.test(line)) {
        this.fence = undefined;
        this.push(fence.code.join('\n'), 'code');
      } else if (fence.chars >= this.maxBlockChars) {
        this.push(fence.code.join('\n'), 'code');
        fence.code = [];
        fence.chars = 0;
      }
      return;
    }
    const open = FENCE_OPEN.exec(line);
    if (open) {
      this.flush();
      const marker = open[1] as string;
      const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
      this.fence = { closing, code: [line], chars: line.length + 1 };
      return;
    }
    const atx = ATX_HEADING.exec(line);
    if (atx) {
      this.openHeading((atx[1] as string).length, atx[2] ?? '');
      return;
    }
    if (!line.trim()) {
      this.flush();
      return;
    }
    if (REFERENCE_DEFINITION.test(line)) {
      this.flush();
      if (/:\s*<?data:/.test(line)) this.droppedDataImages++;
      return;
    }
    const setext = SETEXT_UNDERLINE.exec(line);
    if (setext && this.buffer.length === 1 && this.bufferKind === 'paragraph') {
      const title = this.buffer[0] as string;
      this.buffer = [];
      this.bufferChars = 0;
      this.openHeading((setext[1] as string)[0] === '=' ? 1 : 2, title);
      return;
    }
    if (THEMATIC_BREAK.test(line)) {
      this.flush();
      return;
    }
    if (TABLE_ROW.test(line)) this.startBlock('table');
    else if (LIST_ITEM.test(line)) this.startBlock('list');
    else if (this.bufferKind === 'table' || !this.buffer.length) this.startBlock('paragraph');
    // Otherwise a continuation line joins the list item or paragraph above it.
    const kept = line.trimEnd();
    this.buffer.push(kept);
    this.bufferChars += kept.length + 1;
    if (this.bufferChars >= this.maxBlockChars) {
      const kind = this.bufferKind;
      this.flush();
      this.bufferKind = kind;
    }
  }

  /** The end of the input: what is pending becomes sections (an unclosed fence runs to the end). */
  end(): void {
    if (this.fence) {
      const { fence } = this;
      this.fence = undefined;
      if (fence.code.length) this.push(fence.code.join('\n'), 'code');
    }
    this.flush();
  }

  private headingPath(): string | undefined {
    return this.stack.length ? this.stack.map((h) => h.text).join(' > ') : undefined;
  }

  private push(text: string, kind: SectionKind): void {
    if (!text.trim()) return;
    const heading = this.headingPath();
    this.emit(heading ? { text, kind, heading } : { text, kind });
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    let text = this.buffer.join('\n').trim();
    this.buffer = [];
    this.bufferChars = 0;
    if (this.bufferKind === 'paragraph') {
      text = text.replace(INLINE_DATA_IMAGE, (_m, alt: string) => {
        this.droppedDataImages++;
        return alt;
      });
      if (IMAGE_ONLY.test(text)) return;
    }
    // Exporters such as Google Docs escape every "-", "#" and "_"; readers and search want the characters.
    text = unescapeMarkdown(text);
    this.push(text, this.bufferKind);
  }

  private startBlock(kind: SectionKind): void {
    if (this.buffer.length && this.bufferKind !== kind) this.flush();
    this.bufferKind = kind;
  }

  private openHeading(level: number, raw: string): void {
    this.flush();
    const text = cleanHeading(raw);
    if (!text) return;
    while (this.stack.length && (this.stack.at(-1) as HeadingEntry).level >= level) this.stack.pop();
    this.stack.push({ level, text });
    this.push(text, 'heading');
  }
}

function unescapeMarkdown(text: string): string {
  return text.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

/** Heading text as a reader sees it: no emphasis markers, escapes or link targets. */
export function cleanHeading(raw: string): string {
  return (
    unescapeMarkdown(raw)
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/(\*\*?|`)(.+?)\1/g, '$2')
      // Underscores only count as emphasis outside words, so snake_case names survive.
      .replace(/(?<!\w)(__?)(.+?)\1(?!\w)/g, '$2')
      .replace(/\s+/g, ' ')
      .trim()
  );
}
