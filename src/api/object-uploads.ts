/**
 * The S3 side of uploads through the API. A whole-file upload streams the request body to S3: with a
 * Content-Length it is one PutObject whose body is the request itself (nothing buffered); without one
 * (chunked transfer) lib-storage's Upload sends it in 8 MiB parts, two in flight, so memory stays bounded
 * whatever the size. A client that goes away mid-body aborts the upload (no orphan parts; the housekeeping
 * schedule collects any that a crash leaves). Resumable uploads map one to one onto S3 multipart uploads:
 * initiate, parts (each streamed with its Content-Length), list the parts (to resume), complete (S3's
 * server-side merge into one object) or abort.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ApiProblem } from './problems.js';

const STREAM_PART_BYTES = 8 * 1024 * 1024;
/** S3's rules: every part but the last at least 5 MiB, at most 10,000 parts, a part at most 5 GiB. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const MAX_PART_BYTES = 5 * 1024 ** 3;
/** One PutObject takes at most 5 GiB; bigger bodies of known length go up through lib-storage's parts. */
const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

function counted(body: Readable): { stream: Readable; bytes: () => number } {
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  body.on('error', (error) => meter.destroy(error));
  // A client that disconnects mid-body: the upload must fail, not wait for bytes that never come.
  body.on('aborted', () => meter.destroy(new Error('the client closed the connection mid-upload')));
  body.pipe(meter);
  return { stream: meter, bytes: () => bytes };
}

export interface StreamedObject {
  size: number;
  etag: string;
}

export async function putStream(
  s3: S3Client,
  target: { bucket: string; key: string; contentType: string },
  body: Readable,
  contentLength: number | undefined,
): Promise<StreamedObject> {
  const { stream, bytes } = counted(body);
  if (contentLength !== undefined && contentLength <= MAX_SINGLE_PUT_BYTES) {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        Body: stream,
        ContentLength: contentLength,
        ContentType: target.contentType,
      }),
    );
    return { size: contentLength, etag: (put.ETag ?? '').replace(/"/g, '') };
  }
  const upload = new Upload({
    client: s3,
    params: { Bucket: target.bucket, Key: target.key, Body: stream, ContentType: target.contentType },
    partSize: STREAM_PART_BYTES,
    queueSize: 2,
    leavePartsOnError: false,
  });
  const done = await upload.done();
  return { size: bytes(), etag: (done.ETag ?? '').replace(/"/g, '') };
}

/** The id a client holds for a resumable upload: the S3 upload with its bucket and key, opaque to it. */
export interface UploadHandle {
  bucket: string;
  key: string;
  s3UploadId: string;
}

/**
 * The key that signs upload ids: P8FS_API_UPLOAD_SECRET, else one derived from P8FS_S3_SECRET_KEY. Not a
 * per-process random key: a restart, or a part sent to another replica, would void every open upload. The
 * S3 secret is already the same on every replica and never leaves the server; the derivation (an HMAC
 * under a fixed label) keeps the S3 secret itself out of any id.
 */
export function uploadSigningKey(cfg: {
  api: { uploadSecret?: string };
  s3: { secretAccessKey: string };
}): Buffer {
  if (cfg.api.uploadSecret) return Buffer.from(cfg.api.uploadSecret, 'utf8');
  return createHmac('sha256', cfg.s3.secretAccessKey).update('p8fs resumable upload ids v1').digest();
}

function signature(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(`p8fs-upload.${payload}`).digest();
}

/**
 * `<payload>.<signature>`: the payload is base64url JSON `[bucket, key, s3UploadId]`, the signature an
 * HMAC-SHA256 of it, so a client can neither point an id at another bucket or key nor make one up.
 */
export function encodeUploadId(handle: UploadHandle, secret: Buffer): string {
  const payload = Buffer.from(
    JSON.stringify([handle.bucket, handle.key, handle.s3UploadId]),
    'utf8',
  ).toString('base64url');
  return `${payload}.${signature(secret, payload).toString('base64url')}`;
}

/** Undefined for anything that is not one of ours, unsigned or tampered with (the route answers 404). */
export function decodeUploadId(id: string, secret: Buffer): UploadHandle | undefined {
  const dot = id.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const payload = id.slice(0, dot);
  const given = Buffer.from(id.slice(dot + 1), 'base64url');
  const expected = signature(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((p) => typeof p === 'string'))
      return undefined;
    const [bucket, key, s3UploadId] = parsed as [string, string, string];
    return bucket && key && s3UploadId ? { bucket, key, s3UploadId } : undefined;
  } catch {
    return undefined;
  }
}

function isNoSuchUpload(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchUpload' || e?.$metadata?.httpStatusCode === 404;
}

/** S3's "no such upload" as the API's 404; anything else unchanged. */
function uploadGone(error: unknown): never {
  if (isNoSuchUpload(error))
    throw new ApiProblem(
      404,
      'no such upload: it was completed, aborted, or collected by housekeeping (P8FS_HOUSEKEEPING_UPLOAD_MAX_AGE_HOURS)',
    );
  throw error;
}

/**
 * How many multipart uploads the bucket has open, counted up to `cap` (one or two ListMultipartUploads
 * pages: the count stops as soon as it reaches the cap).
 */
export async function openUploads(s3: S3Client, bucket: string, cap: number): Promise<number> {
  let count = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        MaxUploads: Math.min(1000, cap - count),
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    count += page.Uploads?.length ?? 0;
    if (count >= cap || !page.IsTruncated || !page.NextKeyMarker) return count;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

export async function initiateUpload(
  s3: S3Client,
  target: { bucket: string; key: string; contentType: string },
): Promise<UploadHandle> {
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: target.bucket,
      Key: target.key,
      ContentType: target.contentType,
    }),
  );
  if (!created.UploadId) throw new Error(`S3 gave no upload id for s3://${target.bucket}/${target.key}`);
  return { bucket: target.bucket, key: target.key, s3UploadId: created.UploadId };
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
}

