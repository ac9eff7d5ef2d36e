/**
 * ZIP archives: every member becomes a file of its own (written through MemberWriter, then uploaded and
 * published by the extract activity), and the archive's own resource lists what it holds. Guards, all
 * checked from the central directory before anything is inflated and again while inflating (a directory
 * may lie): entry count (maxArchiveEntries), total uncompressed bytes (maxDecompressedBytes) and the
 * compression ratio of each large entry (maxCompressionRatio). Archives inside archives are not opened
 * here; they are ingested as members, and their depth is held to maxArchiveDepth by the activity.
 */
import { createInflateRaw } from 'node:zlib';
import { CorruptFileError, NonRetryableError } from '../../domain/errors.js';
import { mimeTypeForFileName } from '../../domain/provider-catalog.js';
import { bufferStream, MemberBudgetError, MemberWriter } from '../helpers/members.js';
import { entryBytes, readZipDirectory, type ZipEntry, ZipFormatError } from '../helpers/zip.js';
import {
  approxBytes,
  type ExtractionLimits,
  exhausted,
  isResourceExhaustion,
  limitExceeded,
} from '../limits.js';
import { type ContentProvider, readSourceFile } from '../provider.js';

/** Below this an entry's ratio says nothing: a small file of spaces compresses 1000:1 honestly. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

/**
 * The guards a ZIP's central directory can be held to before anything is inflated: the total
 * uncompressed bytes its entries declare, and each large entry's compression ratio (a bomb's tell).
 * Shared by this provider and the batch's ZIP extraction, so a ZIP is judged the same either way.
 */
export function checkZipDeclarations(name: string, files: ZipEntry[], limits: ExtractionLimits): void {
  const declared = files.reduce((n, e) => n + e.uncompressedSize, 0);
  if (declared > limits.maxDecompressedBytes) {
    throw limitExceeded(name, limits, 'maxDecompressedBytes', `its entries declare ${approxBytes(declared)}`);
  }
  for (const entry of files) {
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (entry.uncompressedSize >= RATIO_FLOOR_BYTES && ratio > limits.maxCompressionRatio) {
      throw limitExceeded(
        name,
        limits,
        'maxCompressionRatio',
        `${entry.name} declares ${approxBytes(entry.uncompressedSize)} from ${approxBytes(entry.compressedSize)} (${Math.round(ratio)}:1)`,
      );
    }
  }
}

export const archiveProvider: ContentProvider = {
  name: 'zip',
  version: '1.0.0',
  mimeTypes: ['application/zip', 'application/x-zip-compressed'],
  extensions: ['.zip'],
  async extract(file, ctx) {
    const { name } = file;
    const { limits } = ctx.config;
    const buffer = await readSourceFile(file, ctx.signal);
    if (buffer.length === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not a ZIP archive`);
    let entries: ReturnType<typeof readZipDirectory>;
    try {
      entries = readZipDirectory(buffer);
    } catch (err) {
      if (err instanceof ZipFormatError)
        throw new CorruptFileError(`${name} is damaged or not a ZIP archive (${err.message})`, {
          cause: err,
        });
      throw err;
    }
    const files = entries.filter((e) => !e.name.endsWith('/'));
    const writer = new MemberWriter(name, ctx);
    writer.checkCount(files.length);
    checkZipDeclarations(name, files, limits);
    for (const entry of files) {
      ctx.signal.throwIfAborted();
      if (entry.flags & 0x1) {
        writer.skipped.push({ name: entry.name, reason: 'encrypted' });
        continue;
      }
      if (entry.method !== 0 && entry.method !== 8) {
        writer.skipped.push({
          name: entry.name,
          reason: `compression method ${entry.method} is not supported`,
        });
        continue;
      }
      try {
        const data = entryBytes(buffer, entry);
        const source = entry.method === 0 ? bufferStream(data) : bufferStream(data).pipe(createInflateRaw());
        await writer.addStream(entry.name, source, mimeTypeForFileName(entry.name));
      } catch (err) {
        ctx.signal.throwIfAborted();
        if (err instanceof NonRetryableError) throw err;
        if (err instanceof MemberBudgetError) {
          throw writer.budgetExceeded(
            `${entry.name} inflates past its declared ${approxBytes(entry.uncompressedSize)}`,
          );
        }
        if (isResourceExhaustion(err)) throw exhausted(name, err);
        const reason = err instanceof Error ? err.message : String(err);
        throw new CorruptFileError(`${name} is damaged: ${entry.name} cannot be read (${reason})`, {
          cause: err,
        });
      }
    }
    return {
      provider: 'zip',
      sections: writer.listing('files'),
      metadata: { entries: files.length, bytes: writer.members.reduce((n, m) => n + m.size, 0) },
      members: writer.members,
    };
  },
};
