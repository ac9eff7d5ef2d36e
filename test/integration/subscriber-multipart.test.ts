/**
 * A multipart upload (parts, then complete) → one storage event from the filer, one workflow, routed by
 * the final object's size (real SeaweedFS, NATS, Temporal, PostgreSQL).
 *
 * Smaller than the 200 MiB on purpose: the tier thresholds are lowered instead
 * (P8FS_TIER_SMALL_MAX_BYTES = 1 MiB, P8FS_TIER_MEDIUM_MAX_BYTES = 64 MiB), so a 6 MiB object uploaded as
 * two parts (5 MiB + 1 MiB) is routed by its final size: a
 * medium-tier file, and the test stays quick on two cores.
 */
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
  P8FS_WORKFLOW_BUNDLE: 'source',
  P8FS_TIER_SMALL_MAX_BYTES: String(MiB),
  P8FS_TIER_MEDIUM_MAX_BYTES: String(64 * MiB),
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

/** Text of exactly `bytes` bytes: varied words, so chunks are realistic. */
function textOf(bytes: number, seed: string): Buffer {
  const words = ['river', 'stone', 'lantern', 'harbor', 'meadow', 'signal', 'copper', 'orchard'];
  let out = '';
  let i = 0;
  while (out.length < bytes) {
    out += `${seed} ${words[i % words.length]} ${i}. `;
    i += 1;
  }
  return Buffer.from(out.slice(0, bytes));
}

describe('multipart upload through the filer subscriber', () => {
  it('parts then complete → one event, one workflow on the medium tier', async () => {
    const began = Date.now();
    const key = 'large/multipart.txt';
    const path = `/buckets/${tenant}/${key}`;
    const parts = [textOf(5 * MiB, 'first'), textOf(MiB, 'second')];
    const total = parts.reduce((n, b) => n + b.length, 0);
    const upload = await p.s3.send(
      new CreateMultipartUploadCommand({ Bucket: tenant, Key: key, ContentType: 'text/plain' }),
    );
    const etags: string[] = [];
    for (const [index, body] of parts.entries()) {
      const part = await p.s3.send(
        new UploadPartCommand({
          Bucket: tenant,
          Key: key,
          UploadId: upload.UploadId,
          PartNumber: index + 1,
          Body: body,
        }),
      );
      etags.push(part.ETag ?? '');
    }
    await p.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: tenant,
        Key: key,
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );

    const row = await eventually(
      'the multipart object to be ingested',
      async () => {
        const r = await p.pool.query<{ status: string; size: string; resources: number }>(
          `SELECT f.status, (SELECT count(*)::int FROM resources r WHERE r.file_id = f.id) AS resources
           FROM files f WHERE f.path = $1`,
          [path],
        );
        const found = r.rows[0];
        if (found?.status === 'failed') throw new Error('ingestion failed');
        return found?.status === 'completed' ? found : undefined;
      },
      110_000,
    );
    expect(row.resources).toBeGreaterThan(0);

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
      `[subscriber-multipart] ${total} bytes in ${parts.length} parts → 1 event, 1 medium run in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
  }, 150_000);
});
