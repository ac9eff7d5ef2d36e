/**
 * A ZIP reader for packages (DOCX) that inflates only the entries asked for, within a budget of
 * decompressed bytes: each entry's size is checked against the budget from the central directory before
 * it is inflated, and the inflation itself stops at the budget, so an entry whose directory lies about
 * its size cannot expand past it either. A ~1 MB ZIP can hold a gigabyte of XML; nothing here holds more
 * than the budget. Kept over yauzl (asynchronous, ~130× slower on a large directory read from a file, and
 * refusing a whole archive for one `../` name): docs/PERFORMANCE.md, "Parsers kept or replaced".
 */
import { readSync } from 'node:fs';
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';
import { approxBytes } from '../limits.js';

const inflateRawAsync = promisify(inflateRaw);

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX32 = 0xffffffff;

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** The archive is not a readable ZIP; `message` says why, for the caller's CorruptFileError. */
export class ZipFormatError extends Error {
  override readonly name = 'ZipFormatError';
}

/** The next entry would take the decompressed bytes past the budget. */
export class ZipBudgetError extends Error {
  override readonly name = 'ZipBudgetError';
  constructor(
    message: string,
    readonly entry: string,
  ) {
    super(message);
  }
}

function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError(`${what} is out of range`);
  return Number(value);
}

/**
 * Where a ZIP's bytes are: a buffer in memory, or a file read at offsets (fileZipBytes), so a batch's
 * multi-gigabyte ZIP never has to be held whole: only its directory and one entry's header at a time.
 */
export interface ZipBytes {
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer at the end of the data). */
  read(offset: number, length: number): Buffer;
}

export function bufferZipBytes(zip: Buffer): ZipBytes {
  return { size: zip.length, read: (offset, length) => zip.subarray(offset, offset + length) };
}

/** A ZIP file on disk, read at offsets through an open descriptor (the caller closes it). */
export function fileZipBytes(fd: number, size: number): ZipBytes {
  return {
    size,
    read(offset, length) {
      const wanted = Math.max(0, Math.min(length, size - offset));
      const buffer = Buffer.alloc(wanted);
      let done = 0;
      while (done < wanted) {
        const n = readSync(fd, buffer, done, wanted - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return buffer.subarray(0, done);
    },
  };
}

function zipBytesOf(zip: Buffer | ZipBytes): ZipBytes {
  return Buffer.isBuffer(zip) ? bufferZipBytes(zip) : zip;
}

/** The central directory: every entry's name, sizes and where its data is, read without inflating. */
export function readZipDirectory(input: Buffer | ZipBytes): ZipEntry[] {
  const zip = zipBytesOf(input);
  // The end-of-central-directory record sits in the last 22 bytes plus a comment of up to 64 KiB; the
  // ZIP64 locator, when there is one, in the 20 bytes before it.
  const tailStart = Math.max(0, zip.size - 22 - 0xffff - 20);
  const tail = zip.read(tailStart, zip.size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= Math.max(0, tail.length - 22 - 0xffff); i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('no ZIP directory: the file is truncated or not a ZIP');
  let count = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || directorySize === MAX32 || directoryOffset === MAX32) {
    const locator = eocd - 20;
    if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_LOCATOR) {
      throw new ZipFormatError('ZIP64 directory locator missing');
    }
    const zip64At = safeNumber(tail.readBigUInt64LE(locator + 8), 'ZIP64 directory offset');
    const zip64 = zip64At + 56 <= zip.size ? zip.read(zip64At, 56) : Buffer.alloc(0);
    if (zip64.length < 56 || zip64.readUInt32LE(0) !== ZIP64_EOCD) {
      throw new ZipFormatError('ZIP64 directory record missing');
    }
    count = safeNumber(zip64.readBigUInt64LE(32), 'entry count');
    directorySize = safeNumber(zip64.readBigUInt64LE(40), 'directory size');
    directoryOffset = safeNumber(zip64.readBigUInt64LE(48), 'directory offset');
  }
  if (directoryOffset + directorySize > zip.size) {
    throw new ZipFormatError('the ZIP directory points past the end of the file (truncated?)');
  }
  // The directory is read whole (it holds names and sizes only: about 100 bytes per entry).
  const dir = zip.read(directoryOffset, directorySize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > dir.length || dir.readUInt32LE(at) !== CENTRAL) {
      throw new ZipFormatError(`ZIP directory entry ${i + 1} of ${count} is damaged`);
    }
    const flags = dir.readUInt16LE(at + 8);
    const method = dir.readUInt16LE(at + 10);
    let compressedSize = dir.readUInt32LE(at + 20);
    let uncompressedSize = dir.readUInt32LE(at + 24);
    const nameLength = dir.readUInt16LE(at + 28);
    const extraLength = dir.readUInt16LE(at + 30);
    const commentLength = dir.readUInt16LE(at + 32);
    let localHeaderOffset = dir.readUInt32LE(at + 42);
    const nameEnd = at + 46 + nameLength;
    if (nameEnd + extraLength > dir.length)
      throw new ZipFormatError(`ZIP directory entry ${i + 1} is damaged`);
    // Bit 11: the name is UTF-8; otherwise code page 437, which agrees with it for ASCII names.
    const name = dir.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, nameEnd);
    if (uncompressedSize === MAX32 || compressedSize === MAX32 || localHeaderOffset === MAX32) {
      // ZIP64 extra field (0x0001): the 64-bit values, in this order, of the fields that are 0xFFFFFFFF.
      for (let x = nameEnd; x + 4 <= nameEnd + extraLength; ) {
        const id = dir.readUInt16LE(x);
        const size = dir.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let v = x + 4;
          const next = (what: string) => {
            if (v + 8 > x + 4 + size) throw new ZipFormatError(`ZIP64 field of ${name} is damaged`);
            const value = safeNumber(dir.readBigUInt64LE(v), what);
            v += 8;
            return value;
          };
          if (uncompressedSize === MAX32) uncompressedSize = next('uncompressed size');
          if (compressedSize === MAX32) compressedSize = next('compressed size');
          if (localHeaderOffset === MAX32) localHeaderOffset = next('entry offset');
          break;
        }
        x += 4 + size;
      }
    }
    entries.push({ name, method, flags, compressedSize, uncompressedSize, localHeaderOffset });
    at = nameEnd + extraLength + commentLength;
  }
  return entries;
}