export async function uploadPart(
  s3: S3Client,
  handle: UploadHandle,
  partNumber: number,
  body: Readable,
  contentLength: number,
): Promise<UploadedPart> {
  const { stream } = counted(body);
  const uploaded = await s3
    .send(
      new UploadPartCommand({
        Bucket: handle.bucket,
        Key: handle.key,
        UploadId: handle.s3UploadId,
        PartNumber: partNumber,
        Body: stream,
        ContentLength: contentLength,
      }),
    )
    .catch(uploadGone);
  return { partNumber, etag: (uploaded.ETag ?? '').replace(/"/g, ''), size: contentLength };
}

/** The parts S3 holds for the upload, in order: what a resuming client still has to send. */
export async function listParts(s3: S3Client, handle: UploadHandle): Promise<UploadedPart[]> {
  const parts: UploadedPart[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await s3
      .send(
        new ListPartsCommand({
          Bucket: handle.bucket,
          Key: handle.key,
          UploadId: handle.s3UploadId,
          PartNumberMarker: marker,
        }),
      )
      .catch(uploadGone);
    for (const p of page.Parts ?? []) {
      if (p.PartNumber === undefined) continue;
      parts.push({
        partNumber: p.PartNumber,
        etag: (p.ETag ?? '').replace(/"/g, ''),
        size: Number(p.Size ?? 0),
      });
    }
    if (!page.IsTruncated || !page.NextPartNumberMarker) break;
    marker = String(page.NextPartNumberMarker);
  }
  return parts.sort((a, b) => a.partNumber - b.partNumber);
}

/** Merges the parts (the client's list, else every part S3 holds) into one object. */
export async function completeUpload(
  s3: S3Client,
  handle: UploadHandle,
  given?: { partNumber: number; etag: string }[],
): Promise<{ parts: number }> {
  const parts = given && given.length > 0 ? given : await listParts(s3, handle);
  if (parts.length === 0) throw new ApiProblem(409, 'the upload has no parts yet: upload at least one part');
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  await s3
    .send(
      new CompleteMultipartUploadCommand({
        Bucket: handle.bucket,
        Key: handle.key,
        UploadId: handle.s3UploadId,
        MultipartUpload: {
          Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag.replace(/"/g, '')}"` })),
        },
      }),
    )
    .catch((error: unknown) => {
      const name = (error as { name?: string }).name;
      if (name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall')
        throw new ApiProblem(
          409,
          `S3 refused to merge the parts: ${(error as Error).message}`,
          {},
          undefined,
          { cause: error },
        );
      uploadGone(error);
    });
  return { parts: sorted.length };
}

export async function abortUpload(s3: S3Client, handle: UploadHandle): Promise<void> {
  await s3
    .send(
      new AbortMultipartUploadCommand({
        Bucket: handle.bucket,
        Key: handle.key,
        UploadId: handle.s3UploadId,
      }),
    )
    .catch(uploadGone);
}
