/**
 * Every process serves /metrics in the Prometheus text format, with HELP and TYPE for every family, parsed
 * here by a real parser (npm `parse-prometheus-text-format`): the bridge and the filer subscriber (in
 * this process, on their health ports) and a `p8fs worker --tier small llm` process (a storage worker and
 * the LLM worker; one process, so one workflow bundle to build, which keeps this test short) on its
 * P8FS_WORKER_METRICS_PORT with our metrics and the Temporal SDK's own for both task queues. Files go the
 * whole way: S3 upload → filer → subscriber → bridge → worker; then the counters must have moved by
 * exactly what happened, and no tenant may appear in any exposition.
 */
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { Subscriber } from '../../src/subscriber/subscriber.js';
import { llmTaskQueue, taskQueueFor } from '../../src/temporal/names.js';
import { type RunningCli, startCli } from '../support/cli.js';
import { momentSamples } from '../support/moments.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

/** The parser's model of one metric family (it ships no type declarations). */
interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }>;
}
const require = createRequire(import.meta.url);
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => Family[];

const tenant = uniqueTenant('metrics');
const [bridgePort, subscriberPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
const env = isolatedEnv('metrics', {
  P8FS_BRIDGE_HEALTH_PORT: String(bridgePort),
  P8FS_SUBSCRIBER_HEALTH_PORT: String(subscriberPort),
  P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
  P8FS_LLM_PROVIDER: 'heuristic',
});
env.P8FS_SUBSCRIBER_CURSOR_BUCKET = `cursor-${env.P8FS_TASK_QUEUE_PREFIX}`;

let p: Pipeline;
let subscriber: Subscriber | undefined;
let worker: RunningCli | undefined;
const began = Date.now();

beforeAll(async () => {
  // The worker process bundles its workflows while the rest starts here.
  worker = startCli(['worker', '--tier', 'small', 'llm'], {
    ...env,
    P8FS_WORKER_METRICS_PORT: String(workerPort),
    P8FS_LOG_LEVEL: 'info',
  });
  p = await createPipeline('metrics', {}, env);
  await p.startBridge();
  subscriber = await Subscriber.create(loadConfig(env), pino({ level: 'silent' }));
  subscriber.start();
  await subscriber.positioned;
  await worker.waitFor(/workers running/, 150_000);
}, 170_000);

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await subscriber?.stop();
  await p?.close();
});

async function scrape(port: number): Promise<{ text: string; families: Map<string, Family> }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const families = new Map(parsePrometheus(text).map((f) => [f.name, f]));
  return { text, families };
}

/** The value of the sample of `name` whose labels include `labels` (undefined when there is none). */
function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  const family = families.get(name);
  const found = family?.metrics.find((m) =>
    Object.entries(labels).every(([key, value]) => m.labels?.[key] === value),
  );
  return found?.value === undefined ? undefined : Number(found.value);
}

/** Every family has HELP and TYPE; counters of ours end in _total; no tenant anywhere. */
function checkExposition(text: string, families: Map<string, Family>): void {
  expect(families.size).toBeGreaterThan(10);
  for (const family of families.values()) {
    expect(family.help, `HELP of ${family.name}`).not.toBe('');
    expect(family.type, `TYPE of ${family.name}`).not.toBe('UNTYPED');
    expect(text).toContain(`# HELP ${family.name} `);
    expect(text).toContain(`# TYPE ${family.name} ${family.type.toLowerCase()}`);
    if (family.name.startsWith('p8fs_') && family.type === 'COUNTER') expect(family.name).toMatch(/_total$/);
    for (const m of family.metrics) {
      for (const label of Object.keys(m.labels ?? {})) expect(label).not.toMatch(/tenant/i);
    }
  }
  expect(text).not.toContain(tenant);
}

