/**
 * The timed runs of the end-to-end bench. Product: N different 4 KB Markdown files uploaded (untimed),
 * their storage events published in one burst, timed from the first publish until every file's row is
 * completed with its resources. Ceiling: N no-op workflows started with the bridge's concurrency, timed
 * from the first start until the last one closed. Both verify their results, so a broken run cannot look
 * fast.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { taskQueueFor } from '../../src/temporal/names.js';
import type { Pipeline } from '../../test/support/pipeline.js';
import { uniqueTenant } from '../../test/support/test-stack.js';
import { progress } from '../lib.js';
import type { NoopChainInput } from '../noop/workflows.js';
import { type CpuRow, PhaseCpu, type ServerPids } from './cpu.js';
import { assertAlive, type BenchProcess } from './processes.js';
import { memory, resetPeak } from './procfs.js';

export interface RunResult {
  files: number;
  seconds: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  cpu: CpuRow[];
  /** Busy CPU seconds of the whole machine over the run, including work that is not the bench's. */
  machineBusy: number;
  /** 1-minute load average at the start and the end of the run. */
  load: [number, number];
}

export interface ProductRun extends RunResult {
  concurrency: number;
  resources: number;
  workerIdleMiB: number;
  workerPeakMiB: number;
  extractionPeakMiB: number;
  /** Whether the worker's VmHWM was reset before the burst (else it covers the process's whole life). */
  peakReset: boolean;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function inPool<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const WORDS = (
  'the of and to in is was for on that with as by at from they have had not are this which storage ' +
  'worker chunk token stream river mountain harbour engine signal letter garden window market notes ' +
  'meeting plan budget review draft summary project team travel dinner idea question answer'
).split(' ');

/** A different ~4 KB Markdown note per index: a heading, then prose paragraphs from a seeded generator. */
export function markdownNote(index: number, bytes = 4096): string {
  let seed = (index + 1) * 2654435761;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  let text = `# Note ${index + 1}\n\n## Section A\n\n`;
  while (text.length < bytes) {
    const words: string[] = [];
    for (let w = 8 + (next() % 12); w > 0; w--) words.push(WORDS[next() % WORDS.length] as string);
    text += `${words.join(' ')}.${next() % 5 === 0 ? '\n\n' : ' '}`;
  }
  return text.slice(0, bytes);
}

export interface ProductRunOptions {
  p: Pipeline;
  files: number;
  concurrency: number;
  bridge: BenchProcess;
  worker: BenchProcess;
  servers: ServerPids;
  label: string;
  quiet?: boolean;
}

export async function runProduct(o: ProductRunOptions): Promise<ProductRun> {
  const { p, files } = o;
  const tenant = uniqueTenant(`e2e${o.label}`);
  const keys = Array.from({ length: files }, (_, i) => `notes/e2e-${String(i).padStart(5, '0')}.md`);
  const bodies = keys.map((_, i) => markdownNote(i + files * 7));
  if (!o.quiet) progress(`${o.label}: uploading ${files} × 4 KB Markdown files to s3://${tenant} (untimed)`);
  await p.putObject(tenant, keys[0] as string, bodies[0] as string, 'text/markdown');
  await inPool(keys.slice(1), 16, (key, i) =>
    p.putObject(tenant, key, bodies[i + 1] as string, 'text/markdown'),
  );

  const peakReset = resetPeak(o.worker.pid);
  const workerIdleMiB = memory(o.worker.pid)?.rss ?? Number.NaN;
  const cpu = new PhaseCpu({ bridge: o.bridge.pid, worker: o.worker.pid }, o.servers);
  const sampler = setInterval(() => cpu.sample(), 200);
  const sent = new Map<string, number>();
  cpu.start();
  const loadStart = os.loadavg()[0] ?? 0;
  const t0 = Date.now();
  try {
    // The burst: every event published as fast as JetStream takes them (256 in flight).
    await inPool(keys, 256, async (key, i) => {
      const path = `/buckets/${tenant}/${key}`;
      sent.set(path, Date.now());
      await p.publish({
        event_type: 'create',
        path,
        size: Buffer.byteLength(bodies[i] as string),
        mime_type: 'text/markdown',
      });
    });
    if (!o.quiet)
      progress(`${o.label}: ${files} events published in ${Date.now() - t0} ms; waiting for the rows`);
    let done = 0;
    let lastChange = Date.now();
    let lastReport = Date.now();
    while (done < files) {
      await sleep(250);
      assertAlive(o.bridge);
      assertAlive(o.worker);
      const { rows } = await p.pool.query<{ completed: number; failed: number }>(
        `SELECT count(*) FILTER (WHERE status = 'completed' AND EXISTS (SELECT 1 FROM resources r WHERE r.file_id = f.id))::int AS completed,
                count(*) FILTER (WHERE status = 'failed')::int AS failed
           FROM files f WHERE tenant_id = $1`,
        [tenant],
      );
      const now = rows[0] ?? { completed: 0, failed: 0 };
      if (now.failed > 0)
        throw new Error(`${now.failed} file(s) failed in ${tenant}: the product run is broken`);
      if (now.completed !== done) lastChange = Date.now();
      done = now.completed;
      if (Date.now() - lastChange > 90_000)
        throw new Error(`no file completed for 90 s (${done}/${files}): the pipeline is stuck`);
      if (!o.quiet && Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        const s = (Date.now() - t0) / 1000;
        progress(
          `${o.label}: ${done}/${files} committed after ${s.toFixed(0)} s (${(done / s).toFixed(1)}/s)`,
        );
      }
    }
  } finally {
    clearInterval(sampler);
  }
  const cpuRows = cpu.stop();
  const workerPeakMiB = memory(o.worker.pid)?.hwm ?? Number.NaN;

  // Commit time: files.updated_at of the completed row, PostgreSQL's now() of the store transaction.
  const { rows } = await p.pool.query<{ path: string; ms: number; resources: number }>(
    `SELECT f.path, (extract(epoch FROM f.updated_at) * 1000)::float8 AS ms,
            (SELECT count(*) FROM resources r WHERE r.file_id = f.id)::int AS resources
       FROM files f WHERE tenant_id = $1 AND status = 'completed'`,
    [tenant],
  );
  const latencies: number[] = [];
  let resources = 0;
  let last = t0;
  for (const row of rows) {
    const at = sent.get(row.path);
    if (at === undefined) throw new Error(`a completed row for a path never published: ${row.path}`);
    if (row.resources < 1) throw new Error(`${row.path} is completed without resources`);
    latencies.push(row.ms - at);
    resources += row.resources;
    last = Math.max(last, row.ms);
  }
  if (rows.length !== files) throw new Error(`${rows.length} completed rows for ${files} files`);
  const seconds = (last - t0) / 1000;
  return {
    files,
    seconds,
    rate: files / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpu: cpuRows,
    machineBusy: cpu.machineBusy,
    load: [loadStart, os.loadavg()[0] ?? 0],
    concurrency: o.concurrency,
    resources,
    workerIdleMiB,
    workerPeakMiB,
    extractionPeakMiB: cpu.childPeakMiB('worker'),
    peakReset,
  };
}

export interface ActivityCount {
  workflowId: string;
  activities: number;
  localActivities: number;
}

/** Activities one completed product file took, from its workflow history (ActivityTaskScheduled events). */
export async function activitiesPerFile(p: Pipeline): Promise<ActivityCount> {
  const query = `TaskQueue = "${taskQueueFor(p.cfg, 'small')}" AND ExecutionStatus = "Completed"`;
  for await (const execution of p.temporal.workflow.list({ query, pageSize: 1 })) {
    const history = await p.temporal.workflow.getHandle(execution.workflowId).fetchHistory();
    const events = history.events ?? [];
    return {
      workflowId: execution.workflowId,
      activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
      // Local activities leave a marker each instead of scheduled/started/completed events.
      localActivities: events.filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      ).length,
    };
  }
  throw new Error(`no completed workflow found with ${query}`);
}

