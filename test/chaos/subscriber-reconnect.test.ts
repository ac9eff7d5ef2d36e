/**
 * The filer stopped for 10 s and started again: the subscriber reconnects by itself and misses nothing
 * (real SeaweedFS and NATS). The filer is a PRIVATE `weed server` of this file: the shared test stack's
 * SeaweedFS is never stopped, since other files use it in parallel.
 */
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/clients/nats.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { ensureStreams } from '../../src/events/streams.js';
import { Subscriber } from '../../src/subscriber/subscriber.js';
import { eventually } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { createPrivateSeaweedfs, type PrivateSeaweedfs } from '../support/private-seaweedfs.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const tenant = uniqueTenant('reconnect');
let weed: PrivateSeaweedfs;
let cfg: Config;
let nc: NatsConnection;
let s3: S3Client;
let subscriber: Subscriber;
let healthPort: number;

beforeAll(async () => {
  const base = isolatedEnv('reconnect');
  weed = await createPrivateSeaweedfs(
    base.P8FS_S3_ACCESS_KEY ?? 'p8fs-local-access',
    base.P8FS_S3_SECRET_KEY ?? 'p8fs-local-secret',
  );
  await weed.start();
  healthPort = await freePort();
  cfg = loadConfig({
    ...base,
    P8FS_SEAWEEDFS_ENDPOINT: weed.s3Endpoint,
    P8FS_SEAWEEDFS_FILER: weed.filerUrl,
    P8FS_SEAWEEDFS_FILER_GRPC: weed.filerGrpc,
    P8FS_SUBSCRIBER_HEALTH_PORT: String(healthPort),
    P8FS_SUBSCRIBER_CURSOR_BUCKET: `cursor-${base.P8FS_TASK_QUEUE_PREFIX}`,
  });
  nc = await connectNats(cfg, 'test-reconnect');
  await ensureStreams(await jetstreamManager(nc), cfg);
  s3 = createS3Client(cfg);
  await s3.send(new CreateBucketCommand({ Bucket: tenant }));
  subscriber = await Subscriber.create(cfg, pino({ level: 'silent' }));
  subscriber.start();
}, 90_000);

afterAll(async () => {
  await subscriber?.stop();
  if (nc) {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(cfg.nats.eventsStream).catch(() => undefined);
    await jsm.streams.delete(cfg.nats.dlqStream).catch(() => undefined);
    await new Kvm(nc)
      .open(cfg.subscriber.cursorBucket)
      .then((kv) => kv.destroy())
      .catch(() => undefined);
    await nc.close();
  }
  s3?.destroy();
  await weed?.destroy();
});

async function storedPaths(): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(cfg.nats.eventsStream);
  const paths: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const message = await jsm.streams.getMessage(cfg.nats.eventsStream, { seq });
    if (message) paths.push(String(message.json<Record<string, unknown>>().path));
  }
  return paths;
}

async function health(): Promise<{ code: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${healthPort}/health`);
  return { code: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function put(key: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: tenant, Key: key, Body: `contents of ${key}`, ContentType: 'text/plain' }),
  );
}

describe('subscriber and a filer that goes away', () => {
  it('filer stopped 10 s and restarted → reconnects by itself, misses nothing', async () => {
    const began = Date.now();
    const before = ['a/1.txt', 'a/2.txt', 'a/3.txt'];
    for (const key of before) await put(key);
    await eventually('the first events', async () => ((await storedPaths()).length >= 3 ? true : undefined));
    expect((await health()).body).toMatchObject({ status: 'ok', filer: 'subscribed', nats: 'connected' });

    await weed.stop();
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const reconnectsWhileDown = subscriber.counters.reconnects;
    expect(reconnectsWhileDown).toBeGreaterThan(0);
    const down = await health();
    expect(down.code).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(String(down.body.filer)).toMatch(/^reconnecting/);
    await weed.start();
    const downFor = Date.now() - stoppedAt;

    const after = ['b/1.txt', 'b/2.txt', 'b/3.txt'];
    for (const key of after) await put(key);
    const paths = await eventually(
      'the events after the restart',
      async () => {
        const found = await storedPaths();
        return found.length >= 6 ? found : undefined;
      },
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const final = await storedPaths();
    const expected = [...before, ...after].map((key) => `/buckets/${tenant}/${key}`);
    expect(final.sort()).toEqual(expected.sort());
    expect(paths.length).toBe(6);
    expect((await health()).body).toMatchObject({ status: 'ok', filer: 'subscribed' });
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    expect(metrics).toMatch(/^p8fs_subscriber_published_total 6$/m);
    expect(metrics).toMatch(/^p8fs_subscriber_reconnects_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^p8fs_subscriber_skipped_by_reason_total\{reason="directory"\} \d+$/m);
    expect(metrics).toMatch(/^p8fs_subscriber_lag_seconds [\d.e-]+$/m);
    expect(metrics).toMatch(/^p8fs_subscriber_filer_connected 1$/m);
    console.log(
      `[subscriber-reconnect] filer down ${(downFor / 1000).toFixed(1)} s, ${subscriber.counters.reconnects} resubscriptions, ${final.length} events, ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
  }, 120_000);
});
