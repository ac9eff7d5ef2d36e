/**
 * Text PDFs written by hand (objects, xref table, trailer; no PDF library involved), for the pdf
 * provider's tests and bench: many pages of headings and paragraphs in Helvetica, pages left blank
 * (no text layer) where asked.
 */
import { deflateSync } from 'node:zlib';

const WORDS = (
  'alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar papa ' +
  'quebec romeo sierra tango uniform victor whiskey xray yankee zulu storage workflow temporal bucket ' +
  'chunk section extract provider heading paragraph ledger harbour lantern meadow orchard quarry'
).split(' ');

/** The words of page `page`, line `line`: deterministic, different from page to page. */
export function pageLineWords(page: number, line: number, count = 11): string[] {
  return Array.from({ length: count }, (_, i) => {
    const word = WORDS[(page * 31 + line * 7 + i * 13) % WORDS.length] as string;
    return i === 0 && line === 0 ? `${word}${page}` : word;
  });
}

const escapePdf = (text: string) => text.replace(/[\\()]/g, (c) => `\\${c}`);

/** One page's content stream: a 20 pt heading, then `lines` lines of 11 pt body text. */
function pageContent(page: number, lines: number): string {
  const parts = [`BT /F1 20 Tf 72 720 Td (${escapePdf(`Chapter ${page}`)}) Tj ET`];
  for (let line = 0; line < lines; line++) {
    const y = 690 - line * 14 - Math.floor(line / 6) * 10;
    parts.push(`BT /F1 11 Tf 72 ${y} Td (${escapePdf(pageLineWords(page, line).join(' '))}) Tj ET`);
  }
  return parts.join('\n');
}

interface PdfObject {
  body: string;
  stream?: Buffer;
}

function writePdf(objects: PdfObject[]): Buffer {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let length = 0;
  const add = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    parts.push(bytes);
    length += bytes.length;
  };
  add('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n');
  objects.forEach((object, index) => {
    offsets.push(length);
    if (object.stream) {
      add(`${index + 1} 0 obj\n${object.body}\nstream\n`);
      add(object.stream);
      add('\nendstream\nendobj\n');
    } else {
      add(`${index + 1} 0 obj\n${object.body}\nendobj\n`);
    }
  });
  const xref = length;
  const rows = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`);
  add(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${rows.join('')}`);
  add(`trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}

/**
 * A `pages`-page text PDF: each page a "Chapter N" heading and `linesPerPage` body lines (see
 * pageLineWords); pages listed in `blank` have no content at all.
 */
export function textPdf(options: { pages: number; linesPerPage?: number; blank?: number[] }): Buffer {
  const lines = options.linesPerPage ?? 30;
  const blank = new Set(options.blank ?? []);
  // 1 catalog, 2 pages, 3 font, then per page: page object and its content stream.
  const objects: PdfObject[] = [
    { body: '<< /Type /Catalog /Pages 2 0 R >>' },
    { body: '' },
    { body: '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>' },
  ];
  const kids: string[] = [];
  for (let page = 1; page <= options.pages; page++) {
    const pageObject = objects.length + 1;
    kids.push(`${pageObject} 0 R`);
    const content = Buffer.from(blank.has(page) ? '' : pageContent(page, lines), 'latin1');
    const stream = deflateSync(content);
    objects.push({
      body: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageObject + 1} 0 R >>`,
    });
    objects.push({ body: `<< /Length ${stream.length} /Filter /FlateDecode >>`, stream });
  }
  (objects[1] as PdfObject).body = `<< /Type /Pages /Kids [${kids.join(' ')}] /Count ${options.pages} >>`;
  return writePdf(objects);
}
