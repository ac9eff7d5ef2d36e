/**
 * Real media files made with real tools for the audio and OCR tests: speech synthesised by espeak-ng and
 * converted by ffmpeg, pages rendered by poppler's pdftoppm, and scanned PDFs rebuilt from page images.
 * scripts/install-servers.sh installs the tools.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Speech for `text` as a WAV file: a clear espeak-ng voice, a little slower, with gaps between words. */
export function synthesiseSpeech(text: string, wavPath: string): void {
  execFileSync('espeak-ng', ['-v', 'en-us+f2', '-s', '130', '-g', '5', '-w', wavPath, text]);
}

/** Seconds of audio in a file, as ffprobe reads its container. */
export function audioSeconds(file: string): number {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file],
    {
      encoding: 'utf8',
    },
  );
  return Number(out.trim());
}

/** `input` converted by ffmpeg (audio or pictures); the output's extension picks format and codec. */
export function convertMedia(input: string, output: string): void {
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', input, output]);
}

/** Pages `first`..`last` of a PDF rendered as grey JPEG images by pdftoppm, in page order. */
export function renderPages(
  pdf: string,
  dir: string,
  pages?: { first: number; last: number },
  dpi = 150,
): string[] {
  const range = pages ? ['-f', String(pages.first), '-l', String(pages.last)] : [];
  execFileSync('pdftoppm', ['-r', String(dpi), '-gray', '-jpeg', ...range, pdf, join(dir, 'page')]);
  return readdirSync(dir)
    .filter((name) => /^page-\d+\.jpg$/.test(name))
    .sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]))
    .map((name) => join(dir, name));
}

/** Width, height and colour components of a JPEG, from its first start-of-frame marker. */
function jpegSize(bytes: Buffer): { width: number; height: number; components: number } {
  let offset = 2;
  while (offset < bytes.length) {
    const marker = bytes[offset + 1] as number;
    const length = bytes.readUInt16BE(offset + 2);
    if (marker >= 0xc0 && marker <= 0xc3) {
      return {
        height: bytes.readUInt16BE(offset + 5),
        width: bytes.readUInt16BE(offset + 7),
        components: bytes[offset + 9] as number,
      };
    }
    offset += 2 + length;
  }
  throw new Error('no JPEG frame header found');
}

/**
 * A PDF whose pages are only pictures (a "scan"): each JPEG becomes one page, drawn full size, with no
 * text layer at all. Written by hand (objects, xref table, trailer) so no PDF library is involved.
 */
export function imagesToPdf(jpegs: string[], output: string, dpi = 150): void {
  const objects: Buffer[] = [];
  const add = (body: Buffer | string) => {
    objects.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    return objects.length;
  };
  const pagesId = 2;
  add('<< /Type /Catalog /Pages 2 0 R >>');
  add(''); // the page tree, filled in below once the pages' ids are known
  const pageIds: number[] = [];
  for (const jpeg of jpegs) {
    const bytes = readFileSync(jpeg);
    const { width, height, components } = jpegSize(bytes);
    const colours = components === 1 ? '/DeviceGray' : '/DeviceRGB';
    const image = add(
      Buffer.concat([
        Buffer.from(
          `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace ${colours} /BitsPerComponent 8 /Filter /DCTDecode /Length ${bytes.length} >>\nstream\n`,
          'latin1',
        ),
        bytes,
        Buffer.from('\nendstream', 'latin1'),
      ]),
    );
    const w = (width * 72) / dpi;
    const h = (height * 72) / dpi;
    const draw = `q ${w.toFixed(2)} 0 0 ${h.toFixed(2)} 0 0 cm /Im0 Do Q`;
    const content = add(`<< /Length ${draw.length} >>\nstream\n${draw}\nendstream`);
    pageIds.push(
      add(
        `<< /Type /Page /Parent ${pagesId} 0 R /MediaBox [0 0 ${w.toFixed(2)} ${h.toFixed(2)}] /Resources << /XObject << /Im0 ${image} 0 R >> >> /Contents ${content} 0 R >>`,
      ),
    );
  }
  objects[pagesId - 1] = Buffer.from(
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`,
    'latin1',
  );
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let size = parts[0]?.length ?? 0;
  objects.forEach((body, index) => {
    offsets.push(size);
    const chunk = Buffer.concat([
      Buffer.from(`${index + 1} 0 obj\n`, 'latin1'),
      body,
      Buffer.from('\nendobj\n', 'latin1'),
    ]);
    parts.push(chunk);
    size += chunk.length;
  });
  const xref = [
    'xref',
    `0 ${objects.length + 1}`,
    '0000000000 65535 f ',
    ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n `),
    'trailer',
    `<< /Size ${objects.length + 1} /Root 1 0 R >>`,
    'startxref',
    String(size),
    '%%EOF',
    '',
  ].join('\n');
  parts.push(Buffer.from(xref, 'latin1'));
  writeFileSync(output, Buffer.concat(parts));
}

/** The text layer of one PDF page, by poppler's pdftotext. */
export function pdfPageText(pdf: string, page: number): string {
  return execFileSync('pdftotext', ['-f', String(page), '-l', String(page), '-layout', pdf, '-'], {
    encoding: 'utf8',
  });
}

/** One PDF page rendered as a grey PNG by pdftoppm. */
export function renderPng(pdf: string, page: number, output: string, dpi = 150): void {
  execFileSync('pdftoppm', [
    '-r',
    String(dpi),
    '-gray',
    '-png',
    '-f',
    String(page),
    '-l',
    String(page),
    '-singlefile',
    pdf,
    output.replace(/\.png$/, ''),
  ]);
}
