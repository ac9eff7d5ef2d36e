/**
 * Deduplication and bursts through the real bridge, against the real test stack (Temporal, NATS
 * JetStream, SeaweedFS S3, PostgreSQL): duplicated and redelivered events start one workflow and write
 * one set of rows; a burst of distinct events lands every workflow on its tier's task queue.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BridgeCounters, zeroCounters } from '../../src/bridge/bridge.js';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { type Tier, tierForSize } from '../../src/domain/tiers.js';
import { taskQueueFor } from '../../src/temporal/names.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const SMALL_MAX = 1000;
const MEDIUM_MAX = 5000;

let p: Pipeline;

beforeAll(async () => {
  p = await createPipeline('dedup', {
    P8FS_TIER_SMALL_MAX_BYTES: String(SMALL_MAX),
    P8FS_TIER_MEDIUM_MAX_BYTES: String(MEDIUM_MAX),
    // Small chunks so a few paragraphs make several resources rows.
    P8FS_CHUNK_TOKENS: '80',
    P8FS_CHUNK_OVERLAP_TOKENS: '10',
    P8FS_WORKER_CONCURRENCY_SMALL: '8',
    P8FS_WORKER_CONCURRENCY_MEDIUM: '4',
    P8FS_WORKER_CONCURRENCY_LARGE: '4',
  });
  await p.startWorkers();
});

afterAll(async () => {
  await p?.close();
});

afterEach(async () => {
  await p.stopBridge();
});

const SENTENCES = [
  'The storage bridge turns every upload into exactly one durable workflow.',
  'Duplicated events are harmless because the workflow id is derived from the file and its version.',
  'JetStream keeps the backlog while Temporal is away, and nothing is acknowledged too early.',
  'Chunks are stored as resources rows, replaced as a whole and never appended twice.',
  'A redelivered message finds its workflow already started and is simply acknowledged.',
  'Small, medium and large files each go to their own task queue with their own budgets.',
];

/** ASCII prose of exactly `bytes` bytes, different for each seed. */
function prose(seed: number, bytes: number): string {
  let text = `Document ${seed}.`;
  let i = seed;
  while (text.length < bytes) {
    text += i % 4 === 3 ? '\n\n' : ' ';
    text += SENTENCES[i % SENTENCES.length];
    i++;
  }
  return text.slice(0, bytes);
}

function createEvent(tenant: string, file: string, size: number): Record<string, unknown> {
  return { event_type: 'create', path: `/buckets/${tenant}/uploads/${file}`, size, mime_type: 'text/plain' };
}

function startedFor(path: string): Extract<RouteResult, { kind: 'started' }>[] {
  return p.results.filter(
    (r): r is Extract<RouteResult, { kind: 'started' }> => r.kind === 'started' && r.event.path === path,
  );
}

function routedFor(path: string): RouteResult[] {
  return p.results.filter(
    (r) => (r.kind === 'started' || r.kind === 'deduplicated') && r.event.path === path,
  );
}

function addCounters(...all: BridgeCounters[]): BridgeCounters {
  const sum = zeroCounters();
  for (const counters of all) {
    for (const key of Object.keys(sum) as (keyof BridgeCounters)[]) sum[key] += counters[key];
  }
  return sum;
}

async function listRuns(workflowId: string): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const run of p.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(run);
  return runs;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return out;
}

