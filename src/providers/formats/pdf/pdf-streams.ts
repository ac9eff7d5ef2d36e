/**
 * A bound on what a PDF's flate streams inflate to, measured before either engine (pdftotext, pdfjs)
 * sees the file. pdfjs decodes a
 * stream into one growing buffer and offers no limit, so a 3 MB page content stream can become gigabytes
 * in memory; here each FlateDecode stream is inflated into a counter (nothing kept) until the total passes
 * the budget. Streams whose flate data is wrapped in ASCIIHex or ASCII85 first are measured too, after
 * decoding that wrapper (at most the stream's own size), and reported apart: pdf.ts reads a file with
 * such a stream past the budget with pdfjs rather than pdftotext (see checkedBytes there).
 *
 * Best effort by design: streams are found by their `stream … endstream` keywords and their dictionary
 * text, and only chains of FlateDecode filters (behind at most one ASCIIHex/ASCII85) are measured. Image
 * streams are skipped (text extraction never decodes them); other filters (LZW…) are listed, and files
 * with them read by pdfjs; those, the wrapped bombs and encrypted files are left to the memory ceiling of
 * the extraction process (src/activities/ingest/extraction/), as before poppler came in.
 */
import { createInflate } from 'node:zlib';

// Deflate cannot expand more than 1032:1 (258 bytes from two 1-bit codes); rounded up.
const MAX_DEFLATE_RATIO = 1033;

export interface FlateStream {
  /** Offset of the first data byte. */
  start: number;
  /** Offset after the last data byte. */
  end: number;
  /** FlateDecode filters applied one after the other (usually 1). */
  layers: number;
  /** A text encoding before the flate filters (ReportLab writes ASCII85 then Flate). */
  encoding?: 'hex' | 'a85';
}

const FILTER = /\/Filter\s*(\[[^\]]*\]|\/[^\s/[\]<>()]+)/;
const LENGTH = /\/Length\s+(\d+)\b(?!\s+\d+\s+R)/;
const IMAGE = /\/Subtype\s*\/Image\b/;

/** Every stream whose filters are all FlateDecode, other than images. */
export function findFlateStreams(pdf: Buffer): FlateStream[] {
  return scanStreams(pdf).flate;
}

/**
 * The streams of a PDF, other than images: those whose filters are all FlateDecode (measured below),
 * and the filter chains of the others, which nothing here measures (e.g. "/ASCIIHexDecode /FlateDecode").
 */
export function scanStreams(pdf: Buffer): {
  flate: FlateStream[];
  wrapped: FlateStream[];
  unmeasured: string[];
} {
  const streams: FlateStream[] = [];
  const wrapped: FlateStream[] = [];
  const unmeasured = new Set<string>();
  let from = 0;
  for (;;) {
    const at = pdf.indexOf('stream', from, 'latin1');
    if (at < 0) break;
    from = at + 6;
    if (at >= 3 && pdf.toString('latin1', at - 3, at) === 'end') continue;
    // The keyword ends its line (CR LF or LF; a lone CR is tolerated as readers do).
    let start = at + 6;
    if (pdf[start] === 0x0d) start++;
    if (pdf[start] === 0x0a) start++;
    else if (pdf[start - 1] !== 0x0d) continue;
    // The stream's dictionary: from its object header ("12 0 obj"), at most 4 KiB back.
    const head = pdf.toString('latin1', Math.max(0, at - 4096), at);
    const objAt = head.lastIndexOf('obj');
    const dict = objAt >= 0 ? head.slice(objAt) : head;
    if (!dict.includes('<<') || IMAGE.test(dict)) continue;
    const filter = FILTER.exec(dict)?.[1];
    const names = filter?.match(/\/[^\s/[\]]+/g) ?? [];
    if (names.length === 0) continue;
    const encoding = ENCODINGS[names[0] as string];
    const flates = encoding ? names.slice(1) : names;
    if (flates.length === 0 || !flates.every((n) => n === '/FlateDecode' || n === '/Fl')) {
      unmeasured.add(names.join(' '));
      continue;
    }
    // The data ends after /Length bytes when that is a number landing on "endstream", else at "endstream".
    let end = -1;
    const length = LENGTH.exec(dict)?.[1];
    if (length !== undefined) {
      const candidate = start + Number(length);
      const keyword = pdf.indexOf('endstream', candidate, 'latin1');
      if (candidate <= pdf.length && keyword >= 0 && keyword - candidate <= 4) end = candidate;
    }
    if (end < 0) end = pdf.indexOf('endstream', start, 'latin1');
    if (end < 0) continue;
    if (encoding) wrapped.push({ start, end, layers: flates.length, encoding });
    else streams.push({ start, end, layers: names.length });
    from = end;
  }
  return { flate: streams, wrapped, unmeasured: [...unmeasured] };
}

const ENCODINGS: Record<string, 'hex' | 'a85'> = {
  '/ASCIIHexDecode': 'hex',
  '/AHx': 'hex',
  '/ASCII85Decode': 'a85',
  '/A85': 'a85',
};