describe('metrics scrape of every process', () => {
  it('bridge, subscriber, storage and LLM workers: HELP and TYPE everywhere, and the counters moved', async () => {
    const markdown = '# Metrics\n\nA small note to count, with a second paragraph.\n';
    await p.putObject(tenant, 'uploads/note.md', markdown, 'text/markdown');
    await p.putObject(tenant, 'uploads/broken.pdf', '%PDF-1.4 this is not a PDF', 'application/pdf');
    const transcript = momentSamples()[0];
    if (!transcript) throw new Error('no moment samples in ../shared/samples/moments');
    await p.putObject(tenant, `transcripts/${transcript.name}.json`, JSON.stringify(transcript.input));
    // Straight to the stream: one event that is not JSON (dead-lettered), one directory (ignored).
    await p.publish('{not json');
    await p.publish({ event_type: 'create', path: `/buckets/${tenant}/uploads/` });

    // The worker process: one file completed and one failed (tier and provider), one moments job.
    const worker = await eventually(
      'the worker to count the completed file, the failed file and the moments job',
      async () => {
        const s = await scrape(workerPort);
        const done = sample(s.families, 'p8fs_worker_files_completed_total', {
          tier: 'small',
          provider: 'markdown',
        });
        const failed = sample(s.families, 'p8fs_worker_files_failed_total', {
          tier: 'small',
          provider: 'pdf',
        });
        const moments = sample(s.families, 'p8fs_llm_jobs_total', {
          type: 'build_moments',
          status: 'completed',
        });
        return done === 1 && failed === 1 && moments === 1 ? s : undefined;
      },
      60_000,
    );
    checkExposition(worker.text, worker.families);
    const queue = taskQueueFor(p.cfg, 'small');
    const llmQueue = llmTaskQueue(p.cfg);
    for (const name of [
      'p8fs_worker_file_bytes',
      'p8fs_worker_file_chunks',
      'p8fs_worker_step_duration_seconds',
    ]) {
      const family = worker.families.get(name);
      expect(family?.type, name).toBe('HISTOGRAM');
      expect(Number(family?.metrics[0]?.buckets?.['+Inf']), `${name} +Inf bucket`).toBeGreaterThanOrEqual(1);
    }
    // The parser keeps one series per labelled histogram: the label sets themselves are read from the text.
    expect(worker.text).toContain(
      `p8fs_worker_file_bytes_sum{tier="small",provider="markdown"} ${Buffer.byteLength(markdown)}`,
    );
    expect(worker.text).toMatch(/^p8fs_worker_file_chunks_count\{provider="markdown"\} 1$/m);
    // A failed file is counted as failed only, not observed as an ingested file.
    expect(worker.text).not.toContain('p8fs_worker_file_bytes_count{tier="small",provider="pdf"}');
    // Small files take one activity (ingestSmallFile) instead of register → extract → chunk → store.
    for (const step of ['ingestSmallFile', 'recordIngestFailure'])
      expect(worker.text).toContain(
        `p8fs_worker_step_duration_seconds_count{step="${step}",task_queue="${queue}",outcome="completed"}`,
      );
    // The broken PDF's extraction failed (non-retryable, one attempt).
    expect(worker.text).toContain(
      `p8fs_worker_step_duration_seconds_count{step="ingestSmallFile",task_queue="${queue}",outcome="failed"} 1`,
    );
    expect(worker.text).toContain(
      `p8fs_worker_step_duration_seconds_count{step="storeMoments",task_queue="${llmQueue}",outcome="completed"} 1`,
    );
    expect(sample(worker.families, 'p8fs_worker_sdk_metrics_up')).toBe(1);
    // The Temporal SDK's own worker metrics, on the same port, for both task queues.
    const sdk = [...worker.families.keys()].filter((name) => name.startsWith('temporal_'));
    expect(sdk).toEqual(
      expect.arrayContaining(['temporal_num_pollers', 'temporal_activity_execution_latency']),
    );
    for (const taskQueue of [queue, llmQueue])
      expect(sample(worker.families, 'temporal_num_pollers', { task_queue: taskQueue })).toBeGreaterThan(0);
    expect(worker.families.get('process_cpu_user_seconds_total')?.type).toBe('COUNTER');
    const health = await fetch(`http://127.0.0.1:${workerPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      workers: expect.arrayContaining([
        { taskQueue: queue, state: 'RUNNING' },
        { taskQueue: llmQueue, state: 'RUNNING' },
      ]),
    });

    // Bridge: 3 uploads started (2 files on small, 1 transcript), 1 dead letter, 1 ignored directory.
    const bridge = await scrape(bridgePort);
    checkExposition(bridge.text, bridge.families);
    const b = (name: string, labels?: Record<string, string>) => sample(bridge.families, name, labels);
    expect(b('p8fs_bridge_started_total', { tier: 'small' })).toBe(3);
    expect(b('p8fs_bridge_received_total')).toBe(5);
    expect(b('p8fs_bridge_deduplicated_total')).toBe(0);
    expect(b('p8fs_bridge_dead_lettered_total')).toBe(1);
    expect(b('p8fs_bridge_dead_lettered_by_reason_total', { reason: 'invalid_event' })).toBe(1);
    expect(b('p8fs_bridge_dead_lettered_by_reason_total', { reason: 'object_missing' })).toBe(0);
    expect(b('p8fs_bridge_ignored_total')).toBe(1);
    expect(b('p8fs_bridge_ignored_by_category_total', { category: 'directory' })).toBe(1);
    expect(b('p8fs_bridge_temporal_up')).toBe(1);
    expect(b('p8fs_bridge_stream_messages')).toBe(5);
    expect(b('p8fs_bridge_consumer_pending')).toBe(0);
    expect(b('p8fs_bridge_consumer_ack_pending')).toBe(0);
    expect(b('p8fs_bridge_consumer_redelivered')).toBe(0);
    expect(b('p8fs_bridge_dead_letters')).toBe(1);
    expect(bridge.families.get('p8fs_bridge_consumer_pending')?.type).toBe('GAUGE');

    // Subscriber: the three uploads were published from the filer.
    const sub = await scrape(subscriberPort);
    checkExposition(sub.text, sub.families);
    const s = (name: string, labels?: Record<string, string>) => sample(sub.families, name, labels);
    expect(s('p8fs_subscriber_published_total')).toBe(3);
    expect(s('p8fs_subscriber_duplicates_total')).toBe(0);
    expect(s('p8fs_subscriber_seen_total')).toBeGreaterThanOrEqual(3);
    expect(s('p8fs_subscriber_skipped_by_reason_total', { reason: 'directory' })).toBeGreaterThanOrEqual(0);
    expect(s('p8fs_subscriber_filer_connected')).toBe(1);
    expect(s('p8fs_subscriber_lag_seconds')).toBeGreaterThanOrEqual(0);
    console.log(`[metrics-scrape] ${((Date.now() - began) / 1000).toFixed(1)} s from the file's start`);
  }, 120_000);
});
