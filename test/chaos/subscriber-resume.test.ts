/**
 * The subscriber SIGKILLed in the middle of a 300-object upload and started again: every object is
 * ingested exactly once (real SeaweedFS, NATS, Temporal, PostgreSQL). The subscriber runs as a
 * `p8fs seaweed-events` child process on this file's isolated names; its cursor lives in NATS KV.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { type RunningCli, startCli } from '../support/cli.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

type Started = Extract<RouteResult, { kind: 'started' }>;

const OBJECTS = 300;
const tenant = uniqueTenant('resume');
const env = isolatedEnv('resume', {
  P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
  P8FS_SUBSCRIBER_HEALTH_PORT: '0',
});
env.P8FS_SUBSCRIBER_CURSOR_BUCKET = `cursor-${env.P8FS_TASK_QUEUE_PREFIX}`;
const childEnv = { ...env, P8FS_LOG_LEVEL: 'info', P8FS_LOG_FORMAT: 'json' };

let p: Pipeline;
const children: RunningCli[] = [];

beforeAll(async () => {
  p = await createPipeline('resume', {}, env);
  await p.startWorkers(['small']);
  await p.startBridge();
  await p.putObject(tenant, '.keep-bucket', '');
}, 60_000);

afterAll(async () => {
  for (const child of children) if (child.child.exitCode === null) child.child.kill('SIGKILL');
  await new Kvm(p.nc)
    .open(env.P8FS_SUBSCRIBER_CURSOR_BUCKET as string)
    .then((kv) => kv.destroy())
    .catch(() => undefined);
  await p?.close();
});

function startSubscriber(): RunningCli {
  const child = startCli(['seaweed-events'], childEnv);
  children.push(child);
  return child;
}

async function storedEvents(): Promise<number> {
  const jsm = await jetstreamManager(p.nc);
  return (await jsm.streams.info(p.cfg.nats.eventsStream)).state.messages;
}

describe('subscriber restart', () => {
  it('SIGKILL during a 300-object upload, restart → every object ingested exactly once', async () => {
    const began = Date.now();
    const first = startSubscriber();
    await first.waitFor(/subscriber cursor/, 60_000);

    const keys = Array.from({ length: OBJECTS }, (_, i) => `batch/object-${String(i).padStart(3, '0')}.txt`);
    let next = 0;
    const uploads = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < keys.length) {
          const key = keys[next++] as string;
          await p.s3.send(
            new PutObjectCommand({
              Bucket: tenant,
              Key: key,
              Body: `Object ${key} holds one short sentence of text.`,
              ContentType: 'text/plain',
            }),
          );
        }
      }),
    );

    // Kill it once part of the upload went through, while objects are still arriving.
    await eventually(
      'some events published',
      async () => ((await storedEvents()) >= 60 ? true : undefined),
      60_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = await storedEvents();
    const uploadedAtKill = next;
    await uploads;
    const second = startSubscriber();

    await eventually(
      'all objects published',
      async () => ((await storedEvents()) >= OBJECTS ? true : undefined),
      60_000,
    );
    const rows = await eventually(
      'all files rows completed',
      async () => {
        const r = await p.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM files WHERE tenant_id = $1 AND status = 'completed'",
          [tenant],
        );
        return (r.rows[0]?.n ?? 0) >= OBJECTS ? r.rows[0]?.n : undefined;
      },
      90_000,
    );
    // Let a late duplicate show up if there were one.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    expect(rows).toBe(OBJECTS);
    const all = await p.pool.query<{ n: number; paths: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT path)::int AS paths FROM files WHERE tenant_id = $1',
      [tenant],
    );
    expect(all.rows[0]).toEqual({ n: OBJECTS, paths: OBJECTS });
    // One stored event per object: the replay after the restart was dropped by its Nats-Msg-Ids.
    expect(await storedEvents()).toBe(OBJECTS);
    const started = p.results.filter((r): r is Started => r.kind === 'started');
    expect(started).toHaveLength(OBJECTS);
    expect(new Set(started.map((r) => r.event.path)).size).toBe(OBJECTS);
    expect(started.every((r) => r.event.type === 'create')).toBe(true);
    const jobs = await p.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1',
      [tenant],
    );
    expect(jobs.rows[0]?.n).toBe(OBJECTS);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    console.log(
      `[subscriber-resume] killed at ${atKill} events stored, ${uploadedAtKill} uploads begun; ${OBJECTS} ingested once in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
  }, 240_000);
});
