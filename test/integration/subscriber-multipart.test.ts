/**
 * A multipart upload (parts, then complete) → one storage event from the filer, one workflow, routed by
 * the final object's size (real SeaweedFS, NATS, Temporal, PostgreSQL).
 *
 * 200 MiB in 20 parts with the default tier thresholds (small ≤ 100 MiB), so the final size alone makes it
 * a medium-tier file while every part would have been small. The object is binary data (`.bin`), so the
 * run ends as soon as the worker has looked at it: what is measured here is the event path, not text
 * extraction of 200 MiB (that is the content issue's streaming test and bench).
 */

import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { eventually, type Pipeline } from '../support/pipeline.js';
import { createSubscribedPipeline, type SubscribedPipeline } from '../support/subscriber.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

type Started = Extract<RouteResult, { kind: 'started' }>;

const MiB = 1024 * 1024;
const tenant = uniqueTenant('multipart');
const env = isolatedEnv('multipart', {
  P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
  P8FS_SUBSCRIBER_HEALTH_PORT: '0',
});
env.P8FS_SUBSCRIBER_CURSOR_BUCKET = `cursor-${env.P8FS_TASK_QUEUE_PREFIX}`;

let p: Pipeline;
let running: SubscribedPipeline | undefined;

beforeAll(async () => {
  running = await createSubscribedPipeline('multipart', env, tenant, ['small', 'medium']);
  p = running.p;
}, 60_000);

afterAll(async () => {
  await running?.close();
});

/** A 10 MiB part: random bytes (incompressible, like real media) with the part number stamped in front. */
function partOf(index: number, bytes: number): Buffer {
  const body = randomBytes(bytes);
  body.write(`part ${index}\n`, 0, 'latin1');
  return body;
}

describe('multipart upload through the filer subscriber', () => {
  it('200 MiB in 20 parts then complete → one event, one workflow on the medium tier', async () => {
    const began = Date.now();
    const key = 'large/multipart.bin';
    const path = `/buckets/${tenant}/${key}`;
    const partCount = 20;
    const partBytes = 10 * MiB;
    const total = partCount * partBytes;
    expect(total).toBeGreaterThan(p.cfg.tiers.smallMaxBytes);
    const upload = await p.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: tenant,
        Key: key,
        ContentType: 'application/octet-stream',
      }),
    );
    const etags: string[] = [];
    for (let index = 0; index < partCount; index++) {
      const part = await p.s3.send(
        new UploadPartCommand({
          Bucket: tenant,
          Key: key,
          UploadId: upload.UploadId,
          PartNumber: index + 1,
          Body: partOf(index + 1, partBytes),
        }),
      );
      etags.push(part.ETag ?? '');
    }
    const uploadedAt = Date.now();
    await p.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: tenant,
        Key: key,
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );

    // Binary data ends in a terminal state either way: a metadata resource, or failed with its reason.
    const row = await eventually(
      'the multipart object to reach a terminal state',
      async () => {
        const r = await p.pool.query<{ status: string; file_size: string }>(
          'SELECT status, file_size::text FROM files WHERE path = $1',
          [path],
        );
        const found = r.rows[0];
        return found && ['completed', 'failed'].includes(found.status) ? found : undefined;
      },
      110_000,
    );
    expect(Number(row.file_size)).toBe(total);

    // Every event the subscriber stored for this tenant: the bucket's marker object and the final object.
    const jsm = await jetstreamManager(p.nc);
    const info = await jsm.streams.info(p.cfg.nats.eventsStream);
    const events: Record<string, unknown>[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(p.cfg.nats.eventsStream, { seq });
      if (message) events.push(message.json<Record<string, unknown>>());
    }
    const ofObject = events.filter((e) => String(e.path).startsWith(`/buckets/${tenant}/large/`));
    expect(ofObject).toHaveLength(1);
    expect(ofObject[0]).toMatchObject({ event_type: 'create', path, size: total, source: 'seaweedfs-filer' });
    const started = p.results.filter((r): r is Started => r.kind === 'started' && r.event.path === path);
    expect(started).toHaveLength(1);
    expect(started[0]?.tier).toBe('medium');
    expect(running?.subscriber.skippedByReason.get('multipart-part')).toBeGreaterThanOrEqual(2);
    console.log(
      `[subscriber-multipart] ${total / MiB} MiB in ${partCount} parts uploaded in ${((uploadedAt - began) / 1000).toFixed(1)} s → 1 event, 1 medium run (${row.status}) ${((Date.now() - uploadedAt) / 1000).toFixed(1)} s later`,
    );
  }, 170_000);
});
