/**
 * Uploading one local file for `p8fs ingest`: one streamed PutObject for ordinary files (the producer path
 * every other command uses, src/events/publish.ts), a multipart upload for big ones so a large file goes
 * out in parts with progress, never whole in memory, and an interrupted upload is aborted rather than left
 * as orphan parts. The filer reports a finished multipart upload as one create of the final object.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ensureBucket } from '../clients/object-store.js';
import { mimeTypeForFileName } from '../domain/provider-catalog.js';
import { type UploadedObject, uploadFile } from '../events/publish.js';

export interface UploadOptions {
  /** Files of at least this many bytes go up in parts (default 64 MiB). */
  multipartFromBytes?: number;
  /** Bytes per part (S3 wants at least 5 MiB for every part but the last; default 16 MiB). */
  partBytes?: number;
  /** Called after each part with the bytes sent so far. */
  onProgress?: (sentBytes: number) => void;
}

export const DEFAULT_MULTIPART_FROM_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PART_BYTES = 16 * 1024 * 1024;

/** Uploads `file` (of `size` bytes) to `bucket` under `category/NAME`, as one PUT or in parts. */
export async function uploadLocalFile(
  s3: S3Client,
  file: string,
  size: number,
  bucket: string,
  category: string,
  options: UploadOptions = {},
): Promise<UploadedObject> {
  const multipartFrom = options.multipartFromBytes ?? DEFAULT_MULTIPART_FROM_BYTES;
  if (size < multipartFrom) {
    const object = await uploadFile(s3, file, bucket, category);
    options.onProgress?.(object.size);
    return object;
  }
  const key = `${category}/${basename(file)}`;
  const mimeType = mimeTypeForFileName(file);
  await ensureBucket(s3, bucket);
  const created = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: mimeType }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`S3 gave no upload id for s3://${bucket}/${key}`);
  const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
  const parts: { ETag: string | undefined; PartNumber: number }[] = [];
  try {
    for (let start = 0, partNumber = 1; start < size; start += partBytes, partNumber++) {
      const length = Math.min(partBytes, size - start);
      const uploaded = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          // A read stream of this part's byte range: memory stays at one stream buffer, not one part.
          Body: createReadStream(file, { start, end: start + length - 1 }),
          ContentLength: length,
        }),
      );
      parts.push({ ETag: uploaded.ETag, PartNumber: partNumber });
      options.onProgress?.(start + length);
    }
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    return {
      bucket,
      key,
      path: `/buckets/${bucket}/${key}`,
      size,
      mimeType,
      etag: (completed.ETag ?? '').replace(/"/g, ''),
    };
  } catch (error) {
    // Best effort: the housekeeping schedule also aborts multipart uploads left behind.
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch(() => undefined);
    throw error;
  }
}
