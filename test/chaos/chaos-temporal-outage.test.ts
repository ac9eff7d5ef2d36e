/**
 * Chaos on real servers: the Temporal server goes away for 20 s while storage events keep arriving.
 * JetStream must hold the backlog, the bridge must pause and nak (never dead-letter), and once Temporal is
 * back every event must become exactly one completed ingestion.
 *
 * The shared test Temporal server is used by other test files in parallel, so this file runs its own
 * Temporal dev server (SQLite file in a temp folder) and stops/restarts that one. NATS, SeaweedFS and
 * PostgreSQL are the shared test servers, isolated by names.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdFor } from '../../src/domain/ids.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { type PrivateTemporal, privateTemporal } from '../support/private-temporal.js';
import { uniqueTenant } from '../support/test-stack.js';

const EVENTS_DURING_OUTAGE = 50;
const OUTAGE_MS = 20_000;

let temporal: PrivateTemporal;
let p: Pipeline | undefined;
let healthPort = 0;
const tenant = uniqueTenant('outage');

interface Health {
  status: string;
  temporal: string;
  counters: Record<string, number>;
}

async function health(): Promise<Health> {
  const response = await fetch(`http://127.0.0.1:${healthPort}/health`, {
    signal: AbortSignal.timeout(3000),
  });
  return (await response.json()) as Health;
}

function pipeline(): Pipeline {
  if (!p) throw new Error('pipeline not created');
  return p;
}

async function uploadAndPublish(name: string, text: string): Promise<string> {
  const key = `uploads/${name}`;
  await pipeline().putObject(tenant, key, text, 'text/plain');
  const path = `/buckets/${tenant}/${key}`;
  await pipeline().publish({
    event_type: 'create',
    path,
    size: Buffer.byteLength(text),
    mime_type: 'text/plain',
  });
  return path;
}

async function completedFiles(): Promise<number> {
  const result = await pipeline().pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM files WHERE tenant_id = $1 AND status = 'completed'`,
    [tenant],
  );
  return result.rows[0]?.n ?? 0;
}

const log = (message: string) => console.log(`[chaos-temporal-outage] ${message}`);

beforeAll(async () => {
  temporal = privateTemporal({ port: 27333 });
  await temporal.start();
  healthPort = await freePort();
  p = await createPipeline('outage', {
    TEMPORAL_ADDRESS: temporal.address,
    P8FS_BRIDGE_HEALTH_PORT: String(healthPort),
  });
});

afterAll(async () => {
  try {
    // Workers and clients shut down cleanly only against a live server (a failed test may leave it down).
    if (temporal && temporal.pid === undefined) await temporal.start().catch(() => undefined);
    await p?.close();
  } finally {
    await temporal?.dispose();
  }
}, 120_000);

describe('chaos: Temporal outage (real Temporal dev server of its own, real NATS, SeaweedFS, PostgreSQL)', () => {
  it('Temporal server stopped for 20 s while 50 events arrive → after restart all 50 complete, DLQ empty', async () => {
    const started = Date.now();
    const workers = await pipeline().startWorkers(['small']);
    const bridge = await pipeline().startBridge();

    // Baseline: the pipeline works against the private server.
    const firstPath = await uploadAndPublish('before-outage.txt', 'Written before the outage.\n');
    await eventually('the first file to complete', async () =>
      (await completedFiles()) === 1 ? true : undefined,
    );
    expect((await health()).status).toBe('ok');

    // Outage: stop the server, then upload and announce 50 files while it is away.
    await temporal.stop();
    const downAt = Date.now();
    log(`Temporal stopped after ${((downAt - started) / 1000).toFixed(1)} s`);
    const paths: string[] = [];
    for (let i = 0; i < EVENTS_DURING_OUTAGE; i++) {
      const n = String(i).padStart(2, '0');
      paths.push(
        await uploadAndPublish(
          `during-outage-${n}.txt`,
          `File ${n} uploaded while Temporal was down.\n\nIt has a second paragraph so it is not trivial.\n`,
        ),
      );
    }
    log(
      `${EVENTS_DURING_OUTAGE} events published ${((Date.now() - downAt) / 1000).toFixed(1)} s into the outage`,
    );

    await eventually(
      'the bridge to notice Temporal is down and pause',
      async () => (bridge.counters.temporalPauses >= 1 && !bridge.temporalAvailable ? true : undefined),
      OUTAGE_MS,
    );
    const degraded = await health();
    expect(degraded.status).toBe('degraded');
    expect(degraded.temporal).toMatch(/unreachable/);

    await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
    const during = { ...bridge.counters };
    log(
      `bridge counters after ${((Date.now() - downAt) / 1000).toFixed(1)} s down: ${JSON.stringify(during)}`,
    );
    expect(during.temporalPauses).toBeGreaterThanOrEqual(1);
    expect(during.retried).toBeGreaterThanOrEqual(1);
    expect(during.deadLettered).toBe(0);
    expect(during.started).toBe(1);
    expect((await health()).status).toBe('degraded');
    expect(await pipeline().deadLetters()).toEqual([]);
    expect(await completedFiles()).toBe(1);
    // The backlog waits in JetStream, not in the bridge: nothing beyond the first event was acked.
    const consumer = await pipeline().js.consumers.get(
      pipeline().cfg.nats.eventsStream,
      pipeline().cfg.nats.bridgeConsumer,
    );
    const info = await consumer.info();
    expect(info.ack_floor.stream_seq).toBe(1);
    expect(info.num_pending + info.num_ack_pending).toBe(EVENTS_DURING_OUTAGE);

    // Recovery: same db file, so the first workflow's history and the namespace survive.
    await temporal.start();
    const upAt = Date.now();
    log(`Temporal restarted on the same db file after ${((upAt - downAt) / 1000).toFixed(1)} s down`);
    const workerStates = workers.workers.map((w) => w.getState());
    log(`worker states right after the restart: ${workerStates.join(', ')}`);

    await eventually(
      `all ${EVENTS_DURING_OUTAGE + 1} files to complete`,
      async () => ((await completedFiles()) === EVENTS_DURING_OUTAGE + 1 ? true : undefined),
      100_000,
    );
    log(
      `all ${EVENTS_DURING_OUTAGE} backlog files completed ${((Date.now() - upAt) / 1000).toFixed(1)} s after the restart; ` +
        `worker states ${workers.workers.map((w) => w.getState()).join(', ')}; bridge ${JSON.stringify(bridge.counters)}`,
    );
    // The same workers served before and after the outage: their NativeConnection reconnected by itself.
    expect(workers.workers.every((w) => w.getState() === 'RUNNING')).toBe(true);
    expect(pipeline().workers).toBe(workers);

    await eventually(
      'the bridge to report ok',
      async () => ((await health()).status === 'ok' ? true : undefined),
      20_000,
    );
    expect(bridge.counters.deadLettered).toBe(0);
    expect(bridge.counters.started + bridge.counters.deduplicated).toBe(EVENTS_DURING_OUTAGE + 1);
    expect(await pipeline().deadLetters()).toEqual([]);

    const db = pipeline().pool;
    const files = await db.query<{ id: string; path: string; status: string; chunk_count: number }>(
      'SELECT id, path, status, chunk_count FROM files WHERE tenant_id = $1 ORDER BY path',
      [tenant],
    );
    expect(files.rows.map((r) => r.path).sort()).toEqual([firstPath, ...paths].sort());
    expect(files.rows.every((r) => r.status === 'completed' && r.chunk_count > 0)).toBe(true);
    for (const path of paths) expect(files.rows.some((r) => r.id === fileIdFor(tenant, path))).toBe(true);

    const jobs = await db.query<{ n: number; completed: number; workflows: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'completed')::int AS completed,
              count(DISTINCT workflow_id)::int AS workflows
       FROM jobs WHERE tenant_id = $1`,
      [tenant],
    );
    expect(jobs.rows[0]).toEqual({
      n: EVENTS_DURING_OUTAGE + 1,
      completed: EVENTS_DURING_OUTAGE + 1,
      workflows: EVENTS_DURING_OUTAGE + 1,
    });

    const resources = await db.query<{ n: number; expected: number; duplicates: number }>(
      `SELECT (SELECT count(*)::int FROM resources WHERE tenant_id = $1) AS n,
              (SELECT sum(chunk_count)::int FROM files WHERE tenant_id = $1) AS expected,
              (SELECT count(*)::int FROM (SELECT file_id, ordinal FROM resources WHERE tenant_id = $1
                 GROUP BY file_id, ordinal HAVING count(*) > 1) d) AS duplicates`,
      [tenant],
    );
    expect(resources.rows[0]?.duplicates).toBe(0);
    expect(resources.rows[0]?.n).toBe(resources.rows[0]?.expected);

    // Temporal's own view: exactly one completed ingestFile per file, none failed or still running.
    const temporalView = await eventually(
      'Temporal visibility to list the completed workflows',
      async () => {
        const completed = await pipeline().temporal.workflow.count(
          `TenantId = "${tenant}" AND ExecutionStatus = "Completed"`,
        );
        return completed.count === EVENTS_DURING_OUTAGE + 1 ? completed.count : undefined;
      },
      20_000,
    );
    expect(temporalView).toBe(EVENTS_DURING_OUTAGE + 1);
    const all = await pipeline().temporal.workflow.count(`TenantId = "${tenant}"`);
    expect(all.count).toBe(EVENTS_DURING_OUTAGE + 1);
    log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 150_000);
});
