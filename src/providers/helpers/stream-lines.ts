/**
 * A text file as a stream of lines from any byte offset, in bounded memory: the streaming counterpart of
 * readUtf8File (read-text.ts), with the same refusals (a NUL byte or invalid UTF-8 is a CorruptFileError,
 * a line over maxLineChars a LimitExceededError). A line longer than `pieceBytes` is handed out in pieces
 * cut at character boundaries, so even a file that is one 200 MB line never becomes one string.
 */
import { createReadStream } from 'node:fs';
import { CorruptFileError } from '../../domain/errors.js';
import { limitExceeded } from '../limits.js';
import type { ProviderContext, SourceFile } from '../provider.js';

export interface LinePiece {
  /** The text, without its line feed (and without a carriage return before it). */
  text: string;
  /** Byte offset in the file right after this piece (after the line feed for a whole line). */
  end: number;
  /** False for a piece of a long line that continues in the next piece. */
  complete: boolean;
  /** 1-based line number. */
  line: number;
}

const LF = 0x0a;
const CR = 0x0d;
const READ_BYTES = 1024 * 1024;
/** Lines longer than this many bytes are handed out in pieces. */
export const PIECE_BYTES = 4 * 1024 * 1024;

/** The number of bytes of `bytes` that end on a UTF-8 character boundary (at most 3 fewer). */
function boundary(bytes: Buffer): number {
  let end = bytes.length;
  // Step back over continuation bytes to the lead byte of the last character; keep it only if complete.
  let back = 0;
  while (back < 3 && end - back - 1 >= 0 && ((bytes[end - back - 1] as number) & 0xc0) === 0x80) back++;
  const leadAt = end - back - 1;
  if (leadAt < 0) return end;
  const lead = bytes[leadAt] as number;
  const needs = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (needs > back + 1) end = leadAt;
  return end;
}

/**
 * Lines of `file` starting at byte `from` (which must be a line start or a piece boundary this function
 * handed out), with their end offsets. `startLine` is the number of the line at `from`, for messages.
 */
export async function* streamLines(
  file: SourceFile,
  ctx: ProviderContext,
  from = 0,
  options: { startLine?: number; pieceBytes?: number; lineLimit?: boolean } = {},
): AsyncGenerator<LinePiece, void, undefined> {
  const { signal } = ctx;
  const { limits } = ctx.config;
  const maxLine = options.lineLimit === false ? Number.POSITIVE_INFINITY : limits.maxLineChars;
  const pieceBytes = options.pieceBytes ?? PIECE_BYTES;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const decode = (bytes: Buffer, at: number): string => {
    try {
      return decoder.decode(bytes);
    } catch {
      throw new CorruptFileError(`${file.name} is not valid UTF-8 text (near byte ${at})`);
    }
  };
  let line = options.startLine ?? 1;
  let offset = from; // file offset of the first byte of `carry`
  let carry: Buffer = Buffer.alloc(0);
  let lineChars = 0; // characters of the current line already handed out in pieces
  let first = from === 0;
  const tooLong = (chars: number) =>
    limitExceeded(file.name, limits, 'maxLineChars', `line ${line} holds at least ${chars} characters`);
  if (file.size <= from) return;
  try {
    for await (const read of createReadStream(file.path, {
      start: from,
      highWaterMark: READ_BYTES,
      signal,
    })) {
      let bytes = read as Buffer;
      if (first) {
        first = false;
        if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
          bytes = bytes.subarray(3);
          offset += 3;
        }
      }
      const nul = bytes.indexOf(0);
      if (nul !== -1) {
        throw new CorruptFileError(
          `${file.name} is not text: NUL byte at offset ${offset + carry.length + nul}`,
        );
      }
      let start = 0;
      for (let nl = bytes.indexOf(LF); nl !== -1; nl = bytes.indexOf(LF, start)) {
        let lineBytes = carry.length
          ? Buffer.concat([carry, bytes.subarray(start, nl)])
          : bytes.subarray(start, nl);
        const end = offset + carry.length + (nl - start) + 1;
        carry = Buffer.alloc(0);
        if (lineBytes[lineBytes.length - 1] === CR) lineBytes = lineBytes.subarray(0, -1);
        const text = decode(lineBytes, offset);
        if (lineChars + text.length > maxLine) throw tooLong(lineChars + text.length);
        yield { text, end, complete: true, line };
        signal.throwIfAborted();
        line++;
        lineChars = 0;
        offset = end;
        start = nl + 1;
      }
      carry = carry.length
        ? Buffer.concat([carry, bytes.subarray(start)])
        : Buffer.from(bytes.subarray(start));
      while (carry.length >= pieceBytes) {
        const cut = boundary(carry.subarray(0, pieceBytes));
        const text = decode(carry.subarray(0, cut), offset);
        lineChars += text.length;
        if (lineChars > maxLine) throw tooLong(lineChars);
        offset += cut;
        carry = Buffer.from(carry.subarray(cut));
        yield { text, end: offset, complete: false, line };
        signal.throwIfAborted();
      }
    }
  } catch (err) {
    // An aborted read fails with the signal's reason, like every other abort check.
    signal.throwIfAborted();
    throw err;
  }
  if (carry.length > 0) {
    let lineBytes = carry;
    if (lineBytes[lineBytes.length - 1] === CR) lineBytes = lineBytes.subarray(0, -1);
    const text = decode(lineBytes, offset);
    if (lineChars + text.length > maxLine) throw tooLong(lineChars + text.length);
    yield { text, end: offset + carry.length, complete: true, line };
  }
}

/**
 * A quick pass over the bytes from `from` before a stream starts (memchr-speed, nothing kept): a NUL byte
 * or a line certainly over maxLineChars (more than 3 bytes per allowed character) fails here, before any
 * section is handed out, so a hostile file is refused as fast as the whole-file path refuses it rather
 * than after megabytes of it were chunked and stored. Lines between the limit and 3× it in bytes are
 * counted exactly by streamLines as they are read.
 */
export async function prescanLines(
  file: SourceFile,
  ctx: ProviderContext,
  from = 0,
  options: { startLine?: number; lineLimit?: boolean } = {},
): Promise<void> {
  const { signal } = ctx;
  const { limits } = ctx.config;
  const maxLineBytes = options.lineLimit === false ? Number.POSITIVE_INFINITY : 3 * limits.maxLineChars;
  if (file.size <= from) return;
  let offset = from;
  let lineStart = from;
  let line = options.startLine ?? 1;
  try {
    for await (const read of createReadStream(file.path, {
      start: from,
      highWaterMark: READ_BYTES,
      signal,
    })) {
      const bytes = read as Buffer;
      const nul = bytes.indexOf(0);
      if (nul !== -1)
        throw new CorruptFileError(`${file.name} is not text: NUL byte at offset ${offset + nul}`);
      for (let nl = bytes.indexOf(LF); nl !== -1; nl = bytes.indexOf(LF, nl + 1)) {
        line++;
        lineStart = offset + nl + 1;
      }
      offset += bytes.length;
      ctx.heartbeat({ step: 'prescan', bytes: offset, of: file.size });
      if (offset - lineStart > maxLineBytes) {
        throw limitExceeded(
          file.name,
          limits,
          'maxLineChars',
          `line ${line} holds at least ${Math.ceil((offset - lineStart) / 3)} characters`,
        );
      }
    }
  } catch (err) {
    signal.throwIfAborted();
    throw err;
  }
}
