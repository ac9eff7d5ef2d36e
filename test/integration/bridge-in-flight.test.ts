/**
 * The bridge consumes continuously with a bounded window, against the real test stack (Temporal, NATS
 * JetStream, SeaweedFS S3): a lone event published while the bridge is idle is started at once (not
 * after a pull batch fills or expires), the number of events in flight never passes
 * P8FS_BRIDGE_MAX_IN_FLIGHT, and stop() settles everything it took before it returns. No worker runs:
 * the starts are what is measured, and the workflows are terminated at the end.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { exposition } from '../../src/telemetry/metrics.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const MAX_IN_FLIGHT = 3;
/**
 * From publish to the bridge taking the event up (its `received` counter): generous for a loaded 2-core
 * machine; the old bridge took ~950 ms here, as it handled nothing until its 1 s pull had expired. The
 * start itself (S3 HEAD + Temporal start + ack) is logged, not asserted: on a machine this busy it
 * measures the servers' load more than the bridge.
 */
const TAKE_UP_BOUND_MS = 250;

let p: Pipeline;
const startedIds: string[] = [];

beforeAll(async () => {
  p = await createPipeline('inflight', { P8FS_BRIDGE_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT) });
});

afterEach(async () => {
  // A failed test must not leave its bridge consuming beside the next test's.
  await p.stopBridge();
});

afterAll(async () => {
  // Nobody serves these task queues: end the runs so they do not linger on the shared server.
  await Promise.all(
    startedIds.map((id) =>
      p.temporal.workflow
        .getHandle(id)
        .terminate('bridge-in-flight test done')
        .catch(() => undefined),
    ),
  );
  await p?.close();
});

type Started = Extract<RouteResult, { kind: 'started' }>;

