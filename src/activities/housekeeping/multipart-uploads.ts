/**
 * The seeds' upload garbage collection: multipart uploads that were started and never completed or
 * aborted keep their parts in SeaweedFS (under each bucket's `.uploads` folder) for ever. Every upload
 * initiated before the cut-off is aborted, in every bucket (or in the buckets named).
 */
import {
  AbortMultipartUploadCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface StaleUploadsOptions {
  /** Uploads initiated at or before this moment are aborted. */
  olderThan: Date;
  /** Only these buckets; all buckets of the account when absent. */
  buckets?: string[];
  signal?: AbortSignal;
  /** Called after each page of uploads (an activity heartbeat). */
  progress?: (details: { bucket: string; aborted: number }) => void;
}

export interface StaleUploadsResult {
  bucketsScanned: number;
  aborted: number;
  /** A few of the aborted uploads, `bucket/key`, for the run's result (never all: history stays small). */
  examples: string[];
}

const MAX_EXAMPLES = 10;

function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? '';
}

async function bucketNames(s3: S3Client, signal?: AbortSignal): Promise<string[]> {
  const listed = await s3.send(new ListBucketsCommand({}), { abortSignal: signal });
  return (listed.Buckets ?? []).flatMap((b) => (b.Name ? [b.Name] : []));
}

export async function abortStaleUploads(
  s3: S3Client,
  options: StaleUploadsOptions,
): Promise<StaleUploadsResult> {
  const { signal } = options;
  const buckets = options.buckets ?? (await bucketNames(s3, signal));
  const result: StaleUploadsResult = { bucketsScanned: 0, aborted: 0, examples: [] };
  for (const bucket of buckets) {
    signal?.throwIfAborted();
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    let abortedHere = 0;
    try {
      for (;;) {
        const page = await s3.send(
          new ListMultipartUploadsCommand({
            Bucket: bucket,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
          { abortSignal: signal },
        );
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || !upload.Initiated) continue;
          if (upload.Initiated.getTime() > options.olderThan.getTime()) continue;
          try {
            await s3.send(
              new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }),
              { abortSignal: signal },
            );
          } catch (error) {
            // Completed or aborted by its client meanwhile: nothing left to collect.
            if (errorName(error) !== 'NoSuchUpload') throw error;
            continue;
          }
          abortedHere++;
          if (result.examples.length < MAX_EXAMPLES) result.examples.push(`${bucket}/${upload.Key}`);
        }
        options.progress?.({ bucket, aborted: result.aborted + abortedHere });
        if (!page.IsTruncated || (!page.NextKeyMarker && !page.NextUploadIdMarker)) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (error) {
      // A bucket deleted between the listing and its scan holds no uploads any more.
      if (errorName(error) !== 'NoSuchBucket') throw error;
    }
    result.bucketsScanned++;
    result.aborted += abortedHere;
  }
  return result;
}
