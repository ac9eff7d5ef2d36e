/**
 * Big derived objects, written and read piece by piece so an activity never holds them twice in memory
 * nor blocks its event loop on one giant string: chunks are stored as JSON Lines (one chunk per line),
 * uploaded in multipart parts as they are produced and read back line by line into the insert batches.
 * Results recorded before JSON Lines existed name a `.json` array; reading accepts both.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ensureBucket } from '../../clients/object-store.js';

/** S3 wants parts of at least 5 MiB (all but the last); 8 MiB keeps the count of parts low. */
const PART_BYTES = 8 * 1024 * 1024;

/**
 * Writes values as JSON Lines to `bucket/key`: one PutObject when everything fits one part, else a
 * multipart upload whose parts go out while later lines are still being produced. `onPart` is called
 * after each part (for heartbeats). An upload that fails is aborted, so no parts are left behind.
 */
export class JsonLinesWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private uploadId: string | undefined;
  private readonly parts: { ETag: string | undefined; PartNumber: number }[] = [];
  lines = 0;
  bytes = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly options: { signal?: AbortSignal; onPart?: (bytes: number) => void } = {},
  ) {}

  /** Appends one line; resolves at once unless a part is due, then once it is uploaded. */
  async write(value: unknown): Promise<void> {
    const line = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.lines++;
    this.bytes += line.length;
    if (this.pendingBytes >= PART_BYTES) await this.uploadPart();
  }

  /** Uploads what is left and completes the object. */
  async close(): Promise<void> {
    try {
      if (this.uploadId === undefined) {
        await ensureBucket(this.s3, this.bucket);
        await this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key,
            Body: Buffer.concat(this.pending),
            ContentType: 'application/x-ndjson',
          }),
          { abortSignal: this.options.signal },
        );
        this.pending = [];
        this.pendingBytes = 0;
        return;
      }
      if (this.pendingBytes > 0) await this.uploadPart();
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: this.parts },
        }),
        { abortSignal: this.options.signal },
      );
      this.uploadId = undefined;
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Drops a multipart upload in progress (best effort: S3 also expires abandoned uploads). */
  async abort(): Promise<void> {
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    if (uploadId === undefined) return;
    await this.s3
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }))
      .catch(() => undefined);
  }

  private async uploadPart(): Promise<void> {
    try {
      if (this.uploadId === undefined) {
        await ensureBucket(this.s3, this.bucket);
        const created = await this.s3.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.key,
            ContentType: 'application/x-ndjson',
          }),
          { abortSignal: this.options.signal },
        );
        if (!created.UploadId) throw new Error(`S3 gave no upload id for s3://${this.bucket}/${this.key}`);
        this.uploadId = created.UploadId;
      }
      const body = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      const partNumber = this.parts.length + 1;
      const uploaded = await this.s3.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: body,
        }),
        { abortSignal: this.options.signal },
      );
      this.parts.push({ ETag: uploaded.ETag, PartNumber: partNumber });
      this.options.onPart?.(this.bytes);
    } catch (error) {
      await this.abort();
      throw error;
    }
  }
}

/**
 * The values stored at `bucket/key`, one at a time: JSON Lines streamed and parsed line by line, or
 * (for keys ending in `.json`, as written before JSON Lines) a JSON array parsed whole.
 */
export async function* readJsonValues<T>(
  s3: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
    abortSignal: signal,
  });
  const body = response.Body as Readable | undefined;
  if (!body) throw new Error(`empty body for s3://${bucket}/${key}`);
  if (key.endsWith('.json')) {
    const text = await (
      response.Body as { transformToString(encoding: string): Promise<string> }
    ).transformToString('utf8');
    for (const value of JSON.parse(text) as T[]) yield value;
    return;
  }
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  try {
    for await (const piece of body) {
      rest += decoder.decode(piece as Uint8Array, { stream: true });
      let newline = rest.indexOf('\n');
      let from = 0;
      while (newline !== -1) {
        const line = rest.slice(from, newline);
        if (line.trim()) yield JSON.parse(line) as T;
        from = newline + 1;
        newline = rest.indexOf('\n', from);
      }
      rest = rest.slice(from);
    }
    rest += decoder.decode();
    if (rest.trim()) yield JSON.parse(rest) as T;
  } finally {
    // A consumer that stops early (superseded, cancelled) must not leave the socket open.
    body.destroy();
  }
}
