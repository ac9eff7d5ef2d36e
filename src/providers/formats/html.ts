import type { HTMLElement } from 'node-html-parser';
import { CorruptFileError } from '../../domain/errors.js';
import { checkExtractedChars } from '../limits.js';
import { type ContentProvider, readSourceFile } from '../provider.js';
import { htmlToSections } from './docx.js';

// Never text a reader sees: code, styling, embedded objects, the page's head.
const NOT_TEXT = 'script, style, noscript, template, svg, canvas, iframe, object, embed, head, [hidden]';
// Around the main text of a page: menus, sidebars, site footers.
const BOILERPLATE = 'nav, aside, footer, [role=navigation], [role=banner], [role=contentinfo], form';
// Block elements without a meaning of their own: each still ends a paragraph.
const BLOCKS =
  /<(\/?)(div|section|article|main|header|blockquote|pre|dt|dd|figcaption|address|center|details|summary)\b[^>]*>/gi;

/**
 * HTML pages through node-html-parser (maintained, no DOM emulation needed): scripts, styles and other
 * non-text elements are dropped; the main text is `<main>` or `<article>` when the page marks it, else
 * the body without its navigation, sidebars and footer. Headings make the heading path, lists and
 * tables keep their shape (the same block walk as DOCX, see docx.ts), and the page title goes into the
 * metadata. Pages that are not UTF-8 are read as windows-1252, the web's legacy default.
 */
export const htmlProvider: ContentProvider = {
  name: 'html',
  version: '1.0.0',
  mimeTypes: ['text/html', 'application/xhtml+xml'],
  extensions: ['.html', '.htm', '.xhtml'],
  async extract(file, ctx) {
    const { name } = file;
    const { limits } = ctx.config;
    // Bytes are at least characters: a file this large cannot stay under the character limit once decoded.
    if (file.size > 4 * limits.maxExtractedChars) checkExtractedChars(name, limits, Math.ceil(file.size / 4));
    const bytes = await readSourceFile(file, ctx.signal);
    const nul = bytes.indexOf(0);
    if (nul !== -1) throw new CorruptFileError(`${name} is not an HTML page: NUL byte at offset ${nul}`);
    const source = decode(bytes);
    checkExtractedChars(name, limits, source.length);
    ctx.signal.throwIfAborted();
    const { parse } = await import('node-html-parser');
    const root = parse(source, { comment: false });
    const title = root.querySelector('title')?.text.replace(/\s+/g, ' ').trim();
    for (const node of root.querySelectorAll(NOT_TEXT)) node.remove();
    let main: HTMLElement | null = root.querySelector('main') ?? root.querySelector('article');
    if (!main) {
      main = root.querySelector('body') ?? root;
      for (const node of main.querySelectorAll(BOILERPLATE)) node.remove();
    }
    ctx.signal.throwIfAborted();
    const sections = htmlToSections(normalise(main.innerHTML));
    checkExtractedChars(
      name,
      limits,
      sections.reduce((n, s) => n + s.text.length, 0),
    );
    return { provider: 'html', sections, metadata: title ? { title } : {} };
  },
};

function decode(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

/**
 * Source layout is not text layout: runs of white space become one space (inside <pre> they are kept),
 * and block elements become paragraph breaks for the block walk.
 */
function normalise(html: string): string {
  return html
    .split(/(<pre\b[\s\S]*?<\/pre>)/i)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\s+/g, ' ')))
    .join('')
    .replace(BLOCKS, '<$1p>');
}