describe('bridge deduplication and bursts (real servers: Temporal, NATS JetStream, SeaweedFS, PostgreSQL)', () => {
  it('one event published 5 times plus a redelivery after a nak → one workflow run, one set of resources (real servers)', async () => {
    const tenant = uniqueTenant('dedup');
    const file = 'notes.txt';
    const path = `/buckets/${tenant}/uploads/${file}`;
    const body = prose(1, 2400);
    await p.putObject(tenant, `uploads/${file}`, body, 'text/plain');
    const event = createEvent(tenant, file, body.length);
    const payload = JSON.stringify(event);
    const jsm = await jetstreamManager(p.nc);
    const stream = p.cfg.nats.eventsStream;
    const storedBefore = (await jsm.streams.info(stream)).state.messages;

    const bridge1 = await p.startBridge();
    // Five plain publishes: JetStream stores five messages.
    await Promise.all(Array.from({ length: 5 }, () => p.publish(event)));
    // One more with a Nats-Msg-Id, published twice: JetStream stores it once.
    const msgId = `dedup-test:${tenant}:${file}`;
    const first = await p.js.publish(p.cfg.nats.eventsSubject, payload, { msgID: msgId });
    const again = await p.js.publish(p.cfg.nats.eventsSubject, payload, { msgID: msgId });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    expect((await jsm.streams.info(stream)).state.messages - storedBefore).toBe(6);

    await eventually('the bridge to route all 6 stored copies', async () =>
      routedFor(path).length >= 6 ? true : undefined,
    );
    const started = startedFor(path);
    expect(started).toHaveLength(1);
    const workflowId = (started[0] as Extract<RouteResult, { kind: 'started' }>).workflowId;
    const countersBefore = { ...bridge1.counters };
    await p.stopBridge();

    // A redelivery: with the bridge stopped, take the next copy from the bridge's own durable consumer,
    // nak it, and let a fresh bridge receive it again (delivery 2).
    const consumers = await jsm.consumers.info(stream, p.cfg.nats.bridgeConsumer);
    expect(consumers.num_ack_pending).toBe(0);
    await eventually('the stopped bridge to leave no pull request behind', async () =>
      (await jsm.consumers.info(stream, p.cfg.nats.bridgeConsumer)).num_waiting === 0 ? true : undefined,
    );
    const redeliveredSeq = await p.publish(event);
    const consumer = await p.js.consumers.get(stream, p.cfg.nats.bridgeConsumer);
    const before = await consumer.info(false);
    const pulled = await consumer.next({ expires: 5000 });
    expect(pulled?.seq).toBe(redeliveredSeq);
    expect(pulled?.info.deliveryCount).toBe(1);
    pulled?.nak();
    await p.nc.flush();

    const bridge2 = await p.startBridge();
    await eventually('the redelivered copy to be routed', async () =>
      routedFor(path).length >= 7 ? true : undefined,
    );
    await eventually('the redelivery to be acknowledged', async () => {
      const info = await consumer.info(false);
      return info.ack_floor.stream_seq >= redeliveredSeq && info.num_ack_pending === 0 ? info : undefined;
    }).then((info) => {
      // One more delivery than stream messages: the nak'd copy was delivered exactly twice.
      expect(info.delivered.stream_seq).toBe(redeliveredSeq);
      expect(info.delivered.consumer_seq).toBe(before.delivered.consumer_seq + 2);
      expect(info.num_redelivered).toBe(0);
      expect(info.num_pending).toBe(0);
    });

    const totals = addCounters(countersBefore, bridge2.counters);
    expect(totals).toMatchObject({
      received: 7,
      started: 1,
      deduplicated: 6,
      ignored: 0,
      deadLettered: 0,
      retried: 0,
    });
    expect(startedFor(path)).toHaveLength(1);
    const routed = routedFor(path);
    expect(routed.filter((r) => r.kind === 'deduplicated')).toHaveLength(6);
    for (const r of routed) expect(r).toMatchObject({ workflowId, tier: 'medium' });

    const outcome = await ingestFileHandle(p.temporal, workflowId).result();
    expect(outcome.status).toBe('completed');
    const chunkCount = outcome.status === 'completed' ? outcome.chunkCount : -1;
    expect(chunkCount).toBeGreaterThan(1);

    // Temporal visibility (which may lag on the dev server): exactly one execution of this id, completed.
    const runs = await eventually('visibility to show the completed run', async () => {
      const found = await listRuns(workflowId);
      return found.length > 0 && found.every((r) => r.status.name === 'COMPLETED') ? found : undefined;
    });
    expect(runs).toHaveLength(1);
    expect(runs[0]?.taskQueue).toBe(taskQueueFor(p.cfg, 'medium'));
    expect(await p.temporal.workflow.count(`WorkflowId = '${workflowId}'`)).toMatchObject({ count: 1 });

    const fileId = fileIdFor(tenant, path);
    const files = await p.pool.query<{ id: string; status: string; chunk_count: number }>(
      'SELECT id, status, chunk_count FROM files WHERE tenant_id = $1',
      [tenant],
    );
    expect(files.rows).toEqual([{ id: fileId, status: 'completed', chunk_count: chunkCount }]);
    const resources = await p.pool.query<{ total: number; ordinals: number; max: number; others: number }>(
      `SELECT count(*)::int AS total, count(DISTINCT ordinal)::int AS ordinals, max(ordinal)::int AS max,
              count(*) FILTER (WHERE file_id IS DISTINCT FROM $2)::int AS others
         FROM resources WHERE tenant_id = $1`,
      [tenant, fileId],
    );
    expect(resources.rows[0]).toEqual({
      total: chunkCount,
      ordinals: chunkCount,
      max: chunkCount - 1,
      others: 0,
    });
    const jobs = await p.pool.query<{ workflow_id: string; status: string }>(
      'SELECT workflow_id, status FROM jobs WHERE tenant_id = $1',
      [tenant],
    );
    expect(jobs.rows).toEqual([{ workflow_id: workflowId, status: 'completed' }]);
    expect(await p.deadLetters()).toEqual([]);
  }, 90_000);

  it('90 events in a burst across the three tiers → 90 workflows on the right task queues, all complete (real servers)', async () => {
    const tenant = uniqueTenant('burst');
    const count = 90;
    // A third of the sizes in each tier: small ≤ 1000 < medium ≤ 5000 < large.
    const files = Array.from({ length: count }, (_, i) => {
      const tier: Tier = (['small', 'medium', 'large'] as const)[i % 3] as Tier;
      const size =
        tier === 'small'
          ? 200 + ((i * 37) % (SMALL_MAX - 200))
          : tier === 'medium'
            ? SMALL_MAX + 1 + ((i * 53) % (MEDIUM_MAX - SMALL_MAX - 1))
            : MEDIUM_MAX + 1 + ((i * 71) % 3000);
      return { name: `burst-${String(i).padStart(3, '0')}.txt`, size, tier, body: prose(i, size) };
    });
    expect(new Set(files.map((f) => tierForSize(f.size, p.cfg.tiers))).size).toBe(3);
    for (const f of files) expect(tierForSize(f.size, p.cfg.tiers)).toBe(f.tier);
    await mapLimit(files, 16, (f) => p.putObject(tenant, `uploads/${f.name}`, f.body, 'text/plain'));

    const bridge = await p.startBridge();
    const t0 = Date.now();
    await Promise.all(files.map((f) => p.publish(createEvent(tenant, f.name, f.size))));

    const started = await eventually(
      `the bridge to start ${count} workflows`,
      async () => {
        const found = p.results.filter(
          (r): r is Extract<RouteResult, { kind: 'started' }> =>
            r.kind === 'started' && r.event.tenantId === tenant,
        );
        return found.length >= count ? found : undefined;
      },
      60_000,
    );
    expect(started).toHaveLength(count);
    expect(new Set(started.map((r) => r.workflowId)).size).toBe(count);
    expect(bridge.counters).toMatchObject({
      received: count,
      started: count,
      deduplicated: 0,
      deadLettered: 0,
      retried: 0,
    });

    await eventually(
      `all ${count} files to complete`,
      async () => {
        const { rows } = await p.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM files WHERE tenant_id = $1 AND status = 'completed'",
          [tenant],
        );
        return rows[0]?.n === count ? true : undefined;
      },
      90_000,
    );
    const elapsed = Date.now() - t0;

    const bySize = new Map(files.map((f) => [`/buckets/${tenant}/uploads/${f.name}`, f]));
    const described = await mapLimit(started, 16, async (r) => {
      const handle = ingestFileHandle(p.temporal, r.workflowId);
      // The result first: the files row completes inside the last activity, before the run closes.
      const outcome = await handle.result();
      const description = await handle.describe();
      return { r, description, outcome };
    });
    const perTier: Record<Tier, number> = { small: 0, medium: 0, large: 0 };
    for (const { r, description, outcome } of described) {
      const f = bySize.get(r.event.path);
      expect(f, r.event.path).toBeDefined();
      if (!f) continue;
      expect(r.tier).toBe(f.tier);
      expect(r.event.size).toBe(f.size);
      expect(description.taskQueue).toBe(`${p.cfg.temporal.taskQueuePrefix}-storage-${f.tier}`);
      expect(description.status.name).toBe('COMPLETED');
      expect(outcome.status).toBe('completed');
      perTier[f.tier] += 1;
    }
    expect(perTier).toEqual({ small: count / 3, medium: count / 3, large: count / 3 });

    const rows = await p.pool.query<{ path: string; file_size: number | string; status: string }>(
      'SELECT path, file_size, status FROM files WHERE tenant_id = $1',
      [tenant],
    );
    expect(rows.rows).toHaveLength(count);
    for (const row of rows.rows) {
      expect(row.status).toBe('completed');
      expect(Number(row.file_size)).toBe(bySize.get(row.path)?.size);
    }
    const jobs = await p.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND status = 'completed'",
      [tenant],
    );
    expect(jobs.rows[0]?.n).toBe(count);
    expect(await p.deadLetters()).toEqual([]);
    console.log(
      `[bridge-dedup] ${count} workflows published → completed in ${(elapsed / 1000).toFixed(1)} s`,
    );
  }, 150_000);
});