/** An entry's stored (compressed) bytes in a ZIP held in memory (ZIP archives, packages). */
export function entryBytes(zip: Buffer, entry: ZipEntry): Buffer {
  const { start, end } = entryRange(zip, entry);
  return zip.subarray(start, end);
}

/**
 * Where an entry's compressed bytes are, `end` exclusive: after its local header, whose name and extra
 * field may differ from the directory's. Lets a file-backed reader stream them instead of holding them.
 */
export function entryRange(input: Buffer | ZipBytes, entry: ZipEntry): { start: number; end: number } {
  const zip = zipBytesOf(input);
  const at = entry.localHeaderOffset;
  const header = zip.read(at, 30);
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL) {
    throw new ZipFormatError(`the local header of ${entry.name} is damaged`);
  }
  const start = at + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const end = start + entry.compressedSize;
  if (end > zip.size) throw new ZipFormatError(`${entry.name} is cut short (truncated file?)`);
  return { start, end };
}

/**
 * Reads entries by name, inflating each within what is left of `budget` bytes: the directory's size is
 * checked first, then the inflation is capped, so neither an honest bomb nor a lying directory gets past
 * it (ZipBudgetError). `read(name, "utf-8")` decodes text, as mammoth's own zip object does.
 */
export class BoundedZip {
  private readonly entries = new Map<string, ZipEntry>();
  private used = 0;

  constructor(
    private readonly zip: Buffer,
    private readonly budget: number,
    private readonly signal: AbortSignal,
  ) {
    for (const entry of readZipDirectory(zip)) this.entries.set(entry.name, entry);
  }

  /** Decompressed bytes read so far. */
  get bytesRead(): number {
    return this.used;
  }

  exists(name: string): boolean {
    return this.entries.has(name);
  }

  /** Every entry's name, in directory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  async read(name: string, encoding?: string): Promise<string | Uint8Array> {
    const bytes = await this.inflate(name);
    if (encoding === 'base64') return bytes.toString('base64');
    if (encoding) return new TextDecoder(encoding).decode(bytes);
    return bytes;
  }

  private async inflate(name: string): Promise<Buffer> {
    this.signal.throwIfAborted();
    const entry = this.entries.get(name);
    if (!entry) throw new ZipFormatError(`${name} is not in the package`);
    if (entry.flags & 0x1) throw new ZipFormatError(`${name} is encrypted`);
    const remaining = this.budget - this.used;
    if (entry.uncompressedSize > remaining) {
      throw new ZipBudgetError(
        `${name} declares ${approxBytes(entry.uncompressedSize)}${this.used > 0 ? ` after ${approxBytes(this.used)} already read` : ''}`,
        name,
      );
    }
    const data = entryBytes(this.zip, entry);
    let bytes: Buffer;
    if (entry.method === 0) {
      bytes = data;
    } else if (entry.method === 8) {
      try {
        // Capped at what is left of the budget, whatever the directory declared.
        bytes = await inflateRawAsync(data, { maxOutputLength: Math.max(1, remaining) });
      } catch (err) {
        this.signal.throwIfAborted();
        if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
          throw new ZipBudgetError(
            `${name} inflates past its declared ${approxBytes(entry.uncompressedSize)} (the ZIP directory understates it)`,
            name,
          );
        }
        throw new ZipFormatError(`${name} cannot be inflated (${(err as Error).message})`, { cause: err });
      }
    } else {
      throw new ZipFormatError(
        `${name} uses compression method ${entry.method}, which office packages do not use`,
      );
    }
    if (bytes.length > remaining) {
      throw new ZipBudgetError(
        `${name} holds ${approxBytes(bytes.length)}, more than its directory declared`,
        name,
      );
    }
    this.used += bytes.length;
    this.signal.throwIfAborted();
    return bytes;
  }
}
