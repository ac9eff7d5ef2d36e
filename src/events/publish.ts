/**
 * Producer side: upload a local file to SeaweedFS and publish its storage event, with a Nats-Msg-Id
 * derived from the path and the object's etag so a retried publish is stored once by JetStream.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { JetStreamClient } from '@nats-io/jetstream';
import { ensureBucket } from '../clients/object-store.js';
import { mimeTypeForFileName } from '../domain/provider-catalog.js';

export interface UploadedObject {
  bucket: string;
  key: string;
  path: string;
  size: number;
  mimeType: string;
  etag: string;
}

export async function uploadFile(
  s3: S3Client,
  file: string,
  tenant: string,
  category = 'uploads',
): Promise<UploadedObject> {
  const { size } = await stat(file);
  const key = `${category}/${basename(file)}`;
  const mimeType = mimeTypeForFileName(file);
  await ensureBucket(s3, tenant);
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: tenant,
      Key: key,
      Body: createReadStream(file),
      ContentLength: size,
      ContentType: mimeType,
    }),
  );
  return {
    bucket: tenant,
    key,
    path: `/buckets/${tenant}/${key}`,
    size,
    mimeType,
    etag: (put.ETag ?? '').replace(/"/g, ''),
  };
}

/** The seeds' manual event shape, as `nats pub` users send it. */
export function createEventFor(object: UploadedObject): Record<string, unknown> {
  return { event_type: 'create', path: object.path, size: object.size, mime_type: object.mimeType };
}

export async function publishEvent(
  js: JetStreamClient,
  subject: string,
  event: Record<string, unknown>,
  msgId?: string,
): Promise<{ seq: number; duplicate: boolean }> {
  const ack = await js.publish(subject, JSON.stringify(event), msgId ? { msgID: msgId } : undefined);
  return { seq: ack.seq, duplicate: ack.duplicate };
}
