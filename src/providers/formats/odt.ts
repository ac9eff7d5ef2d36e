import type { ExtractedSection, SectionKind } from '../../domain/content.js';
import { CorruptFileError } from '../../domain/errors.js';
import { openPackage, packageFailure, readPart } from '../helpers/office-package.js';
import { xmlTokens } from '../helpers/xml-tokens.js';
import { checkExtractedChars } from '../limits.js';
import { type ContentProvider, readSourceFile } from '../provider.js';

const WHAT = 'an ODT document';
// Text that is not the document's running text: comments, deleted tracked changes, index bodies that
// repeat the headings.
const SKIPPED = new Set([
  'office:annotation',
  'text:tracked-changes',
  'text:table-of-content',
  'text:alphabetical-index',
]);

/**
 * OpenDocument text (ODT, as LibreOffice writes it) from its content.xml, read through the bounded ZIP
 * reader: headings (text:h with their outline level) make the heading path, paragraphs and list items
 * become sections, tables become "cell | cell" rows.
 */
export const odtProvider: ContentProvider = {
  name: 'odt',
  version: '1.0.0',
  mimeTypes: ['application/vnd.oasis.opendocument.text'],
  extensions: ['.odt'],
  async extract(file, ctx) {
    const { name } = file;
    const buffer = await readSourceFile(file, ctx.signal);
    const zip = openPackage(buffer, name, WHAT, ctx);
    let xml: string | undefined;
    try {
      xml = await readPart(zip, 'content.xml');
    } catch (err) {
      throw packageFailure(name, WHAT, err, ctx);
    }
    if (xml === undefined) throw new CorruptFileError(`${name} is damaged or not ${WHAT} (no content.xml)`);
    ctx.signal.throwIfAborted();
    checkExtractedChars(name, ctx.config.limits, Math.floor(xml.length / 2));
    const sections = odtSections(xml);
    checkExtractedChars(
      name,
      ctx.config.limits,
      sections.reduce((n, s) => n + s.text.length, 0),
    );
    const title = sections.find((s) => s.kind === 'heading')?.text;
    return { provider: 'odt', sections, metadata: title ? { title } : {} };
  },
};

/** content.xml's body as sections; one pass over the tokens, no recursion. */
export function odtSections(xml: string): ExtractedSection[] {
  const sections: ExtractedSection[] = [];
  const headings: { level: number; text: string }[] = [];
  let skip = 0;
  let inBody = false;
  let text = '';
  let block: 'p' | 'h' | undefined;
  let headingLevel = 1;
  let listDepth = 0;
  let listItems: string[] = [];
  let table: string[][] | undefined;
  let row: string[] | undefined;
  let cell: string[] | undefined;

  const headingPath = () => (headings.length ? headings.map((h) => h.text).join(' > ') : undefined);
  const push = (body: string, kind: SectionKind) => {
    const heading = headingPath();
    if (body.trim()) sections.push({ text: body.trim(), kind, ...(heading ? { heading } : {}) });
  };
  const endBlock = () => {
    const t = text.replace(/[ \t]+\n/g, '\n').trim();
    text = '';
    const kind = block;
    block = undefined;
    if (!t) return;
    if (kind === 'h' && !cell && listDepth === 0) {
      while (headings.length && (headings.at(-1) as { level: number }).level >= headingLevel) headings.pop();
      headings.push({ level: headingLevel, text: t.replace(/\s+/g, ' ') });
      push(t, 'heading');
    } else if (cell) cell.push(t);
    else if (listDepth > 0) listItems.push(`${'  '.repeat(listDepth - 1)}- ${t}`);
    else push(t, 'paragraph');
  };

  for (const token of xmlTokens(xml)) {
    if (token.kind === 'text') {
      if (!skip && block) text += token.text;
      continue;
    }
    const open = token.kind === 'open';
    if (SKIPPED.has(token.name)) {
      if (open && !token.selfClosing) skip++;
      else if (!open) skip = Math.max(0, skip - 1);
      continue;
    }
    if (token.name === 'office:text') {
      inBody = open && !token.selfClosing;
      continue;
    }
    if (!inBody || skip) continue;
    switch (token.name) {
      case 'text:p':
      case 'text:h':
        if (open && !token.selfClosing) {
          // A paragraph inside a paragraph (a text box, a note) ends the outer one's text here.
          if (block) endBlock();
          block = token.name === 'text:h' ? 'h' : 'p';
          headingLevel = Number(token.attrs['text:outline-level'] ?? '1') || 1;
        } else if (!open) endBlock();
        break;
      case 'text:s':
        if (block && token.kind === 'open') {
          text += ' '.repeat(Math.min(1000, Number(token.attrs['text:c'] ?? '1') || 1));
        }
        break;
      case 'text:tab':
        if (block) text += '\t';
        break;
      case 'text:line-break':
        if (block) text += '\n';
        break;
      case 'text:list':
        if (open && !token.selfClosing) listDepth++;
        else if (!open) {
          listDepth = Math.max(0, listDepth - 1);
          if (listDepth === 0 && !cell) {
            push(listItems.join('\n'), 'list');
            listItems = [];
          }
        }
        break;
      case 'table:table':
        if (open && !token.selfClosing) table = [];
        else if (!open && table) {
          push(table.map((r) => r.join(' | ')).join('\n'), 'table');
          table = undefined;
        }
        break;
      case 'table:table-row':
        if (open && !token.selfClosing) row = [];
        else if (!open && row) {
          if (row.some((c) => c)) table?.push(row);
          row = undefined;
        }
        break;
      case 'table:table-cell':
        if (open && !token.selfClosing) cell = [];
        else if (!open && cell) {
          row?.push(cell.join(' ').replace(/\|/g, '/'));
          cell = undefined;
        }
        break;
      default:
        break;
    }
  }
  endBlock();
  if (listItems.length) push(listItems.join('\n'), 'list');
  return sections;
}
