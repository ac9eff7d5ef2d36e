import mammoth from 'mammoth';
import type { ExtractedSection, SectionKind } from '../../domain/content.js';
import { CorruptFileError, errorText, NonRetryableError } from '../../domain/errors.js';
import { BoundedZip, ZipBudgetError, ZipFormatError } from '../helpers/zip.js';
import {
  checkExtractedChars,
  type ExtractionLimits,
  exhausted,
  isResourceExhaustion,
  limitExceeded,
} from '../limits.js';
import { type ContentProvider, readSourceFile } from '../provider.js';

// Images are never read: mammoth would otherwise base64 every picture into the HTML we then throw away.
const skipImages = mammoth.images.imgElement(async () => ({ src: '' }));

/**
 * DOCX through mammoth's HTML (not its raw text, which flattens tables into loose lines), then the
 * block elements become sections: headings set the heading path, tables become "cell | cell" rows.
 * An empty file is corrupt: a DOCX is a ZIP package and never zero bytes. mammoth reads the package
 * through our own ZIP reader, which inflates only the parts mammoth asks for and stops at the limit on
 * decompressed bytes (an 840 KB DOCX can hold gigabytes of XML).
 */
export const docxProvider: ContentProvider = {
  name: 'docx',
  version: '1.0.0',
  mimeTypes: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  extensions: ['.docx'],
  async extract(file, ctx) {
    const { name } = file;
    const { limits } = ctx.config;
    const buffer = await readSourceFile(file, ctx.signal);
    if (buffer.length === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not a DOCX file`);
    // Word's encrypted (password-protected) documents and the old .doc format are OLE files, not ZIPs.
    if (buffer.length >= 4 && buffer.readUInt32LE(0) === 0xe011cfd0) {
      throw new CorruptFileError(`${name} is password-protected or an old .doc file, not a DOCX package`);
    }
    // A DOCX is a ZIP; checking the signature gives a clearer message than a zip error.
    if (buffer.length < 4 || buffer.readUInt32LE(0) !== 0x04034b50) {
      throw new CorruptFileError(`${name} is damaged or not a DOCX file (no ZIP signature)`);
    }
    let html: string;
    let warnings: string[];
    try {
      const zip = new BoundedZip(buffer, limits.maxDecompressedBytes, ctx.signal);
      // mammoth takes a zip object with exists() and read() in place of a buffer ({ file }, not in its
      // types); it cannot be interrupted otherwise, so a cancellation is noticed at the next part read.
      const input = { file: zip } as unknown as Parameters<typeof mammoth.convertToHtml>[0];
      const result = await mammoth.convertToHtml(input, { convertImage: skipImages });
      html = result.value;
      warnings = result.messages.map((m) => m.message);
    } catch (err) {
      ctx.signal.throwIfAborted();
      throw docxFailure(name, err, limits);
    }
    ctx.signal.throwIfAborted();
    const sections = htmlToSections(html);
    checkExtractedChars(
      name,
      limits,
      sections.reduce((n, section) => n + section.text.length, 0),
    );
    const metadata: Record<string, unknown> = {};
    if (warnings.length) metadata.warnings = warnings.slice(0, 20);
    const title = sections.find((s) => s.kind === 'heading')?.text;
    if (title) metadata.title = title;
    return { provider: 'docx', sections, metadata };
  },
};

/**
 * Why mammoth (or our ZIP reader under it) failed, told apart: the decompressed-bytes limit, the engine
 * outgrown ("Invalid string length" is not damage), or a package that is damaged or not a DOCX.
 */
function docxFailure(name: string, err: unknown, limits: ExtractionLimits): Error {
  if (err instanceof NonRetryableError) return err;
  if (err instanceof ZipBudgetError) return limitExceeded(name, limits, 'maxDecompressedBytes', err.message);
  if (isResourceExhaustion(err)) return exhausted(name, err);
  const reason = err instanceof ZipFormatError ? err.message : errorText(err);
  return new CorruptFileError(`${name} is damaged or not a DOCX file (${reason})`);
}

const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(\/?)>|([^<]+)/g;

/**
 * Walks mammoth's HTML, which is machine-written and limited to a few elements, so a tag scanner is
 * enough and no HTML parser dependency is needed.
 */
export function htmlToSections(html: string): ExtractedSection[] {
  const sections: ExtractedSection[] = [];
  const headings: { level: number; text: string }[] = [];
  let text = '';
  // One entry per open list: ordered lists number their items, as the reader saw them.
  const lists: { ordered: boolean; next: number }[] = [];
  let listItems: string[] = [];
  let table: string[][] | undefined;
  let row: string[] | undefined;
  let cell: string[] | undefined;

  const headingPath = () => (headings.length ? headings.map((h) => h.text).join(' > ') : undefined);
  const push = (body: string, kind: SectionKind) => {
    const clean = body.trim();
    if (!clean) return;
    const heading = headingPath();
    sections.push(heading ? { text: clean, kind, heading } : { text: clean, kind });
  };
  const takeText = () => {
    // Inner runs of spaces are kept: documents use them to align diagrams and code.
    const t = text.trim();
    text = '';
    return t;
  };
  const endBlock = () => {
    const t = takeText();
    if (!t) return;
    if (cell) cell.push(t);
    else if (lists.length > 0) {
      const list = lists.at(-1) as { ordered: boolean; next: number };
      const bullet = list.ordered ? `${list.next++}.` : '-';
      listItems.push(`${'  '.repeat(lists.length - 1)}${bullet} ${t}`);
    } else push(t, 'paragraph');
  };

  for (const m of html.matchAll(TAG)) {
    if (m[4] !== undefined) {
      text += decodeEntities(m[4]);
      continue;
    }
    const closing = m[1] === '/';
    const tag = (m[2] as string).toLowerCase();
    const heading = /^h([1-6])$/.exec(tag);
    if (heading && !cell) {
      if (!closing) endBlock();
      else {
        const title = takeText();
        const level = Number(heading[1]);
        while (headings.length && (headings.at(-1) as { level: number }).level >= level) headings.pop();
        if (title) {
          headings.push({ level, text: title });
          push(title, 'heading');
        }
      }
      continue;
    }
    switch (tag) {
      case 'br':
        text += '\n';
        break;
      case 'p':
      case 'li':
      case 'h1':
      case 'h2':
      case 'h3':
      case 'h4':
      case 'h5':
      case 'h6':
        // Nested lists open inside an item: the parent item's text must be taken before the child's.
        endBlock();
        break;
      case 'ul':
      case 'ol':
        endBlock();
        if (closing) lists.pop();
        else lists.push({ ordered: tag === 'ol', next: 1 });
        if (closing && lists.length === 0 && !cell) {
          push(listItems.join('\n'), 'list');
          listItems = [];
        }
        break;
      case 'table':
        endBlock();
        if (!closing) table = [];
        else if (table) {
          push(table.map((r) => r.join(' | ')).join('\n'), 'table');
          table = undefined;
        }
        break;
      case 'tr':
        if (!closing) row = [];
        else if (row && table) {
          if (row.some((c) => c)) table.push(row);
          row = undefined;
        }
        break;
      case 'td':
      case 'th':
        if (!closing) cell = [];
        else if (cell) {
          endBlock();
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

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, code: string) => {
    if (code[0] === '#') {
      const n =
        code[1] === 'x' || code[1] === 'X' ? Number.parseInt(code.slice(2), 16) : Number(code.slice(1));
      return Number.isFinite(n) && n <= 0x10ffff ? String.fromCodePoint(n) : whole;
    }
    return ENTITIES[code] ?? whole;
  });
}
