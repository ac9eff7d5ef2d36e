/**
 * The whole ingestion pipeline in a test file, on the real test stack with isolated names: bridge,
 * storage workers for the three tiers, and clients to publish events and inspect results.
 */
import { DeleteBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { pino } from 'pino';
import { Bridge } from '../../src/bridge/bridge.js';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { connectNats } from '../../src/clients/nats.js';
import { deletePrefix, putCreatingBucket } from '../../src/clients/object-store.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import type { Tier } from '../../src/domain/tiers.js';
import type { DeadLetter } from '../../src/events/dead-letter.js';
import { ensureStreams } from '../../src/events/streams.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { createStorageWorkers, type StorageWorkers } from '../../src/workers/storage-worker.js';
import { createTestDatabase, dropTestDatabase } from './database.js';
import { isolatedConfig } from './test-stack.js';

export interface Pipeline {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
  nc: NatsConnection;
  js: JetStreamClient;
  temporal: Client;
  bridge?: Bridge;
  workers?: StorageWorkers;
  results: RouteResult[];
  startBridge(): Promise<Bridge>;
  stopBridge(): Promise<void>;
  startWorkers(tiers?: Tier[]): Promise<StorageWorkers>;
  stopWorkers(): Promise<void>;
  putObject(bucket: string, key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  publish(event: unknown, msgId?: string): Promise<number>;
  deadLetters(): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

/**
 * `prepared`: a complete environment from `isolatedEnv()`, for tests that also hand it to child processes
 * (e.g. a `p8fs worker` they kill), so both sides use the very same names; `env` still applies on top.
 */
export async function createPipeline(
  label: string,
  env: Record<string, string> = {},
  prepared?: Record<string, string | undefined>,
): Promise<Pipeline> {
  const cfg = prepared ? loadConfig({ ...prepared, ...env }) : isolatedConfig(label, env);
  const pool = await createTestDatabase(cfg);
  const s3 = createS3Client(cfg);
  const nc = await connectNats(cfg, `test-${label}`);
  await ensureStreams(await jetstreamManager(nc), cfg);
  const js = jetstream(nc);
  const temporal = await connectTemporal(cfg);
  let workersRun: Promise<void> | undefined;
  const buckets = new Set<string>();
  const p: Pipeline = {
    cfg,
    pool,
    s3,
    nc,
    js,
    temporal,
    results: [],
    async startBridge() {
      const bridge = await Bridge.create(cfg, pino({ level: 'silent' }));
      bridge.onResult = (result) => p.results.push(result);
      bridge.start();
      p.bridge = bridge;
      return bridge;
    },
    async stopBridge() {
      await p.bridge?.stop();
      p.bridge = undefined;
    },
    async startWorkers(tiers: Tier[] = ['small', 'medium', 'large']) {
      const workers = await createStorageWorkers(cfg, tiers);
      workersRun = workers.run();
      p.workers = workers;
      return workers;
    },
    async stopWorkers() {
      p.workers?.shutdown();
      await workersRun;
      p.workers = undefined;
    },
    async putObject(bucket, key, body, contentType) {
      // Creates the bucket on first use, as the product does (and retries SeaweedFS's late NoSuchBucket).
      buckets.add(bucket);
      await putCreatingBucket(s3, bucket, () =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType })),
      );
    },
    async publish(event, msgId) {
      const payload = typeof event === 'string' ? event : JSON.stringify(event);
      const ack = await js.publish(cfg.nats.eventsSubject, payload, msgId ? { msgID: msgId } : undefined);
      return ack.seq;
    },
    async deadLetters() {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(cfg.nats.dlqStream);
      const letters: DeadLetter[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const msg = await jsm.streams.getMessage(cfg.nats.dlqStream, { seq }).catch(() => null);
        if (msg) letters.push(msg.json<DeadLetter>());
      }
      return letters;
    },
    async close() {
      await p.stopBridge();
      await p.stopWorkers();
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(cfg.nats.eventsStream).catch(() => undefined);
      await jsm.streams.delete(cfg.nats.dlqStream).catch(() => undefined);
      await jsm.streams.delete(cfg.nats.testStream).catch(() => undefined);
      await nc.close();
      await temporal.connection.close();
      // Every SeaweedFS bucket is a collection holding volumes: drop the test's buckets to free them.
      for (const bucket of [...buckets, cfg.s3.derivedBucket])
        await dropBucket(s3, bucket).catch(() => undefined);
      s3.destroy();
      await dropTestDatabase(cfg, pool);
    },
  };
  return p;
}

/** Empties and deletes a bucket: in SeaweedFS every bucket is a collection that holds volumes. */
export async function dropBucket(s3: S3Client, bucket: string): Promise<void> {
  await deletePrefix(s3, bucket, '');
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
  );
}
