import { createReadStream } from 'node:fs';
import { CorruptFileError } from '../../domain/errors.js';
import { checkExtractedChars, limitExceeded } from '../limits.js';
import type { ProviderContext, SourceFile } from '../provider.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const CHUNK_BYTES = 1024 * 1024;
const LF = 0x0a;

/**
 * Reads a text file as UTF-8, refusing binary content: a NUL byte or an invalid UTF-8 sequence means
 * the file is not what its type claims, and retrying will not change that. The file is read in chunks
 * and checked on the way, so a line over the limit (one 200 MB line) or text over the character limit
 * stops the read as soon as it is seen, before the whole file is held as a string. `lineLimit: false`
 * is for formats where one long line is normal (minified JSON).
 */
export async function readUtf8File(
  file: SourceFile,
  ctx: ProviderContext,
  options: { lineLimit?: boolean } = {},
): Promise<string> {
  const { signal } = ctx;
  const { limits } = ctx.config;
  const maxLine = options.lineLimit === false ? Number.POSITIVE_INFINITY : limits.maxLineChars;
  // UTF-8 needs at most 3 bytes per UTF-16 unit, so more bytes than 3× a character limit cross it for sure.
  if (file.size > 3 * limits.maxExtractedChars)
    checkExtractedChars(file.name, limits, Math.ceil(file.size / 3));
  const chunks: Buffer[] = [];
  let offset = 0;
  let line = 1;
  let lineStart = 0;

  /** UTF-16 length of the bytes [from, to) of the file read so far: what String#length will say. */
  const unitsBetween = (from: number, to: number): number => {
    let units = 0;
    let chunkStart = 0;
    for (const chunk of chunks) {
      const chunkEnd = chunkStart + chunk.length;
      if (chunkEnd > from && chunkStart < to) {
        for (let i = Math.max(from, chunkStart) - chunkStart; i < Math.min(to, chunkEnd) - chunkStart; i++) {
          const byte = chunk[i] as number;
          if ((byte & 0xc0) !== 0x80) units += byte >= 0xf0 ? 2 : 1;
        }
      }
      chunkStart = chunkEnd;
    }
    return units;
  };
  const lineTooLong = (units: number) =>
    limitExceeded(file.name, limits, 'maxLineChars', `line ${line} holds at least ${units} characters`);
  /** A line of `bytes` bytes ending at `end`: bytes ≥ characters, so only long lines are counted exactly. */
  const checkLine = (end: number) => {
    const bytes = end - lineStart;
    if (bytes <= maxLine) return;
    const units = unitsBetween(lineStart, end);
    if (units > maxLine) throw lineTooLong(units);
  };

  try {
    for await (const chunk of createReadStream(file.path, { highWaterMark: CHUNK_BYTES, signal })) {
      const bytes = chunk as Buffer;
      const nul = bytes.indexOf(0);
      if (nul !== -1) {
        throw new CorruptFileError(`${file.name} is not text: NUL byte at offset ${offset + nul}`);
      }
      chunks.push(bytes);
      for (let nl = bytes.indexOf(LF); nl !== -1; nl = bytes.indexOf(LF, nl + 1)) {
        checkLine(offset + nl);
        line++;
        lineStart = offset + nl + 1;
      }
      offset += bytes.length;
      // A line still open at more than 3× the limit in bytes is over it whatever its characters are.
      if (offset - lineStart > 3 * maxLine) throw lineTooLong(Math.ceil((offset - lineStart) / 3));
      if (offset > 3 * limits.maxExtractedChars)
        checkExtractedChars(file.name, limits, Math.ceil(offset / 3));
    }
  } catch (err) {
    // An aborted read fails with the signal's reason, like every other abort check.
    signal.throwIfAborted();
    throw err;
  }
  checkLine(offset);
  let text: string;
  try {
    text = utf8.decode(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  } catch (err) {
    // Only a decoding failure means damage; a string too long for the engine is a limit, not corruption.
    if ((err as { code?: unknown }).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw err;
    throw new CorruptFileError(`${file.name} is not valid UTF-8 text`);
  }
  chunks.length = 0;
  checkExtractedChars(file.name, limits, text.length);
  // Windows and old-Mac line ends would otherwise defeat every blank-line and heading rule downstream.
  return text.replace(/\r\n?/g, '\n');
}

/** Splits on blank lines, trimming each paragraph and dropping empty ones. */
export function splitParagraphs(text: string): string[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
