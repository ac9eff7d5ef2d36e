import { parse as parseYaml } from 'yaml';
import type { ExtractedSection, SectionKind } from '../domain/content.js';
import type { ContentProvider } from './provider.js';
import { readUtf8File } from './read-text.js';

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
};

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
  const lines = body.split('\n');
  const sections: ExtractedSection[] = [];
  const stack: HeadingEntry[] = [];
  let droppedDataImages = 0;
  let buffer: string[] = [];
  // Widened on purpose: closures reassign it, which control-flow narrowing cannot see.
  let bufferKind = 'paragraph' as SectionKind;

  const headingPath = () => (stack.length ? stack.map((h) => h.text).join(' > ') : undefined);
  const push = (text: string, kind: SectionKind) => {
    if (!text.trim()) return;
    const heading = headingPath();
    sections.push(heading ? { text, kind, heading } : { text, kind });
  };
  const flush = () => {
    if (buffer.length === 0) return;
    let text = buffer.join('\n').trim();
    buffer = [];
    if (bufferKind === 'paragraph') {
      text = text.replace(INLINE_DATA_IMAGE, (_m, alt: string) => {
        droppedDataImages++;
        return alt;
      });
      if (IMAGE_ONLY.test(text)) return;
    }
    // Exporters such as Google Docs escape every "-", "#" and "_"; readers and search want the characters.
    text = unescapeMarkdown(text);
    push(text, bufferKind);
  };
  const startBlock = (kind: SectionKind) => {
    if (buffer.length && bufferKind !== kind) flush();
    bufferKind = kind;
  };
  const openHeading = (level: number, raw: string) => {
    flush();
    const text = cleanHeading(raw);
    if (!text) return;
    while (stack.length && (stack.at(-1) as HeadingEntry).level >= level) stack.pop();
    stack.push({ level, text });
    push(text, 'heading');
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const fence = FENCE_OPEN.exec(line);
    if (fence) {
      flush();
      const marker = fence[1] as string;
      const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
      const code = [line];
      while (++i < lines.length) {
        code.push(lines[i] as string);
        if (closing.test(lines[i] as string)) break;
      }
      push(code.join('\n'), 'code');
      continue;
    }
    const atx = ATX_HEADING.exec(line);
    if (atx) {
      openHeading((atx[1] as string).length, atx[2] ?? '');
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    if (REFERENCE_DEFINITION.test(line)) {
      flush();
      if (/:\s*<?data:/.test(line)) droppedDataImages++;
      continue;
    }
    const setext = SETEXT_UNDERLINE.exec(line);
    if (setext && buffer.length === 1 && bufferKind === 'paragraph') {
      const title = buffer[0] as string;
      buffer = [];
      openHeading((setext[1] as string)[0] === '=' ? 1 : 2, title);
      continue;
    }
    if (THEMATIC_BREAK.test(line)) {
      flush();
      continue;
    }
    if (TABLE_ROW.test(line)) startBlock('table');
    else if (LIST_ITEM.test(line)) startBlock('list');
    else if (bufferKind === 'table' || !buffer.length) startBlock('paragraph');
    // Otherwise a continuation line joins the list item or paragraph above it.
    buffer.push(line.trimEnd());
  }
  flush();
  return { sections, droppedDataImages };
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
