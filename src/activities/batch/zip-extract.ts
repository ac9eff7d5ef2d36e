/**
 * A batch's ZIP, extracted member by member into S3 under `batches/{batchId}/` in the tenant's bucket,
 * with the archive guards of the content providers (src/providers/formats/archive.ts): entry count
 * (maxArchiveEntries), declared total (maxDecompressedBytes) and per-entry compression ratio, all checked
 * from the central directory before anything is inflated, and again while inflating (a directory may lie).
 * The limits are those of the tier the ZIP's own size falls in (src/config/limits.ts).
 *
 * Resumable: the heartbeat carries the index of the next member, so a retry after a killed worker goes on
 * where the last one stopped. A member already in S3 with the same bytes (its etag is the MD5 of the
 * single-part upload) is not uploaded again, so its version (etag + Last-Modified), hence the id of its
 * ingestFile run, stays the same across retries.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { downloadToFile, headObject } from '../../clients/object-store.js';
import type { Config } from '../../config/config.js';
import type { BatchFailure } from '../../domain/batch.js';
import { CorruptFileError, MissingObjectError, NonRetryableError } from '../../domain/errors.js';
import { mimeTypeForFileName } from '../../domain/provider-catalog.js';
import { tierForSize } from '../../domain/tiers.js';
import { checkZipDeclarations } from '../../providers/formats/archive.js';
import {
  entryRange,
  fileZipBytes,
  readZipDirectory,
  type ZipBytes,
  type ZipEntry,
  ZipFormatError,
} from '../../providers/helpers/zip.js';
import { approxBytes, limitExceeded } from '../../providers/limits.js';
import { memberPath } from '../ingest/member-files.js';
import { createWorkDir } from '../work-dirs.js';

export interface ExtractZipInput {
  batchId: string;
  bucket: string;
  key: string;
  /** Where members go, in the same bucket. */
  prefix: string;
}

export interface ExtractZipResult {
  /** Members written (or found already written) under the prefix. */
  members: number;
  bytes: number;
  /** Members not extracted (encrypted, unsupported compression), with why: failed files of the batch. */
  skipped: BatchFailure[];
}

class CapExceeded extends Error {}

/** Passes bytes on, hashing them, and fails once more than `cap` went through. */
function capped(cap: number, hash: ReturnType<typeof createHash>): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > cap) return callback(new CapExceeded());
      hash.update(chunk);
      callback(null, chunk);
    },
  });
}

function checkGuards(name: string, files: ZipEntry[], cfg: Config, zipSize: number) {
  const tier = tierForSize(zipSize, cfg.tiers);
  const limits = cfg.limits[tier].extraction;
  if (files.length > limits.maxArchiveEntries) {
    throw limitExceeded(name, limits, 'maxArchiveEntries', `it holds ${files.length} files`);
  }
  checkZipDeclarations(name, files, limits);
  return limits;
}

export async function extractBatchZip(
  deps: { cfg: Config; s3: S3Client },
  input: ExtractZipInput,
): Promise<ExtractZipResult> {
  const { cfg, s3 } = deps;
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  const where = `s3://${input.bucket}/${input.key}`;
  const head = await headObject(s3, input.bucket, input.key);
  if (!head) throw new MissingObjectError(`the batch's ZIP ${where} does not exist`);
  const dir = await createWorkDir();
  try {
    const local = join(dir, 'batch.zip');
    await downloadToFile(s3, input.bucket, input.key, local, () => ctx.heartbeat({ next: 0 }), signal);
    // Read at offsets from the file: only the directory is held, members are streamed from their offsets,
    // whatever the ZIP's size (a batch of gigabytes runs on the small tier's workers).
    const handle = await open(local, 'r');
    try {
      const zip = fileZipBytes(handle.fd, (await handle.stat()).size);
      return await extractMembers({ cfg, s3 }, input, { zip, local, dir, where });
    } finally {
      await handle.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface OpenZip {
  zip: ZipBytes;
  /** The downloaded ZIP, streamed from at each member's offsets. */
  local: string;
  /** The work folder; each member is inflated into it before its upload. */
  dir: string;
  where: string;
}

async function extractMembers(
  deps: { cfg: Config; s3: S3Client },
  input: ExtractZipInput,
  { zip, local, dir, where }: OpenZip,
): Promise<ExtractZipResult> {
  const { cfg, s3 } = deps;
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(zip);
  } catch (error) {
    if (error instanceof ZipFormatError)
      throw new CorruptFileError(`${where} is damaged or not a ZIP archive (${error.message})`, {
        cause: error,
      });
    throw error;
  }
  const files = entries.filter((e) => !e.name.endsWith('/'));
  const limits = checkGuards(where, files, cfg, zip.size);
  const resumeAt = Number((ctx.info.heartbeatDetails as { next?: number } | undefined)?.next ?? 0);
  const taken = new Set<string>();
  const skipped: BatchFailure[] = [];
  let written = 0;
  let bytes = 0;
  let lastBeat = 0;
  for (const [index, entry] of files.entries()) {
    signal.throwIfAborted();
    // Names are computed for every entry, done or not, so a resumed run gives each the same key.
    const key = `${input.prefix}${memberPath(entry.name, index, taken)}`;
    if (entry.flags & 0x1) {
      skipped.push({ key, reason: `${entry.name} in ${where} is encrypted: not extracted` });
      continue;
    }
    if (entry.method !== 0 && entry.method !== 8) {
      skipped.push({
        key,
        reason: `${entry.name} in ${where} uses compression method ${entry.method}, which is not supported`,
      });
      continue;
    }
    if (index < resumeAt) {
      written++;
      bytes += entry.uncompressedSize;
      continue;
    }
    const remaining = limits.maxDecompressedBytes - bytes;
    const target = join(dir, 'member');
    const hash = createHash('md5');
    try {
      const { start, end } = entryRange(zip, entry);
      // Streamed from the file at the member's offsets (an empty member has none: `end` is inclusive).
      const stored = end > start ? createReadStream(local, { start, end: end - 1 }) : Readable.from([]);
      const hashed = capped(Math.min(remaining, entry.uncompressedSize), hash);
      // Capped at the declared size and at what is left of the budget, whatever the directory says.
      if (entry.method === 0) await pipeline(stored, hashed, createWriteStream(target), { signal });
      else await pipeline(stored, createInflateRaw(), hashed, createWriteStream(target), { signal });
    } catch (error) {
      signal.throwIfAborted();
      if (error instanceof NonRetryableError) throw error;
      if (error instanceof CapExceeded) {
        throw limitExceeded(
          where,
          limits,
          'maxDecompressedBytes',
          `${entry.name} inflates past its declared ${approxBytes(entry.uncompressedSize)}`,
        );
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new CorruptFileError(`${where} is damaged: ${entry.name} cannot be read (${reason})`, {
        cause: error,
      });
    }
    const { size } = await stat(target);
    const md5 = hash.digest('hex');
    const existing = await headObject(s3, input.bucket, key);
    if (!existing || existing.etag !== md5 || existing.size !== size) {
      await s3.send(
        new PutObjectCommand({
          Bucket: input.bucket,
          Key: key,
          Body: createReadStream(target),
          ContentLength: size,
          ContentType: mimeTypeForFileName(key),
        }),
        { abortSignal: signal },
      );
    }
    await rm(target, { force: true });
    written++;
    bytes += size;
    const now = Date.now();
    if (now - lastBeat > 1000) {
      lastBeat = now;
      ctx.heartbeat({ next: index + 1 });
    }
  }
  ctx.heartbeat({ next: files.length });
  return { members: written, bytes, skipped };
}