/** ASCIIHexDecode: hex digits up to `>`, whitespace ignored, an odd last digit padded with 0. */
function decodeHex(data: Buffer): Buffer {
  let text = data.toString('latin1');
  const end = text.indexOf('>');
  text = (end >= 0 ? text.slice(0, end) : text).replace(/[^0-9a-fA-F]/g, '');
  return Buffer.from(text.length % 2 ? `${text}0` : text, 'hex');
}

/** ASCII85Decode: groups of five `!`..`u` to four bytes, `z` for four zeros, up to `~>`. */
function decodeA85(data: Buffer): Buffer {
  // `z` makes four bytes of one: the most the output can be.
  const out = Buffer.alloc(4 * data.length + 4);
  let length = 0;
  let group = 0;
  let count = 0;
  for (const byte of data) {
    if (byte === 0x7e) break;
    if (byte === 0x7a && count === 0) {
      out.writeUInt32BE(0, length);
      length += 4;
      continue;
    }
    if (byte < 0x21 || byte > 0x75) continue;
    group = group * 85 + (byte - 0x21);
    if (++count === 5) {
      out.writeUInt32BE(group >>> 0, length);
      length += 4;
      group = 0;
      count = 0;
    }
  }
  if (count > 1) {
    for (let i = count; i < 5; i++) group = group * 85 + 84;
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(group >>> 0, 0);
    tail.copy(out, length, 0, count - 1);
    length += count - 1;
  }
  return out.subarray(0, length);
}

/**
 * Inflates `data` through `layers` inflaters into a counter, stopping once more than `cap` bytes came
 * out. A damaged or encrypted stream counts what inflated before the error.
 */
function inflatedSize(data: Buffer, layers: number, cap: number): Promise<number> {
  return new Promise((resolve) => {
    const stages = Array.from({ length: layers }, () => createInflate({ chunkSize: 256 * 1024 }));
    let count = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      for (const stage of stages) stage.destroy();
      resolve(count);
    };
    for (let i = 0; i + 1 < stages.length; i++) stages[i]?.pipe(stages[i + 1] as NodeJS.WritableStream);
    const last = stages[stages.length - 1];
    last?.on('data', (chunk: Buffer) => {
      count += chunk.length;
      if (count > cap) finish();
    });
    last?.on('end', finish);
    for (const stage of stages) stage.on('error', finish);
    stages[0]?.end(data);
  });
}

export interface FlateMeasure {
  /** Decompressed bytes known so far; more than the budget means the limit is crossed. */
  bytes: number;
  /** Streams inflated to find it out, of `streams` FlateDecode streams found. */
  measured: number;
  streams: number;
  /** Decompressed bytes of the ASCIIHex/ASCII85-wrapped flate streams, measured up to the budget left. */
  wrappedBytes: number;
  /** Filter chains of other streams (not images), which nothing measured (see scanStreams). */
  unmeasured: string[];
}

/**
 * Decompressed bytes of the flate streams, measured only as far as needed: streams are taken largest
 * first, and measuring stops as soon as what is known plus the most the rest could inflate to (1033×
 * each layer) fits the budget, or what is known passes it.
 */
export async function measureFlateStreams(
  pdf: Buffer,
  budget: number,
  signal: AbortSignal,
): Promise<FlateMeasure> {
  const scan = scanStreams(pdf);
  const { bytes, measured } = await measureList(pdf, scan.flate, budget, signal);
  const wrapped =
    bytes > budget ? { bytes: 0 } : await measureList(pdf, scan.wrapped, budget - bytes, signal);
  signal.throwIfAborted();
  return {
    bytes,
    measured,
    streams: scan.flate.length,
    wrappedBytes: wrapped.bytes,
    unmeasured: scan.unmeasured,
  };
}

/** The measuring loop of measureFlateStreams over one list of streams. */
async function measureList(
  pdf: Buffer,
  list: FlateStream[],
  budget: number,
  signal: AbortSignal,
): Promise<{ bytes: number; measured: number }> {
  const streams = [...list].sort((a, b) => b.end - b.start - (a.end - a.start));
  // ASCIIHex halves the data, ASCII85 takes 4/5 of it: the bound uses the stream's size either way.
  const bound = (s: FlateStream) => (s.end - s.start) * MAX_DEFLATE_RATIO ** s.layers;
  let pending = streams.reduce((n, s) => n + bound(s), 0);
  let bytes = 0;
  let measured = 0;
  for (const stream of streams) {
    if (bytes + pending <= budget) break;
    signal.throwIfAborted();
    pending -= bound(stream);
    const raw = pdf.subarray(stream.start, stream.end);
    const data =
      stream.encoding === 'hex' ? decodeHex(raw) : stream.encoding === 'a85' ? decodeA85(raw) : raw;
    bytes += await inflatedSize(data, stream.layers, budget - bytes);
    measured++;
    if (bytes > budget) break;
  }
  return { bytes, measured };
}
