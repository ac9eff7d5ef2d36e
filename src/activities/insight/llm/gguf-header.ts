/**
 * Reads the few metadata values the `local` provider needs (architecture, name, trained context length)
 * from a GGUF file's header, synchronously and without loading the model: `LlmProvider.contextTokens` is
 * a plain property that prompt packing reads before the first generation, and loading the weights just
 * to learn one number would make start-up slow. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 * (little endian: magic "GGUF", version, tensor count, metadata count, then typed key/value pairs).
 * Kept over node-llama-cpp's readGgufFileInfo (asynchronous, reads all the metadata, loads the runtime):
 * docs/PERFORMANCE.md, "Parsers kept or replaced".
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface GgufHeader {
  architecture?: string;
  name?: string;
  /** `<architecture>.context_length`: the window the model was trained for. */
  contextLength?: number;
}

/** Value types of GGUF metadata: [size in bytes] for fixed-size ones. */
const FIXED_SIZES: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};
const STRING = 8;
const ARRAY = 9;

class Reader {
  private buffer = Buffer.alloc(0);
  private start = 0;
  pos = 0;
  constructor(private readonly fd: number) {}

  /** Makes [pos, pos + n) readable, reading the file in chunks of at least 1 MiB. */
  private need(n: number): void {
    const end = this.pos + n;
    if (end <= this.start + this.buffer.length) return;
    const size = Math.max(n, 1 << 20);
    const buffer = Buffer.alloc(size);
    const got = readSync(this.fd, buffer, 0, size, this.pos);
    if (got < n) throw new Error('the file ends inside its GGUF header');
    this.buffer = buffer.subarray(0, got);
    this.start = this.pos;
  }
  private at(n: number): number {
    this.need(n);
    const offset = this.pos - this.start;
    this.pos += n;
    return offset;
  }
  // at() may swap the buffer, so it is always called before this.buffer is read.
  u32(): number {
    const offset = this.at(4);
    return this.buffer.readUInt32LE(offset);
  }
  u64(): number {
    const offset = this.at(8);
    return Number(this.buffer.readBigUInt64LE(offset));
  }
  string(): string {
    const length = this.u64();
    if (length > 1 << 24) throw new Error(`a GGUF string of ${length} bytes is not plausible`);
    const offset = this.at(length);
    return this.buffer.toString('utf8', offset, offset + length);
  }
  /** The value of one scalar of `type` as a number (integers) or undefined (others), consumed. */
  scalar(type: number): number | string | undefined {
    if (type === STRING) return this.string();
    const size = FIXED_SIZES[type];
    if (size === undefined) throw new Error(`unknown GGUF metadata type ${type}`);
    const offset = this.at(size);
    switch (type) {
      case 4:
        return this.buffer.readUInt32LE(offset);
      case 5:
        return this.buffer.readInt32LE(offset);
      case 10:
        return Number(this.buffer.readBigUInt64LE(offset));
      case 11:
        return Number(this.buffer.readBigInt64LE(offset));
      default:
        return undefined;
    }
  }
  skipArray(): void {
    const type = this.u32();
    const count = this.u64();
    const size = FIXED_SIZES[type];
    if (size !== undefined) {
      this.pos += size * count;
      return;
    }
    for (let i = 0; i < count; i++) {
      if (type === STRING) {
        const length = this.u64(); // read before pos is taken: u64() moves it
        this.pos += length;
      } else if (type === ARRAY) this.skipArray();
      else throw new Error(`unknown GGUF array element type ${type}`);
    }
  }
}

/** Throws (with the reason) when `path` is not a readable GGUF file. */
export function readGgufHeader(path: string): GgufHeader {
  const fd = openSync(path, 'r');
  try {
    const r = new Reader(fd);
    const magic = r.u32();
    if (magic !== 0x46554747) throw new Error('it does not start with the GGUF magic bytes');
    const version = r.u32();
    if (version < 2) throw new Error(`GGUF version ${version} is too old (2 or newer is read)`);
    r.u64(); // tensor count
    const entries = r.u64();
    const values = new Map<string, number | string | undefined>();
    for (let i = 0; i < entries; i++) {
      const key = r.string();
      const type = r.u32();
      if (type === ARRAY) r.skipArray();
      else values.set(key, r.scalar(type));
      const arch = values.get('general.architecture');
      // The general and architecture keys come first; stop before the tokenizer's big arrays.
      if (typeof arch === 'string' && values.has(`${arch}.context_length`) && values.has('general.name'))
        break;
    }
    const architecture = values.get('general.architecture');
    const name = values.get('general.name');
    const context =
      typeof architecture === 'string' ? values.get(`${architecture}.context_length`) : undefined;
    return {
      ...(typeof architecture === 'string' ? { architecture } : {}),
      ...(typeof name === 'string' ? { name } : {}),
      ...(typeof context === 'number' ? { contextLength: context } : {}),
    };
  } finally {
    closeSync(fd);
  }
}
