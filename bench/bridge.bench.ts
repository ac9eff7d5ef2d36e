/**
 * The bridge against its ceilings, side by side in one run on the test stack's real servers (started if
 * not running): N storage events for real small objects in S3 → workflow starts per second through a
 * `Bridge` running in this process, against the same number of concurrent raw starts (the same workflow,
 * options and id style, at the bridge's in-flight limit) on the same Temporal server, and against the raw
 * JetStream consume+ack rate; latency from publish to start for a lone event and during the burst.
 *
 * It uses only the Bridge's public API (create/start/stop, onResult, counters) and sets the in-flight
 * limit through the environment (P8FS_BRIDGE_MAX_IN_FLIGHT, and P8FS_BRIDGE_BATCH_SIZE to the same value
 * for a bridge that predates it), so the very same file measures an older bridge for "before" figures.
 * No worker serves the bench's task queues: the workflows it starts are terminated at the end.
 *
 * Run: npx tsx bench/bridge.bench.ts   (P8FS_BENCH_BRIDGE_EVENTS=2000, P8FS_BENCH_BRIDGE_IN_FLIGHT=<the
 * configured default>, P8FS_BENCH_BRIDGE_LONE=30)
 */
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AckPolicy, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { Bridge } from '../src/bridge/bridge.js';
import { type PlannedStart, planRoute, type RouteResult, startPlanned } from '../src/bridge/route-event.js';
import { connectNats } from '../src/clients/nats.js';
import { putCreatingBucket } from '../src/clients/object-store.js';
import { createS3Client } from '../src/clients/s3.js';
import { type Config, loadConfig } from '../src/config/config.js';
import { stackUp } from '../src/stack/stack.js';
import { connectTemporal } from '../src/temporal/connection.js';
import { dropBucket } from '../test/support/pipeline.js';
import { isolatedEnv, testStackConfig, uniqueTenant } from '../test/support/test-stack.js';
import { type BenchSection, errorMessage, fixed, int, markdownTable, progress } from './lib.js';

const LONE_GAP_MS = 100;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}=${raw}: expected a positive integer`);
  return value;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` over `items` with at most `limit` calls at once. */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        out[index] = await fn(items[index] as T, index);
      }
    }),
  );
  return out;
}

interface Context {
  cfg: Config;
  nc: NatsConnection;
  jsm: JetStreamManager;
  s3: S3Client;
  temporal: Client;
  bucket: string;
  /** Every workflow id the bench started (bridge and raw), terminated at the end. */
  started: Set<string>;
}

function eventFor(ctx: Context, key: string): string {
  return JSON.stringify({
    event_type: 'create',
    path: `/buckets/${ctx.bucket}/${key}`,
    mime_type: 'text/markdown',
  });
}

async function uploadObjects(ctx: Context, keys: string[]): Promise<void> {
  await mapLimit(keys, 32, (key) =>
    putCreatingBucket(ctx.s3, ctx.bucket, () =>
      ctx.s3.send(
        new PutObjectCommand({
          Bucket: ctx.bucket,
          Key: key,
          Body: `# ${key}\n\nA small note for the bridge bench.\n`,
          ContentType: 'text/markdown',
        }),
      ),
    ),
  );
}

/** N concurrent raw starts (at most `concurrency` at once) of already planned workflows: starts/s. */
async function rawStarts(ctx: Context, plans: PlannedStart[], concurrency: number): Promise<number> {
  const deps = { cfg: ctx.cfg, s3: ctx.s3, temporal: ctx.temporal };
  const t0 = performance.now();
  const results = await mapLimit(plans, concurrency, (plan) => startPlanned(deps, plan));
  const seconds = (performance.now() - t0) / 1000;
  for (const r of results) {
    if (r.kind !== 'started') throw new Error(`a raw start did not start: ${JSON.stringify(r)}`);
    ctx.started.add(r.workflowId);
  }
  return plans.length / seconds;
}

