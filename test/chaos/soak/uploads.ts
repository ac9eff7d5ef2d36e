/**
 * The S3 side of the soak: every planned upload PUT into its tenant's bucket at its planned second, the
 * way any S3 client would (nothing else: the filer subscriber must notice it). A PUT that fails (SeaweedFS
 * stopped, a connection reset) is retried with backoff, as a client would, until it succeeds or
 * `giveUpMs` passes; each upload's attempts and time are kept for the report.
 */
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { errorText } from '../../../src/domain/errors.js';
import { uploadBody } from './files.js';
import { MiB, type PlannedUpload } from './plan.js';

export interface UploadResult {
  upload: PlannedUpload;
  /** ms since the soak's start when the PUT succeeded; undefined if it never did. */
  doneAt?: number;
  attempts: number;
  bytes: number;
  lastError?: string;
  /** S3 refused the PUT for good (a 4xx other than 408/429, e.g. a key it does not take): not retried. */
  refused?: string;
}

function refusal(error: unknown): string | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === undefined || status < 400 || status >= 500 || status === 408 || status === 429)
    return undefined;
  return `S3 refused the PUT: HTTP ${status} ${errorText(error).slice(0, 200)}`;
}

export async function createBuckets(s3: S3Client, tenants: string[]): Promise<void> {
  for (const tenant of tenants) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: tenant }));
    } catch (error) {
      if (!/BucketAlreadyExists|BucketAlreadyOwnedByYou/.test(errorText(error))) throw error;
    }
  }
}

async function put(s3: S3Client, upload: PlannedUpload, body: Buffer): Promise<void> {
  if (body.length < 16 * MiB) {
    await s3.send(new PutObjectCommand({ Bucket: upload.tenant, Key: upload.key, Body: body }), {
      abortSignal: AbortSignal.timeout(120_000),
    });
    return;
  }
  // Big files go up as S3 multipart uploads, as real clients send them.
  await new Upload({
    client: s3,
    params: { Bucket: upload.tenant, Key: upload.key, Body: body },
    partSize: 8 * MiB,
    queueSize: 2,
  }).done();
}

/** Runs the plan: at most `concurrency` PUTs at once, none before its planned second. */
export async function runUploads(options: {
  s3: S3Client;
  plan: PlannedUpload[];
  seed: number;
  startedAt: number;
  concurrency: number;
  giveUpMs: number;
  onProgress?: (done: number, failed: number) => void;
}): Promise<UploadResult[]> {
  const { s3, plan, seed, startedAt } = options;
  const results: UploadResult[] = plan.map((upload) => ({ upload, attempts: 0, bytes: 0 }));
  let next = 0;
  let done = 0;
  let failed = 0;
  const worker = async () => {
    while (next < plan.length) {
      const result = results[next++] as UploadResult;
      const wait = startedAt + result.upload.at * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const { body } = uploadBody(result.upload, seed);
      result.bytes = body.length;
      const deadline = Date.now() + options.giveUpMs;
      let delay = 500;
      while (result.doneAt === undefined && result.refused === undefined && Date.now() < deadline) {
        result.attempts++;
        try {
          await put(s3, result.upload, body);
          result.doneAt = Date.now() - startedAt;
        } catch (error) {
          result.lastError = errorText(error).slice(0, 300);
          result.refused = refusal(error);
          if (result.refused) break;
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 10_000);
        }
      }
      if (result.doneAt === undefined) failed++;
      else done++;
      options.onProgress?.(done, failed);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return results;
}
