import { readUtf8File, splitParagraphs } from '../helpers/read-text.js';
import { prescanLines, streamLines } from '../helpers/stream-lines.js';
import { checkExtractedChars } from '../limits.js';
import type { ContentProvider, StreamCheckpoint, StreamItem } from '../provider.js';

/**
 * A paragraph that grows past this many characters while streaming is handed out as a section of its own
 * and continues in the next, so memory follows this bound rather than the longest paragraph.
 */
export const STREAM_SECTION_CHARS = 1024 * 1024;

/** Plain text: one paragraph section per blank-line-separated block. An empty file has no sections. */
export const textProvider: ContentProvider = {
  name: 'text',
  version: '1.1.0',
  mimeTypes: ['text/plain'],
  extensions: ['.txt', '.text', '.log'],
  async extract(file, ctx) {
    const text = await readUtf8File(file, ctx);
    return {
      provider: 'text',
      sections: splitParagraphs(text).map((p) => ({ text: p, kind: 'paragraph' })),
      metadata: { characters: text.length },
    };
  },
  /**
   * The same paragraphs line by line; a checkpoint after every paragraph (state: characters so far, for
   * the extracted-character limit, and the line number, for messages).
   */
  async *streamSections(file, ctx, from?: StreamCheckpoint) {
    const { limits } = ctx.config;
    let characters = Number(from?.state?.characters ?? 0);
    const startLine = Number(from?.state?.line ?? 1);
    await prescanLines(file, ctx, from?.byte ?? 0, { startLine });
    let lines: string[] = [];
    let size = 0;
    let line = startLine;
    const paragraph = (end: number): StreamItem | undefined => {
      const text = lines.join('\n').trim();
      lines = [];
      size = 0;
      if (!text) return undefined;
      characters += text.length;
      checkExtractedChars(file.name, limits, characters);
      return {
        section: { text, kind: 'paragraph' },
        checkpoint: { byte: end, state: { characters, line } },
      };
    };
    // False while the last piece taken was part of a line that continues in the next piece.
    let lineOpen = false;
    for await (const piece of streamLines(file, ctx, from?.byte ?? 0, { startLine })) {
      line = piece.complete ? piece.line + 1 : piece.line;
      if (!lineOpen && piece.complete && /^[ \t]*$/.test(piece.text)) {
        const item = paragraph(piece.end);
        if (item) yield item;
        continue;
      }
      if (lineOpen) lines[lines.length - 1] += piece.text;
      else lines.push(piece.text);
      lineOpen = !piece.complete;
      size += piece.text.length;
      // A long paragraph ends at a line end past the bound; one line of many megabytes inside itself.
      if ((size >= STREAM_SECTION_CHARS && piece.complete) || size >= 4 * STREAM_SECTION_CHARS) {
        const item = paragraph(piece.end);
        lineOpen = false;
        if (item) yield item;
      }
    }
    const item = paragraph(file.size);
    if (item) yield item;
    return { metadata: { characters } };
  },
};
