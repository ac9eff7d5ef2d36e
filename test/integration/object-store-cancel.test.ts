/**
 * A cancelled activity stops its download (real SeaweedFS): the object store honours the activity's
 * cancellation signal in the request and in the stream to disk.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadToFile } from '../../src/clients/object-store.js';
import { createS3Client } from '../../src/clients/s3.js';
import { dropBucket } from '../support/pipeline.js';
import { isolatedConfig, uniqueTenant } from '../support/test-stack.js';

const SIZE = 48 * 1024 * 1024;
const bucket = uniqueTenant('cancel');
const dir = mkdtempSync(join(tmpdir(), 'p8fs-cancel-'));
let s3: S3Client;

beforeAll(async () => {
  s3 = createS3Client(isolatedConfig('cancel'));
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'big.bin',
      Body: Buffer.alloc(SIZE, 7),
      ContentLength: SIZE,
    }),
  );
}, 120_000);

afterAll(async () => {
  await dropBucket(s3, bucket).catch(() => undefined);
  s3.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('object store downloads and cancellation (real SeaweedFS)', () => {
  it('downloads the whole object when not cancelled', async () => {
    const target = join(dir, 'whole.bin');
    const done = await downloadToFile(s3, bucket, 'big.bin', target);
    expect(done.bytes).toBe(SIZE);
    expect(statSync(target).size).toBe(SIZE);
  });

  it('stops a download when its signal aborts, leaving the rest unread', async () => {
    const controller = new AbortController();
    const target = join(dir, 'cancelled.bin');
    let seen = 0;
    const download = downloadToFile(
      s3,
      bucket,
      'big.bin',
      target,
      (bytes) => {
        seen = bytes;
        // Cancel as soon as the first bytes arrive, as Temporal does when the workflow is cancelled.
        if (!controller.signal.aborted) controller.abort(new Error('activity cancelled'));
      },
      controller.signal,
    );
    await expect(download).rejects.toThrow();
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(SIZE);
  });

  it('does not start a download whose signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled before it began'));
    await expect(
      downloadToFile(s3, bucket, 'big.bin', join(dir, 'never.bin'), () => undefined, controller.signal),
    ).rejects.toThrow();
  });
});
