/**
 * A bound on what a PDF's flate streams inflate to, measured before pdfjs sees the file. pdfjs decodes a
 * stream into one growing buffer and offers no limit, so a 3 MB page content stream can become gigabytes
 * in memory; here each FlateDecode stream is inflated into a counter (nothing kept) until the total passes
 * the budget.
 *
 * Best effort by design: streams are found by their `stream … endstream` keywords and their dictionary
 * text, and only chains of FlateDecode filters are measured. Image streams are skipped (text extraction
 * never decodes them); other filters (LZW, ASCIIHex before Flate…) and encrypted files are left to the
 * memory ceiling of the extraction process (src/activities/ingest/extraction-sandbox.ts).
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
}

const FILTER = /\/Filter\s*(\[[^\]]*\]|\/[^\s/[\]<>()]+)/;
const LENGTH = /\/Length\s+(\d+)\b(?!\s+\d+\s+R)/;
const IMAGE = /\/Subtype\s*\/Image\b/;

/** Every stream whose filters are all FlateDecode, other than images. */
export function findFlateStreams(pdf: Buffer): FlateStream[] {
  const streams: FlateStream[] = [];
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
    if (names.length === 0 || !names.every((n) => n === '/FlateDecode' || n === '/Fl')) continue;
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
    streams.push({ start, end, layers: names.length });
    from = end;
  }
  return streams;
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
  const streams = findFlateStreams(pdf).sort((a, b) => b.end - b.start - (a.end - a.start));
  const bound = (s: FlateStream) => (s.end - s.start) * MAX_DEFLATE_RATIO ** s.layers;
  let pending = streams.reduce((n, s) => n + bound(s), 0);
  let bytes = 0;
  let measured = 0;
  for (const stream of streams) {
    if (bytes + pending <= budget) break;
    signal.throwIfAborted();
    pending -= bound(stream);
    bytes += await inflatedSize(pdf.subarray(stream.start, stream.end), stream.layers, budget - bytes);
    measured++;
    if (bytes > budget) break;
  }
  signal.throwIfAborted();
  return { bytes, measured, streams: streams.length };
}
