/**
 * Proves each server of the stack is really used: a workflow on Temporal with a real worker, a JetStream
 * publish + consume-with-ack, an S3 put/get on SeaweedFS, migrations and a query on PostgreSQL.
 * When a server is down, each test fails with the server's name and address.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  bundleWorkflowCode,
  NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/clients/nats.js';
import { createS3Client } from '../../src/clients/s3.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { dropBucket } from '../support/pipeline.js';
import * as smokeActivities from '../support/smoke-activities.js';
import { isolatedConfig } from '../support/test-stack.js';

const cfg = isolatedConfig('smoke');
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  bundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../support/workflows/smoke.ts', import.meta.url)),
    logger: {
      log: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: console.error,
      debug: () => undefined,
      trace: () => undefined,
    },
  });
});

describe('local stack smoke tests (real servers)', () => {
  it('runs a workflow on the Temporal server with a real worker', async () => {
    const client = await connectTemporal(cfg);
    const connection = await NativeConnection.connect({ address: cfg.temporal.address });
    const taskQueue = `${cfg.temporal.taskQueuePrefix}-smoke`;
    const worker = await Worker.create({
      connection,
      namespace: cfg.temporal.namespace,
      taskQueue,
      workflowBundle: bundle,
      activities: smokeActivities,
    });
    try {
      const result = await worker.runUntil(
        client.workflow.execute('smokeWorkflow', {
          taskQueue,
          workflowId: `smoke-${randomUUID()}`,
          args: ['p8fs'],
        }),
      );
      expect(result).toBe(`hello p8fs from pid ${process.pid}`);
    } finally {
      await connection.close();
      await client.connection.close();
    }
  });

  it('publishes to a JetStream stream and consumes with ack', async () => {
    const nc = await connectNats(cfg, 'smoke-test');
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: cfg.nats.eventsStream, subjects: [`${cfg.nats.eventsSubject}.>`] });
      await jsm.consumers.add(cfg.nats.eventsStream, {
        durable_name: 'smoke',
        ack_policy: AckPolicy.Explicit,
      });
      const js = jetstream(nc);
      const ack = await js.publish(`${cfg.nats.eventsSubject}.smoke`, JSON.stringify({ hello: 'jetstream' }));
      expect(ack.stream).toBe(cfg.nats.eventsStream);
      const consumer = await js.consumers.get(cfg.nats.eventsStream, 'smoke');
      const message = await consumer.next({ expires: 5000 });
      expect(message?.json()).toEqual({ hello: 'jetstream' });
      message?.ack();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const info = await consumer.info(false);
      expect(info.num_ack_pending).toBe(0);
      expect(info.ack_floor.stream_seq).toBe(ack.seq);
      await jsm.streams.delete(cfg.nats.eventsStream);
    } finally {
      await nc.close();
    }
  });

  it('puts and gets an object through SeaweedFS S3', async () => {
    const s3 = createS3Client(cfg);
    const body = `smoke ${randomUUID()}`;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: cfg.s3.derivedBucket }));
      await s3.send(
        new PutObjectCommand({ Bucket: cfg.s3.derivedBucket, Key: 'smoke/hello.txt', Body: body }),
      );
      const got = await s3.send(
        new GetObjectCommand({ Bucket: cfg.s3.derivedBucket, Key: 'smoke/hello.txt' }),
      );
      expect(await got.Body?.transformToString()).toBe(body);
    } catch (error) {
      throw new Error(
        `SeaweedFS S3 at ${cfg.s3.endpoint}: ${(error as Error).message || (error as Error).name}`,
      );
    } finally {
      await dropBucket(s3, cfg.s3.derivedBucket).catch(() => undefined);
      s3.destroy();
    }
  });

  describe('PostgreSQL', () => {
    let pool: pg.Pool;
    beforeAll(async () => {
      pool = await createTestDatabase(cfg);
    });
    afterAll(async () => {
      if (pool) await dropTestDatabase(cfg, pool);
    });

    it('migrates and queries the schema', async () => {
      const tables = await pool.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining([
          'dreams',
          'errors',
          'files',
          'jobs',
          'moments',
          'resources',
          'schema_migrations',
        ]),
      );
      const version = await pool.query<{ v: string }>('SELECT version() AS v');
      expect(version.rows[0]?.v).toMatch(/PostgreSQL/);
    });
  });
});
