/**
 * Our bridge against a NATS set up exactly as the original P8FS router sets it up (a private nats-server,
 * test/support/original-p8fs-nats.ts), with the test stack's Temporal and SeaweedFS: while the original
 * router still pulls, the bridge refuses to start and names the commands; once it stopped, the bridge
 * adopts the WorkQueue stream as it is (removing the idle router consumer, nothing else changed) and
 * serves both an event an old producer left on the main subject and one on a tier subject. Another
 * consumer is named with its `nats consumer rm`. The self-test's stream is its own: an event there is
 * never consumed by the production bridge, and an events stream of ours from an earlier release gives its
 * test subject up. No worker runs: starts are what is checked; the runs are terminated at the end.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  AckPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge } from '../../src/bridge/bridge.js';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { putCreatingBucket } from '../../src/clients/object-store.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { publishEvent } from '../../src/events/publish.js';
import { streamStats } from '../../src/events/stream-stats.js';
import { ensureTestStream } from '../../src/events/streams.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import {
  ORIGINAL_MAIN_STREAM,
  ORIGINAL_MAIN_SUBJECT,
  ORIGINAL_ROUTER_CONSUMER,
  ORIGINAL_TEST_STREAM,
  originalRoutedEvent,
  originalTierStream,
  originalTierSubject,
  type PrivateNats,
  publishAsOriginal,
  setUpAsOriginalRouter,
  simulateRunningRouter,
  startPrivateNats,
} from '../support/original-p8fs-nats.js';
import { dropBucket, eventually } from '../support/pipeline.js';
import { testStackEnv, uniqueTenant } from '../support/test-stack.js';

let nats: PrivateNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let cfg: Config;
let s3: S3Client;
let temporal: Client;
const tenant = uniqueTenant('adopt');
const started: string[] = [];
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  nats = await startPrivateNats();
  nc = await nats.connect();
  jsm = await jetstreamManager(nc);
  await setUpAsOriginalRouter(nc, { testStream: true });
  // The original's names throughout (the defaults); only servers and task queues are the test's.
  cfg = loadConfig({
    ...testStackEnv(),
    P8FS_NATS_URL: nats.url,
    P8FS_NATS_MONITOR_URL: nats.monitorUrl,
    P8FS_TASK_QUEUE_PREFIX: `t-${tenant}`,
    P8FS_DERIVED_BUCKET: `${tenant}-derived`,
  });
  s3 = createS3Client(cfg);
  temporal = await connectTemporal(cfg);
  for (const key of ['uploads/main.txt', 'uploads/tier.txt']) {
    await putCreatingBucket(s3, tenant, () =>
      s3.send(
        new PutObjectCommand({
          Bucket: tenant,
          Key: key,
          Body: `old producer: ${key}`,
          ContentType: 'text/plain',
        }),
      ),
    );
  }
});

afterAll(async () => {
  await Promise.all(
    started.map((id) =>
      temporal.workflow
        .getHandle(id)
        .terminate('nats-adoption test done')
        .catch(() => undefined),
    ),
  );
  await temporal?.connection.close();
  await dropBucket(s3, tenant).catch(() => undefined);
  s3?.destroy();
  await nc?.close();
  await nats?.destroy();
});

/** Why Bridge.create refused to start ('started' if it did not, and then it is stopped at once). */
function bridgeRefusal(): Promise<string> {
  return Bridge.create(cfg, silent).then(
    async (bridge) => {
      await bridge.stop();
      return 'started';
    },
    (error: Error) => error.message,
  );
}

const event = (key: string) => ({
  event_type: 'create',
  path: `/buckets/${tenant}/${key}`,
  tenant_id: tenant,
  size: 100,
  mime_type: 'text/plain',
});

