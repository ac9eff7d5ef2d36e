/**
 * A ZIP reader for packages (DOCX) that inflates only the entries asked for, within a budget of
 * decompressed bytes: each entry's size is checked against the budget from the central directory before
 * it is inflated, and the inflation itself stops at the budget, so an entry whose directory lies about
 * its size cannot expand past it either. A ~1 MB ZIP can hold a gigabyte of XML; nothing here holds more
 * than the budget.
 */
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';
import { approxBytes } from './limits.js';

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

/** The central directory: every entry's name, sizes and where its data is, read without inflating. */
export function readZipDirectory(zip: Buffer): ZipEntry[] {
  // The end-of-central-directory record sits in the last 22 bytes plus a comment of up to 64 KiB.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('no ZIP directory: the file is truncated or not a ZIP');
  let count = zip.readUInt16LE(eocd + 10);
  let directorySize = zip.readUInt32LE(eocd + 12);
  let directoryOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || directorySize === MAX32 || directoryOffset === MAX32) {
    const locator = eocd - 20;
    if (locator < 0 || zip.readUInt32LE(locator) !== ZIP64_LOCATOR) {
      throw new ZipFormatError('ZIP64 directory locator missing');
    }
    const zip64 = safeNumber(zip.readBigUInt64LE(locator + 8), 'ZIP64 directory offset');
    if (zip64 + 56 > zip.length || zip.readUInt32LE(zip64) !== ZIP64_EOCD) {
      throw new ZipFormatError('ZIP64 directory record missing');
    }
    count = safeNumber(zip.readBigUInt64LE(zip64 + 32), 'entry count');
    directorySize = safeNumber(zip.readBigUInt64LE(zip64 + 40), 'directory size');
    directoryOffset = safeNumber(zip.readBigUInt64LE(zip64 + 48), 'directory offset');
  }
  if (directoryOffset + directorySize > zip.length) {
    throw new ZipFormatError('the ZIP directory points past the end of the file (truncated?)');
  }
  const entries: ZipEntry[] = [];
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL) {
      throw new ZipFormatError(`ZIP directory entry ${i + 1} of ${count} is damaged`);
    }
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    let compressedSize = zip.readUInt32LE(at + 20);
    let uncompressedSize = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    let localHeaderOffset = zip.readUInt32LE(at + 42);
    const nameEnd = at + 46 + nameLength;
    if (nameEnd + extraLength > zip.length)
      throw new ZipFormatError(`ZIP directory entry ${i + 1} is damaged`);
    // Bit 11: the name is UTF-8; otherwise code page 437, which agrees with it for ASCII names.
    const name = zip.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, nameEnd);
    if (uncompressedSize === MAX32 || compressedSize === MAX32 || localHeaderOffset === MAX32) {
      // ZIP64 extra field (0x0001): the 64-bit values, in this order, of the fields that are 0xFFFFFFFF.
      for (let x = nameEnd; x + 4 <= nameEnd + extraLength; ) {
        const id = zip.readUInt16LE(x);
        const size = zip.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let v = x + 4;
          const next = (what: string) => {
            if (v + 8 > x + 4 + size) throw new ZipFormatError(`ZIP64 field of ${name} is damaged`);
            const value = safeNumber(zip.readBigUInt64LE(v), what);
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

/** An entry's stored (compressed) bytes, for readers that inflate them as a stream (ZIP archives). */
export function entryBytes(zip: Buffer, entry: ZipEntry): Buffer {
  return entryData(zip, entry);
}

/** Where an entry's compressed bytes are: after its local header, whose name and extra field may differ. */
function entryData(zip: Buffer, entry: ZipEntry): Buffer {
  const at = entry.localHeaderOffset;
  if (at + 30 > zip.length || zip.readUInt32LE(at) !== LOCAL) {
    throw new ZipFormatError(`the local header of ${entry.name} is damaged`);
  }
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const end = start + entry.compressedSize;
  if (end > zip.length) throw new ZipFormatError(`${entry.name} is cut short (truncated file?)`);
  return zip.subarray(start, end);
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
    const data = entryData(this.zip, entry);
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
        throw new ZipFormatError(`${name} cannot be inflated (${(err as Error).message})`);
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
