/**
 * S3 (SeaweedFS) access used by activities: HEAD, streamed download to disk with a running sha256,
 * streamed upload of a local file, and small JSON objects for derived data (extracted text, chunks)
 * that must not travel through history.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout } from 'node:timers/promises';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MissingObjectError } from '../domain/errors.js';

export interface ObjectHead {
  size: number;
  etag?: string;
  contentType?: string;
  lastModified?: Date;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === 'NotFound' ||
    e?.name === 'NoSuchKey' ||
    e?.name === 'NoSuchBucket' ||
    e?.$metadata?.httpStatusCode === 404
  );
}

/** HEAD an object; `undefined` when it does not exist (other failures throw and are retried). */
export async function headObject(s3: S3Client, bucket: string, key: string): Promise<ObjectHead | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      size: Number(head.ContentLength ?? 0),
      etag: head.ETag?.replace(/"/g, ''),
      contentType: head.ContentType,
      lastModified: head.LastModified,
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Streams an object to `destination`, hashing on the way; `onProgress` sees the byte count. `signal`
 * aborts both the request and the copy, so a cancelled activity does not finish a large download first.
 */
export async function downloadToFile(
  s3: S3Client,
  bucket: string,
  key: string,
  destination: string,
  onProgress: (bytes: number) => void = () => undefined,
  signal?: AbortSignal,
): Promise<{ bytes: number; sha256: string }> {
  let response: GetObjectCommandOutput;
  try {
    response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  } catch (error) {
    if (isNotFound(error)) throw new MissingObjectError(`object s3://${bucket}/${key} does not exist`);
    throw error;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      onProgress(bytes);
      callback(null, chunk);
    },
  });
  await pipeline(response.Body as Readable, meter, createWriteStream(destination), { signal });
  return { bytes, sha256: hash.digest('hex') };
}

const knownBuckets = new Set<string>();

/** Writes JSON, creating the bucket on first use (and again if it was removed behind this process's back). */
export async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  const put = () =>
    s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
      }),
    );
  await putCreatingBucket(s3, bucket, put);
}

/** Attempts of a PUT that S3 answers with NoSuchBucket, each after creating the bucket again. */
const NO_SUCH_BUCKET_ATTEMPTS = 5;
const NO_SUCH_BUCKET_BACKOFF_MS = 300;

/**
 * Runs a PUT into a bucket this process creates on first use. NoSuchBucket makes it create the bucket
 * again and retry, a few times with a growing pause: the bucket may have been removed behind this
 * process's back, or SeaweedFS's S3 gateway may not have learnt of a bucket created a moment ago (it
 * hears of new buckets from the filer, late on a busy machine). `put` must build a fresh request body
 * on each call.
 */
export async function putCreatingBucket(
  s3: S3Client,
  bucket: string,
  put: () => Promise<unknown>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await ensureBucket(s3, bucket);
    try {
      await put();
      return;
    } catch (error) {
      if ((error as { name?: string }).name !== 'NoSuchBucket' || attempt >= NO_SUCH_BUCKET_ATTEMPTS)
        throw error;
      knownBuckets.delete(bucket);
      if (attempt > 1) await setTimeout(NO_SUCH_BUCKET_BACKOFF_MS * (attempt - 1));
    }
  }
}

/**
 * Streams a local file to an object (the extracted document a sandboxed extraction wrote to disk), so the
 * worker never holds it in memory. Like putJson, it creates the bucket on first use; a retry after a
 * removed bucket opens the file again, as a consumed stream cannot be sent twice.
 */
export async function putFile(
  s3: S3Client,
  bucket: string,
  key: string,
  path: string,
  contentType = 'application/json',
): Promise<{ bytes: number }> {
  const { size } = await stat(path);
  const put = () =>
    s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: size,
        ContentType: contentType,
      }),
    );
  await putCreatingBucket(s3, bucket, put);
  return { bytes: size };
}

export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await response.Body?.transformToString('utf8');
  if (text === undefined) throw new Error(`empty body for s3://${bucket}/${key}`);
  return JSON.parse(text) as T;
}

/** Creates the bucket once per process if missing (concurrent creators are fine: "already owned" is success). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  if (knownBuckets.has(bucket)) return;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (createError) {
      const name = (createError as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw createError;
    }
  }
  knownBuckets.add(bucket);
}

/** Deletes every object under a prefix (derived data of a deleted file). */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
    } catch (error) {
      if (isNotFound(error)) return deleted;
      throw error;
    }
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length > 0) {
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      deleted += keys.length;
    }
    token = page.NextContinuationToken;
  } while (token);
  return deleted;
}
