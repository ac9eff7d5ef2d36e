/**
 * NATS stopped for 10 s while uploads go on, then started again: the subscriber says it is degraded,
 * reconnects by itself and publishes every upload exactly once, nothing missed (real SeaweedFS and a real
 * NATS server). NATS is a PRIVATE `nats-server` of this file (same data folder across the restart, as a
 * real restart keeps it); the shared test stack's NATS is never stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/clients/nats.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { ensureStreams } from '../../src/events/streams.js';
import { natsServer } from '../../src/stack/nats-server.js';
import { waitFor } from '../../src/stack/processes.js';
import type { ServerSpec } from '../../src/stack/servers.js';
import { Subscriber } from '../../src/subscriber/subscriber.js';
import { eventually } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const tenant = uniqueTenant('natsout');
const stackDir = mkdtempSync(join(tmpdir(), 'p8fs-nats-outage-'));
let nats: ServerSpec;
let cfg: Config;
let s3: S3Client;
let subscriber: Subscriber;
let healthPort: number;

async function startNats(): Promise<void> {
  await nats.start();
  const ready = await waitFor(() => nats.probe(), 30_000);
  if (!ready.ok) throw new Error(`private NATS did not start: ${ready.detail}`);
}

beforeAll(async () => {
  const clientPort = await freePort();
  const monitorPort = await freePort();
  healthPort = await freePort();
  const base = isolatedEnv('natsout');
  cfg = loadConfig({
    ...base,
    P8FS_NATS_URL: `nats://127.0.0.1:${clientPort}`,
    P8FS_NATS_MONITOR_URL: `http://127.0.0.1:${monitorPort}`,
    P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
    P8FS_SUBSCRIBER_HEALTH_PORT: String(healthPort),
    P8FS_SUBSCRIBER_CURSOR_BUCKET: `cursor-${base.P8FS_TASK_QUEUE_PREFIX}`,
  });
  nats = natsServer(cfg, stackDir);
  await startNats();
  const nc = await connectNats(cfg, 'test-nats-outage-setup');
  await ensureStreams(await jetstreamManager(nc), cfg);
  await nc.close();
  s3 = createS3Client(cfg);
  await s3.send(new CreateBucketCommand({ Bucket: tenant }));
  subscriber = await Subscriber.create(cfg, pino({ level: 'silent' }));
  subscriber.start();
  await subscriber.positioned;
}, 90_000);

afterAll(async () => {
  await subscriber?.stop();
  s3?.destroy();
  await nats?.stop();
  rmSync(stackDir, { recursive: true, force: true });
});

async function storedPaths(nc: NatsConnection): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(cfg.nats.eventsStream);
  const paths: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const message = await jsm.streams.getMessage(cfg.nats.eventsStream, { seq });
    if (message) paths.push(String(message.json<Record<string, unknown>>().path));
  }
  return paths;
}

async function health(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${healthPort}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const put = (key: string) =>
  s3.send(new PutObjectCommand({ Bucket: tenant, Key: key, Body: `${key}\n`, ContentType: 'text/plain' }));

describe('filer subscriber across a NATS outage', () => {
  it('NATS down for 10 s during uploads → degraded, then every upload published exactly once', async () => {
    const path = (name: string) => `/buckets/${tenant}/docs/${name}`;
    await put('docs/before.txt');
    let nc = await connectNats(cfg, 'test-nats-outage');
    await eventually('the first upload to be published', async () =>
      (await storedPaths(nc)).includes(path('before.txt')) ? true : undefined,
    );
    await nc.close();

    await nats.stop();
    const stoppedAt = Date.now();
    await put('docs/during-1.txt');
    await put('docs/during-2.txt');
    const degraded = await eventually('health to report NATS away', async () => {
      const h = await health();
      return h.status === 503 ? h : undefined;
    });
    expect(degraded.body.nats).toBe('reconnecting');
    await sleep(Math.max(0, 10_000 - (Date.now() - stoppedAt)));
    await startNats();

    nc = await connectNats(cfg, 'test-nats-outage-after');
    try {
      const paths = await eventually(
        'the uploads made during the outage to be published',
        async () => {
          const all = await storedPaths(nc);
          return all.includes(path('during-2.txt')) ? all : undefined;
        },
        60_000,
      );
      const ours = paths.filter((p) => p.startsWith(`/buckets/${tenant}/docs/`));
      expect(ours.sort()).toEqual([path('before.txt'), path('during-1.txt'), path('during-2.txt')]);
      const after = await eventually('health to be ok again', async () => {
        const h = await health();
        return h.status === 200 ? h : undefined;
      });
      expect(after.body.nats).toBe('connected');
      console.log(
        `[subscriber-nats-outage] NATS away ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s; ${ours.length} uploads, each published once; reconnects ${subscriber.counters.reconnects}, duplicates dropped by msg id ${subscriber.counters.duplicates}`,
      );
    } finally {
      await nc.close();
    }
  }, 150_000);
});