describe('adopting the original P8FS NATS', () => {
  it('refuses to start beside a running original router, naming the commands, and changes nothing', async () => {
    const stopRouter = simulateRunningRouter(nc);
    try {
      await eventually('the router pulling', async () =>
        (await jsm.consumers.info(ORIGINAL_MAIN_STREAM, ORIGINAL_ROUTER_CONSUMER)).num_waiting > 0
          ? true
          : undefined,
      );
      const refusal = await bridgeRefusal();
      expect(refusal).toContain("the original router's consumer tiered-storage-router is in use");
      expect(refusal).toContain('kubectl -n p8fs scale deployment/tiered-storage-router --replicas=0');
      expect(refusal).toContain('nats consumer rm P8FS_STORAGE_EVENTS tiered-storage-router -f');
    } finally {
      await stopRouter();
    }
    const info = await jsm.streams.info(ORIGINAL_MAIN_STREAM);
    expect(info.config.retention).toBe(RetentionPolicy.Workqueue);
    expect(info.config.subjects).toEqual([ORIGINAL_MAIN_SUBJECT]);
    expect((await jsm.consumers.info(ORIGINAL_MAIN_STREAM, ORIGINAL_ROUTER_CONSUMER)).name).toBe(
      ORIGINAL_ROUTER_CONSUMER,
    );
  });

  it('adopts the WorkQueue stream once the router stopped and serves the main and a tier subject', async () => {
    // Left by old producers before the switch: one on the main subject, one the old router had routed.
    await publishAsOriginal(nc, ORIGINAL_MAIN_SUBJECT, event('uploads/main.txt'));
    await publishAsOriginal(
      nc,
      originalTierSubject('small'),
      originalRoutedEvent(event('uploads/tier.txt'), 'small'),
    );
    const results: { result: RouteResult; stream: string }[] = [];
    const bridge = await Bridge.create(cfg, silent);
    bridge.onResult = (result, msg) => results.push({ result, stream: msg.stream });
    bridge.start();
    try {
      await eventually('both events routed', async () => (results.length >= 2 ? true : undefined), 60_000);
    } finally {
      await bridge.stop();
    }
    for (const { result } of results) if ('workflowId' in result) started.push(result.workflowId);
    const byStream = Object.fromEntries(results.map((r) => [r.stream, r.result]));
    expect(byStream[ORIGINAL_MAIN_STREAM]).toMatchObject({ kind: 'started', tier: 'small' });
    expect(byStream[originalTierStream('small')]).toMatchObject({ kind: 'started', tier: 'small' });
    expect(results.map((r) => r.result.kind === 'started' && r.result.event.path).sort()).toEqual([
      `/buckets/${tenant}/uploads/main.txt`,
      `/buckets/${tenant}/uploads/tier.txt`,
    ]);
    // Adopted as it was: retention, subjects and limits unchanged; the idle router consumer gave way.
    const info = await jsm.streams.info(ORIGINAL_MAIN_STREAM);
    expect(info.config).toMatchObject({
      retention: RetentionPolicy.Workqueue,
      subjects: [ORIGINAL_MAIN_SUBJECT],
      max_age: 24 * 3600 * 1e9,
    });
    const consumers: string[] = [];
    for await (const c of jsm.consumers.list(ORIGINAL_MAIN_STREAM)) consumers.push(c.name);
    expect(consumers).toEqual([cfg.nats.bridgeConsumer]);
    // WorkQueue: acked messages leave the stream.
    expect(info.state.messages).toBe(0);
    expect((await jsm.streams.info(originalTierStream('small'))).state.messages).toBe(0);
    // p8fs status lists the original's streams beside ours, so a migration can watch them drain.
    expect(Object.keys((await streamStats(jsm, cfg)).streams)).toEqual(
      expect.arrayContaining([ORIGINAL_MAIN_STREAM, ORIGINAL_TEST_STREAM, originalTierStream('small')]),
    );
  });

  it('names another consumer in the way with its nats consumer rm', async () => {
    await jsm.consumers.delete(ORIGINAL_MAIN_STREAM, cfg.nats.bridgeConsumer);
    await jsm.consumers.add(ORIGINAL_MAIN_STREAM, {
      durable_name: 'audit-reader',
      ack_policy: AckPolicy.Explicit,
    });
    try {
      const refusal = await bridgeRefusal();
      expect(refusal).toContain('consumer audit-reader');
      expect(refusal).toContain('nats consumer rm P8FS_STORAGE_EVENTS audit-reader -f');
      expect(refusal).toContain('P8FS_BRIDGE_CONSUMER=audit-reader');
    } finally {
      await jsm.consumers.delete(ORIGINAL_MAIN_STREAM, 'audit-reader');
    }
  });
});

describe("the self-test's own stream", () => {
  it('keeps self-test events away from the production bridge', async () => {
    await ensureTestStream(jsm, cfg);
    const results: RouteResult[] = [];
    const bridge = await Bridge.create(cfg, silent);
    bridge.onResult = (result) => results.push(result);
    bridge.start();
    try {
      const before = (await jsm.streams.info(ORIGINAL_TEST_STREAM)).state.messages;
      const published = await publishEvent(jetstream(nc), cfg.nats.testSubject, event('uploads/main.txt'));
      expect(published.seq).toBeGreaterThan(0);
      expect((await jsm.streams.info(ORIGINAL_TEST_STREAM)).state.messages).toBe(before + 1);
      // Given time to take it, the production bridge has not.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(results).toEqual([]);
      expect(bridge.counters.received).toBe(0);
    } finally {
      await bridge.stop();
    }
    expect((await jsm.streams.info(ORIGINAL_MAIN_STREAM)).state.messages).toBe(0);
  });

  it('drops the test subject from an events stream of ours from an earlier release', async () => {
    const ours = loadConfig({
      ...testStackEnv(),
      P8FS_NATS_URL: nats.url,
      P8FS_EVENTS_STREAM: 'OURS_EVENTS',
      P8FS_EVENTS_SUBJECT: 'ours.events',
      P8FS_EVENTS_TEST_SUBJECT: 'ours.events.test',
      P8FS_EVENTS_TEST_STREAM: 'OURS_TEST',
      P8FS_DLQ_STREAM: 'OURS_DLQ',
      P8FS_DLQ_SUBJECT: 'ours.events.dlq',
    });
    // As the earlier release made it: Limits, both subjects, a message on each.
    await jsm.streams.add({ name: 'OURS_EVENTS', subjects: ['ours.events', 'ours.events.test'] });
    const js = jetstream(nc);
    await js.publish('ours.events', '{}');
    await js.publish('ours.events.test', '{}');
    const adopted = await ensureTestStream(jsm, ours);
    expect(adopted.find((a) => a.stream === 'OURS_EVENTS')?.changes).toContain(
      'subjects ours.events, ours.events.test → ours.events',
    );
    const events = await jsm.streams.info('OURS_EVENTS');
    expect(events.config.subjects).toEqual(['ours.events']);
    expect(events.state.messages).toBe(2);
    await js.publish('ours.events.test', '{}');
    expect((await jsm.streams.info('OURS_TEST')).state.messages).toBe(1);
    expect((await jsm.streams.info('OURS_EVENTS')).state.messages).toBe(2);
  });
});