async function upload(tenant: string, count: number, prefix: string): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}.txt`);
  for (const name of names) await p.putObject(tenant, `uploads/${name}`, `Note ${name}.\n`, 'text/plain');
  return names;
}

function event(tenant: string, name: string): Record<string, unknown> {
  return { event_type: 'create', path: `/buckets/${tenant}/uploads/${name}`, mime_type: 'text/plain' };
}

describe('bridge: continuous consume with a bounded in-flight window (real servers: Temporal, NATS JetStream, SeaweedFS)', () => {
  it(`a lone event published while the bridge is idle is taken up within ${TAKE_UP_BOUND_MS} ms (no batch wait) and started (real servers)`, async () => {
    const tenant = uniqueTenant('lone');
    const [warmUp, ...names] = await upload(tenant, 7, 'lone');
    const bridge = await p.startBridge();
    const settledAt = new Map<string, number>();
    bridge.onResult = (result) => {
      p.results.push(result);
      if (result.kind === 'started') {
        startedIds.push(result.workflowId);
        settledAt.set(result.event.path, performance.now());
      }
    };
    // One event first, not measured: the bridge connects to Temporal lazily, on its first start.
    await p.publish(event(tenant, warmUp as string));
    await eventually('the warm-up start', async () => settledAt.get(`/buckets/${tenant}/uploads/${warmUp}`));
    await new Promise((resolve) => setTimeout(resolve, 300));

    const latencies: number[] = [];
    const takeUps: number[] = [];
    for (const name of names) {
      const path = `/buckets/${tenant}/uploads/${name}`;
      // Idle for a moment after the last start: the old bridge had just opened a 1 s pull by then, and
      // its lone event waited for that pull to expire.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const receivedBefore = bridge.counters.received;
      const publishedAt = performance.now();
      await p.publish(event(tenant, name));
      while (bridge.counters.received === receivedBefore && performance.now() - publishedAt < 5000)
        await new Promise((resolve) => setImmediate(resolve));
      takeUps.push(performance.now() - publishedAt);
      const at = await eventually(`the start of ${name}`, async () => settledAt.get(path), 20_000);
      latencies.push(at - publishedAt);
    }
    const shown = (values: number[]) => values.map((ms) => ms.toFixed(1)).join(', ');
    console.log(
      `[bridge-in-flight] lone event publish → taken up: ${shown(takeUps)} ms; → started (onResult, after the ack): ${shown(latencies)} ms`,
    );
    expect(latencies).toHaveLength(names.length);
    for (const ms of takeUps) expect(ms).toBeLessThan(TAKE_UP_BOUND_MS);
    expect(bridge.counters).toMatchObject({
      received: names.length + 1,
      started: names.length + 1,
      retried: 0,
    });
    await p.stopBridge();
  }, 60_000);

  it(`a burst of 30 events never holds more than P8FS_BRIDGE_MAX_IN_FLIGHT=${MAX_IN_FLIGHT} in flight, and stop() settles what it took (real servers)`, async () => {
    const tenant = uniqueTenant('window');
    const names = await upload(tenant, 30, 'burst');
    const bridge = await p.startBridge();
    let seenInFlight = 0;
    bridge.onResult = (result) => {
      // Sampled inside the callback, while this event still counts as in flight.
      seenInFlight = Math.max(seenInFlight, bridge.inFlight);
      p.results.push(result);
      if (result.kind === 'started') startedIds.push(result.workflowId);
    };
    const metrics = await exposition(bridge.metrics.registry);
    expect(metrics).toMatch(new RegExp(`^p8fs_bridge_in_flight_limit ${MAX_IN_FLIGHT}$`, 'm'));

    await Promise.all(names.map((name) => p.publish(event(tenant, name))));
    const started = await eventually(`${names.length} starts`, async () => {
      const found = p.results.filter(
        (r): r is Started => r.kind === 'started' && r.event.tenantId === tenant,
      );
      return found.length >= names.length ? found : undefined;
    });
    expect(new Set(started.map((r) => r.workflowId)).size).toBe(names.length);
    // The window filled (events did overlap) and never went past its limit.
    expect(bridge.peakInFlight).toBe(MAX_IN_FLIGHT);
    expect(seenInFlight).toBeGreaterThanOrEqual(1);
    expect(seenInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    console.log(
      `[bridge-in-flight] peak in flight ${bridge.peakInFlight} of ${MAX_IN_FLIGHT} (seen from onResult: ${seenInFlight})`,
    );

    // stop() in the middle of a second burst: whatever the bridge took is settled before stop returns.
    const more = await upload(tenant, 12, 'stop');
    await Promise.all(more.map((name) => p.publish(event(tenant, name))));
    const receivedBefore = bridge.counters.received;
    await eventually('the bridge to take some of the second burst', async () =>
      bridge.counters.received > receivedBefore ? true : undefined,
    );
    await p.stopBridge();
    expect(bridge.inFlight).toBe(0);
    const { received, started: startedCount, deduplicated, retried, deadLettered } = bridge.counters;
    expect(startedCount + deduplicated + retried + deadLettered).toBe(received);
    const jsm = await jetstreamManager(p.nc);
    const info = await jsm.consumers.info(p.cfg.nats.eventsStream, p.cfg.nats.bridgeConsumer);
    // Nothing the stopped bridge took is left unsettled: every message is acked, nak-ed (Temporal too slow
    // on a loaded machine: JetStream holds it for redelivery) or still waiting in JetStream.
    const acked = startedCount + deduplicated + deadLettered;
    console.log(
      `[bridge-in-flight] after stop: counters ${JSON.stringify(bridge.counters)}; consumer pending ${info.num_pending}, ack pending ${info.num_ack_pending}`,
    );
    expect(info.num_ack_pending).toBeLessThanOrEqual(retried);
    expect(info.num_pending + info.num_ack_pending + acked).toBe(names.length + more.length);
    if (retried > 0)
      console.log(`[bridge-in-flight] ${retried} events nak-ed (Temporal slow) during the burst`);
  }, 60_000);
});