/** The JetStream ceiling: publish N messages to a stream of their own, then consume + ack them all. */
async function rawJetStream(ctx: Context, n: number, window: number): Promise<number> {
  const stream = `${ctx.cfg.nats.eventsStream}_RAWBENCH`;
  const subject = `${ctx.cfg.nats.eventsSubject}.rawbench`;
  await ctx.jsm.streams.add({ name: stream, subjects: [subject] });
  try {
    const js = jetstream(ctx.nc);
    const payload = eventFor(ctx, 'raw.md');
    await mapLimit(
      Array.from({ length: n }, (_, i) => i),
      500,
      () => js.publish(subject, payload),
    );
    await ctx.jsm.consumers.add(stream, { durable_name: 'rawbench', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get(stream, 'rawbench');
    const t0 = performance.now();
    const messages = await consumer.consume({ max_messages: Math.max(window, 64) });
    let acked = 0;
    for await (const msg of messages) {
      // A plain ack (no confirmation awaited): what JetStream itself can move, the upper bound.
      msg.ack();
      if (++acked >= n) break;
    }
    await ctx.nc.flush();
    const seconds = (performance.now() - t0) / 1000;
    await messages.close();
    return n / seconds;
  } finally {
    await ctx.jsm.streams.delete(stream).catch(() => undefined);
  }
}

interface BridgeRun {
  startsPerSecond: number;
  burstLatencies: number[];
  loneAfterAck: number[];
  loneByStartTime: number[];
  counters: Bridge['counters'];
}

async function bridgeRun(ctx: Context, loneKeys: string[], burstKeys: string[]): Promise<BridgeRun> {
  const bridge = await Bridge.create(ctx.cfg, pino({ level: 'warn' }));
  const settled = new Map<string, { at: number; result: RouteResult }>();
  bridge.onResult = (result) => {
    const at = performance.now();
    if (result.kind === 'started' || result.kind === 'deduplicated') {
      // A redelivered copy (an ack that came after ack_wait under load) is deduplicated: keep the start.
      const seen = settled.get(result.event.path);
      if (!seen || (seen.result.kind !== 'started' && result.kind === 'started'))
        settled.set(result.event.path, { at, result });
      ctx.started.add(result.workflowId);
    } else {
      settled.set(`#${settled.size}`, { at, result });
    }
  };
  bridge.start();
  const js = jetstream(ctx.nc);
  const pathOf = (key: string) => `/buckets/${ctx.bucket}/${key}`;
  try {
    // Lone events: each published while the bridge is idle (the previous one started LONE_GAP_MS ago);
    // the first is a warm-up, not measured (the bridge connects to Temporal lazily, on its first start).
    await sleep(500);
    const loneAfterAck: number[] = [];
    const loneByStartTime: number[] = [];
    for (const [index, key] of loneKeys.entries()) {
      await sleep(LONE_GAP_MS);
      const wall = Date.now();
      const t0 = performance.now();
      await js.publish(ctx.cfg.nats.eventsSubject, eventFor(ctx, key));
      const deadline = t0 + 30_000;
      let done = settled.get(pathOf(key));
      while (!done && performance.now() < deadline) {
        await sleep(1);
        done = settled.get(pathOf(key));
      }
      if (done?.result.kind !== 'started')
        throw new Error(`lone event ${key} was not started: ${JSON.stringify(done?.result)}`);
      if (index === 0) continue;
      loneAfterAck.push(done.at - t0);
      // Temporal's own clock (same machine): when the server created the run.
      const description = await ctx.temporal.workflow.getHandle(done.result.workflowId).describe();
      loneByStartTime.push(description.startTime.getTime() - wall);
    }

    // The burst: N events published at once while the bridge runs; starts/s from the first publish.
    const t0 = performance.now();
    const publishedAt = new Map<string, number>();
    await mapLimit(burstKeys, 500, async (key) => {
      publishedAt.set(pathOf(key), performance.now());
      await js.publish(ctx.cfg.nats.eventsSubject, eventFor(ctx, key));
    });
    const expected = loneKeys.length + burstKeys.length;
    let lastProgress = performance.now();
    while (settled.size < expected) {
      await sleep(20);
      if (performance.now() - lastProgress > 5000) {
        progress(`bridge: ${settled.size - loneKeys.length}/${burstKeys.length} burst events settled`);
        lastProgress = performance.now();
      }
      if (performance.now() - t0 > 10 * 60_000) throw new Error('the burst did not finish in 10 minutes');
    }
    const burstEnd = Math.max(...burstKeys.map((key) => settled.get(pathOf(key))?.at ?? Number.NaN));
    const burstLatencies = burstKeys.map(
      (key) => (settled.get(pathOf(key))?.at as number) - (publishedAt.get(pathOf(key)) as number),
    );
    // 'deduplicated' alone for a path: its first copy started, its start just settled after a redelivery.
    const failed = [...settled.values()].filter(
      (s) => s.result.kind !== 'started' && s.result.kind !== 'deduplicated',
    );
    if (failed.length)
      throw new Error(`${failed.length} events not started, e.g. ${JSON.stringify(failed[0]?.result)}`);
    return {
      startsPerSecond: burstKeys.length / ((burstEnd - t0) / 1000),
      burstLatencies,
      loneAfterAck,
      loneByStartTime,
      counters: { ...bridge.counters },
    };
  } finally {
    await bridge.stop();
  }
}

async function cleanUp(ctx: Context): Promise<void> {
  const ids = [...ctx.started];
  progress(`clean-up: terminating ${int(ids.length)} workflows, deleting streams and the bucket`);
  await mapLimit(ids, 32, (id) =>
    ctx.temporal.workflow
      .getHandle(id)
      .terminate('bridge bench done')
      .catch(() => undefined),
  );
  await ctx.jsm.streams.delete(ctx.cfg.nats.eventsStream).catch(() => undefined);
  await ctx.jsm.streams.delete(ctx.cfg.nats.dlqStream).catch(() => undefined);
  await dropBucket(ctx.s3, ctx.bucket).catch(() => undefined);
}

export async function runBridgeBench(): Promise<BenchSection> {
  const n = envInt('P8FS_BENCH_BRIDGE_EVENTS', 2000);
  // One more than measured: the first lone event warms the bridge's connections.
  const loneCount = envInt('P8FS_BENCH_BRIDGE_LONE', 30) + 1;
  if (process.env.P8FS_TEST_STACK !== 'external') await stackUp(testStackConfig(), () => undefined);
  // The configured default; a bridge from before P8FS_BRIDGE_MAX_IN_FLIGHT had only its batch size.
  const defaults: { maxInFlight?: number; batchSize: number } = loadConfig(isolatedEnv('bridgebench')).bridge;
  const defaultLimit = defaults.maxInFlight ?? defaults.batchSize;
  const limit = envInt('P8FS_BENCH_BRIDGE_IN_FLIGHT', defaultLimit);
  // Both names: a bridge from before P8FS_BRIDGE_MAX_IN_FLIGHT reads its batch size (its in-flight bound).
  const cfg = loadConfig(
    isolatedEnv('bridgebench', {
      P8FS_BRIDGE_MAX_IN_FLIGHT: String(limit),
      P8FS_BRIDGE_BATCH_SIZE: String(limit),
      P8FS_LOG_LEVEL: 'warn',
    }),
  );
  const nc = await connectNats(cfg, 'bench-bridge');
  const ctx: Context = {
    cfg,
    nc,
    jsm: await jetstreamManager(nc),
    s3: createS3Client(cfg),
    temporal: await connectTemporal(cfg),
    bucket: uniqueTenant('bridgebench'),
    started: new Set(),
  };
  try {
    const burstKeys = Array.from({ length: n }, (_, i) => `burst/note-${String(i).padStart(5, '0')}.md`);
    const loneKeys = Array.from(
      { length: loneCount },
      (_, i) => `lone/note-${String(i).padStart(3, '0')}.md`,
    );
    progress(`bridge: uploading ${int(n + loneCount)} small objects (untimed), in-flight limit ${limit}`);
    await uploadObjects(ctx, [...loneKeys, ...burstKeys]);

    // The ceiling's plans: the same objects (HEAD done here, untimed), ids suffixed so they do not
    // collide with the bridge's; the start itself is the one the bridge makes (startPlanned).
    const deps = { cfg, s3: ctx.s3, temporal: ctx.temporal };
    const plans = await mapLimit(burstKeys, 32, async (key) => {
      const plan = await planRoute(deps, eventFor(ctx, key), 'bridge-bench');
      if (plan.kind !== 'planned') throw new Error(`could not plan ${key}: ${JSON.stringify(plan)}`);
      return plan;
    });
    const rawPlan = (suffix: string) => (plan: PlannedStart) => ({
      ...plan,
      workflowId: `${plan.workflowId}~${suffix}`,
    });
    const half = Math.ceil(n / 2);
    // Warm the client's connection the way the bridge's lone events warm the bridge's.
    await rawStarts(ctx, plans.slice(0, Math.min(20, n)).map(rawPlan('warm')), limit);

    progress(`raw starts: ${int(half)} at ${limit} at once (first half of the ceiling)`);
    const raw1 = await rawStarts(ctx, plans.slice(0, half).map(rawPlan('raw')), limit);
    progress(`bridge: ${loneCount} lone events (1 warm-up), then a burst of ${int(n)}`);
    const run = await bridgeRun(ctx, loneKeys, burstKeys);
    progress(`raw starts: ${int(n - half)} at ${limit} at once (second half of the ceiling)`);
    const raw2 = n > half ? await rawStarts(ctx, plans.slice(half).map(rawPlan('raw')), limit) : raw1;
    // The ceiling over both halves: N starts over the time both took (halves either side of the bridge).
    const ceiling = n / (half / raw1 + (n - half) / raw2);
    progress(`JetStream: ${int(n)} messages consumed + acked, no Temporal`);
    const jetStreamRate = await rawJetStream(ctx, n, limit);

    const ms = (v: number) => fixed(v, 1);
    const table = markdownTable(
      ['measure', 'bridge', 'ceiling / target', 'ratio'],
      ['l', 'r', 'r', 'r'],
      [
        [
          `events → starts/s (${int(n)} events, in-flight limit ${limit})`,
          int(run.startsPerSecond),
          `${int(ceiling)} raw starts/s`,
          `${fixed(run.startsPerSecond / ceiling)}×`,
        ],
        [
          'JetStream consume + ack, no Temporal (msgs/s)',
          int(run.startsPerSecond),
          `${int(jetStreamRate)} msgs/s`,
          `${fixed(run.startsPerSecond / jetStreamRate)}×`,
        ],
        [
          `lone event publish → start accepted, p50 / p99 ms (Temporal's StartTime, ${loneCount - 1} events)`,
          `${ms(percentile(run.loneByStartTime, 50))} / ${ms(percentile(run.loneByStartTime, 99))}`,
          '50 ms',
          `${fixed(percentile(run.loneByStartTime, 50) / 50)}×`,
        ],
        [
          'lone event publish → settled (onResult, after the ack), p50 / p99 ms',
          `${ms(percentile(run.loneAfterAck, 50))} / ${ms(percentile(run.loneAfterAck, 99))}`,
          '50 ms',
          `${fixed(percentile(run.loneAfterAck, 50) / 50)}×`,
        ],
        [
          `under load: publish → settled during the burst, p50 / p99 ms`,
          `${ms(percentile(run.burstLatencies, 50))} / ${ms(percentile(run.burstLatencies, 99))}`,
          `${ms((n / ceiling) * 500)} (half the burst at the ceiling)`,
          `${fixed(percentile(run.burstLatencies, 50) / ((n / ceiling) * 500))}×`,
        ],
      ],
    );
    const ratio = run.startsPerSecond / ceiling;
    const copies = run.counters.received - (n + loneCount);
    const note =
      `\n\nThe bridge took ${int(run.counters.received)} deliveries for ${int(n + loneCount)} events` +
      (copies > 0
        ? ` (${int(copies)} redelivered copies, deduplicated: settled later than the consumer's ack_wait).`
        : ' (no redelivered copies).');
    return {
      title: 'Bridge',
      compared:
        `A Bridge in this process (its own stream, consumer and task-queue prefix; no worker) turning ${int(n)} ` +
        'storage events for real small objects in SeaweedFS into ingestFile starts (HEAD, start, ackAck each), ' +
        `against the same ${int(n)} starts made directly (startPlanned: the same options and id style, ${limit} ` +
        'at once, in two halves either side of the bridge run) on the same Temporal server, and against JetStream ' +
        'consume + ack alone. Latency is from publish to the server-side StartTime (from describe) for lone ' +
        'events, and to onResult (after the ack) for both lone and burst events; under load it is mostly ' +
        'queueing behind the burst.',
      table: table + note,
      interpretation:
        `The bridge starts ${int(run.startsPerSecond)} workflows/s, ${fixed(ratio)}× the raw-start ceiling ` +
        `(target ≥ 0.9×: ${ratio >= 0.9 ? 'met' : 'missed'}); a lone event is started ` +
        `${ms(percentile(run.loneByStartTime, 50))} ms after its publish at the median ` +
        `(target ≤ 50 ms: ${percentile(run.loneByStartTime, 50) <= 50 ? 'met' : 'missed'}); JetStream alone ` +
        `moves ${int(jetStreamRate)} msgs/s, ${fixed(jetStreamRate / ceiling, 1)}× the raw starts` +
        (jetStreamRate > 2 * ceiling ? ', so the Temporal start is what bounds the bridge.' : '.'),
      notMeasured: [],
    };
  } finally {
    await cleanUp(ctx).catch((error) => progress(`clean-up failed: ${errorMessage(error)}`));
    await ctx.temporal.connection.close().catch(() => undefined);
    ctx.s3.destroy();
    await nc.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runBridgeBench()
    .then((section) => {
      console.log(
        `\n## ${section.title}\n\n${section.compared}\n\n${section.table}\n\n${section.interpretation}`,
      );
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