export interface CeilingOptions {
  temporal: Client;
  taskQueue: string;
  files: number;
  input: NoopChainInput;
  /** Starts in flight at once: the bridge's P8FS_BRIDGE_MAX_IN_FLIGHT. */
  window: number;
  noopWorker: BenchProcess;
  servers: ServerPids;
  label: string;
  quiet?: boolean;
}

export async function runCeiling(o: CeilingOptions): Promise<RunResult> {
  const prefix = `${o.taskQueue}-${o.label}-${Date.now().toString(36)}`;
  const ids = Array.from({ length: o.files }, (_, i) => `${prefix}-${i}`);
  const sent: number[] = [];
  const cpu = new PhaseCpu({ worker: o.noopWorker.pid }, o.servers);
  const sampler = setInterval(() => cpu.sample(), 200);
  cpu.start();
  const loadStart = os.loadavg()[0] ?? 0;
  const t0 = Date.now();
  try {
    await inPool(ids, o.window, async (workflowId, i) => {
      sent[i] = Date.now();
      await o.temporal.workflow.start('noopChain', {
        taskQueue: o.taskQueue,
        workflowId,
        args: [o.input],
      });
    });
    if (!o.quiet)
      progress(`${o.label}: ${o.files} started in ${Date.now() - t0} ms; waiting for them to close`);
    // One result at a time, in start order: a cheap wait that adds no load while they run.
    const expected = o.input.activities + o.input.localActivities;
    for (const id of ids) {
      assertAlive(o.noopWorker);
      const steps = await o.temporal.workflow.getHandle(id).result();
      if (steps !== expected) throw new Error(`${id} ran ${steps} steps, expected ${expected}`);
    }
  } finally {
    clearInterval(sampler);
  }
  const cpuRows = cpu.stop();
  const closed: number[] = new Array(o.files);
  await inPool(ids, 16, async (id, i) => {
    const description = await o.temporal.workflow.getHandle(id).describe();
    if (description.status.name !== 'COMPLETED' || !description.closeTime)
      throw new Error(`${id} is ${description.status.name}`);
    closed[i] = description.closeTime.getTime();
  });
  const latencies = closed.map((at, i) => at - (sent[i] as number));
  const seconds = (Math.max(...closed) - t0) / 1000;
  return {
    files: o.files,
    seconds,
    rate: o.files / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpu: cpuRows,
    machineBusy: cpu.machineBusy,
    load: [loadStart, os.loadavg()[0] ?? 0],
  };
}
