/**
 * Traces end to end against a real OTLP receiver: a private Jaeger v2 (built by scripts/install-jaeger.sh
 * into .stack/bin; `make chaos` runs it first) on free ports, `p8fs bridge` and `p8fs worker` as child
 * processes with tracing on, uploaded files. For each, Jaeger's query API must show ONE trace holding the
 * bridge's span for the event, the workflow start, the workflow run and a span for every activity the
 * workflow's history says it ran: a small file in one activity (ingestSmallFile) and a bigger one in the
 * four steps.
 *
 * In `make chaos` only (it lives in test/chaos/): building Jaeger takes minutes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { projectRoot } from '../../src/config/project-root.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { tracesUrl } from '../../src/telemetry/tracing.js';
import { type RunningCli, spawnWorkerProcess, startCli, type WorkerProcess } from '../support/cli.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const JAEGER = resolve(projectRoot(), '.stack/bin/jaeger');
const SAMPLES = resolve(projectRoot(), '../shared/samples');
// Files up to this size take the one-activity path (ingestSmallFile); bigger ones the four steps. The
// worker gets it so that one test file takes each: small/sample.txt (497 B), Sample.md (413 KB).
const SINGLE_ACTIVITY_MAX_BYTES = 100_000;

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const tenant = uniqueTenant('traces');
let jaeger: ChildProcess | undefined;
let jaegerLog = '';
let jaegerDir: string | undefined;
let queryUrl = '';
let env: Record<string, string | undefined> = {};
let p: Pipeline | undefined;
let bridge: RunningCli | undefined;
let worker: WorkerProcess | undefined;

// Last resort if this test process ends without afterAll: nothing we started outlives it.
process.on('exit', () => {
  for (const child of [jaeger, bridge?.child, worker?.child])
    if (child && child.exitCode === null) child.kill('SIGKILL');
});

/** Jaeger v2's all-in-one pipeline (OTLP → memory store → query API), every listener on a port of ours. */
function jaegerConfig(ports: { otlpHttp: number; queryHttp: number; queryGrpc: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${ports.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

async function startJaeger(): Promise<number> {
  const ports = { otlpHttp: await freePort(), queryHttp: await freePort(), queryGrpc: await freePort() };
  jaegerDir = mkdtempSync(join(tmpdir(), 'p8fs-jaeger-'));
  const configFile = join(jaegerDir, 'config.yaml');
  writeFileSync(configFile, jaegerConfig(ports));
  jaeger = spawn(JAEGER, ['--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    jaegerLog = (jaegerLog + chunk.toString()).slice(-20_000);
  };
  jaeger.stdout?.on('data', keep);
  jaeger.stderr?.on('data', keep);
  queryUrl = `http://127.0.0.1:${ports.queryHttp}`;
  await eventually(
    'Jaeger query API to answer',
    async () => {
      if (jaeger?.exitCode !== null) throw new Error(`jaeger exited ${jaeger?.exitCode}: ${jaegerLog}`);
      const response = await fetch(`${queryUrl}/api/services`);
      return response.ok ? true : undefined;
    },
    30_000,
  );
  return ports.otlpHttp;
}

async function traces(service: string): Promise<JaegerTrace[]> {
  const response = await fetch(`${queryUrl}/api/traces?service=${encodeURIComponent(service)}&limit=200`);
  if (!response.ok) throw new Error(`Jaeger /api/traces: HTTP ${response.status}`);
  return ((await response.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}

function serviceOf(trace: JaegerTrace, span: JaegerSpan): string | undefined {
  return trace.processes[span.processID]?.serviceName;
}

function childOutput(): string {
  return [
    `bridge:\n${bridge?.output().split('\n').slice(-20).join('\n') ?? '(not started)'}`,
    `worker:\n${worker?.output.slice(-20).join('\n') ?? '(not started)'}`,
    `jaeger:\n${jaegerLog.split('\n').slice(-20).join('\n')}`,
  ].join('\n');
}

beforeAll(async () => {
  if (!existsSync(JAEGER)) {
    throw new Error(
      `Jaeger is not installed at ${JAEGER}: run \`bash scripts/install-jaeger.sh\` (make chaos does)`,
    );
  }
  const otlpHttp = await startJaeger();
  env = isolatedEnv('traces', {
    P8FS_OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpHttp}`,
    // Bundle the workflows from source, so the workflow interceptors in this checkout are what runs.
    P8FS_LOG_LEVEL: 'info',
    P8FS_LOG_FORMAT: 'json',
    P8FS_SINGLE_ACTIVITY_MAX_BYTES: String(SINGLE_ACTIVITY_MAX_BYTES),
  });
  p = await createPipeline('traces', {}, env);
  bridge = startCli(['bridge'], env);
  worker = spawnWorkerProcess(env);
  await bridge.waitFor(/bridge running/, 60_000);
  await eventually(
    'the worker to start polling',
    async () => {
      if (worker?.child.exitCode !== null) throw new Error('the worker exited');
      return worker.output.some((line) => /workers running/.test(line)) ? true : undefined;
    },
    120_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${childOutput()}`);
  });
}, 240_000);

afterAll(async () => {
  const stops: Promise<unknown>[] = [];
  for (const child of [bridge?.child, worker?.child]) {
    if (!child || child.exitCode !== null) continue;
    stops.push(new Promise((done) => child.once('exit', done)));
    child.kill('SIGTERM');
    setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 30_000).unref();
  }
  await Promise.all(stops);
  await p?.close();
  if (jaeger && jaeger.exitCode === null) {
    const exited = new Promise((done) => jaeger?.once('exit', done));
    jaeger.kill('SIGTERM');
    setTimeout(() => jaeger?.exitCode === null && jaeger.kill('SIGKILL'), 10_000).unref();
    await exited;
  }
  if (jaegerDir) rmSync(jaegerDir, { recursive: true, force: true });
}, 90_000);

describe('traces over OTLP into a real Jaeger v2 (bridge and worker as child processes, real servers)', () => {
  /**
   * Uploads one sample through the bridge and checks its trace: bridge event → workflow start → workflow
   * run → every activity its history scheduled, all in one trace. Returns those activity types.
   */
  async function uploadAndCheckTrace(sample: string, key: string, mimeType: string): Promise<string[]> {
    const pipeline = p as Pipeline;
    const body = readFileSync(join(SAMPLES, sample));
    const path = `/buckets/${tenant}/${key}`;
    await pipeline.putObject(tenant, key, body, mimeType);
    await pipeline.publish({ event_type: 'create', path, size: body.length, mime_type: mimeType });

    const fileId = fileIdFor(tenant, path);
    const status = await eventually(
      `files row of ${path} to finish`,
      async () => {
        const r = await pipeline.pool.query<{ status: string }>('SELECT status FROM files WHERE id = $1', [
          fileId,
        ]);
        const row = r.rows[0];
        return row && row.status !== 'processing' ? row.status : undefined;
      },
      90_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${childOutput()}`);
    });
    expect(status).toBe('completed');

    // The bridge's span for the event names the workflow it started; its trace is the file's trace.
    const bridgeTrace = await eventually('the bridge span in Jaeger', async () => {
      for (const trace of await traces('p8fs-bridge')) {
        const span = trace.spans.find(
          (s) =>
            s.operationName === 'p8fs.bridge.event' &&
            tag(s, 'p8fs.route.result') === 'started' &&
            String(tag(s, 'p8fs.workflow_id')).includes(key),
        );
        if (span) return { trace, span };
      }
      return undefined;
    });
    const workflowId = String(tag(bridgeTrace.span, 'p8fs.workflow_id'));
    expect(workflowId).toMatch(/\S/);
    const traceId = bridgeTrace.span.traceID;

    // What the workflow really ran, from its history in Temporal.
    const history = await pipeline.temporal.workflow.getHandle(workflowId).fetchHistory();
    const activityTypes = [
      ...new Set(
        (history.events ?? []).flatMap((e) => {
          const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
          return name ? [name] : [];
        }),
      ),
    ];
    expect(activityTypes.length).toBeGreaterThanOrEqual(1);
    const workflowType = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
    expect(workflowType).toBe('ingestFile');

    // Spans arrive in batches from two processes: wait until the trace holds every expected span.
    const expected = [
      'p8fs.bridge.event',
      `StartWorkflow:${workflowType}`,
      `RunWorkflow:${workflowType}`,
      ...activityTypes.flatMap((a) => [`StartActivity:${a}`, `RunActivity:${a}`]),
    ];
    const trace = await eventually(
      `trace ${traceId} to hold ${expected.join(', ')}`,
      async () => {
        const response = await fetch(`${queryUrl}/api/traces/${traceId}`);
        if (!response.ok) return undefined;
        const found = ((await response.json()) as { data: JaegerTrace[] }).data[0];
        const names = new Set(found?.spans.map((s) => s.operationName));
        return found && expected.every((name) => names.has(name)) ? found : undefined;
      },
      60_000,
    );

    const byName = (name: string) => trace.spans.filter((s) => s.operationName === name);
    const [eventSpan] = byName('p8fs.bridge.event');
    const [startSpan] = byName(`StartWorkflow:${workflowType}`);
    const [runSpan] = byName(`RunWorkflow:${workflowType}`);
    if (!eventSpan || !startSpan || !runSpan) throw new Error('expected spans missing');
    const parentOf = (span: JaegerSpan) => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

    // The bridge's span is the root; the start is its child and the workflow run the start's child.
    expect(parentOf(eventSpan)).toBeUndefined();
    expect(serviceOf(trace, eventSpan)).toBe('p8fs-bridge');
    expect(parentOf(startSpan)).toBe(eventSpan.spanID);
    expect(serviceOf(trace, startSpan)).toBe('p8fs-bridge');
    expect(parentOf(runSpan)).toBe(startSpan.spanID);
    expect(serviceOf(trace, runSpan)).toBe('p8fs-storage-worker');
    expect(tag(runSpan, 'temporalWorkflowId') ?? tag(startSpan, 'temporalWorkflowId')).toBe(workflowId);

    // Every activity: scheduled under the workflow run, executed (in the worker) under its schedule.
    for (const activity of activityTypes) {
      const scheduled = byName(`StartActivity:${activity}`);
      const ran = byName(`RunActivity:${activity}`);
      expect(scheduled.length, activity).toBeGreaterThanOrEqual(1);
      expect(ran.length, activity).toBeGreaterThanOrEqual(1);
      for (const s of scheduled) expect(parentOf(s), activity).toBe(runSpan.spanID);
      for (const r of ran) {
        expect(
          scheduled.map((s) => s.spanID),
          activity,
        ).toContain(parentOf(r));
        expect(serviceOf(trace, r)).toBe('p8fs-storage-worker');
        expect(tag(r, 'temporalWorkflowId')).toBe(workflowId);
      }
    }

    // ONE trace: no span of this workflow landed in another trace.
    const workerTraces = await traces('p8fs-storage-worker');
    const tracesOfWorkflow = new Set(
      workerTraces
        .filter((t) => t.spans.some((s) => tag(s, 'temporalWorkflowId') === workflowId))
        .map((t) => t.traceID),
    );
    expect([...tracesOfWorkflow]).toEqual([traceId]);
    return activityTypes;
  }

  it('one uploaded file yields one trace: bridge event → workflow start → workflow run → every activity (the four steps)', async () => {
    const activities = await uploadAndCheckTrace('content/Sample.md', 'uploads/Sample.md', 'text/markdown');
    // Bigger than the one-activity limit: registered by ingestSmallFile, then extract, chunk and store.
    expect(activities).toEqual(expect.arrayContaining(['extractText', 'chunkText', 'storeChunks']));
  });

  it('a small file in one activity (ingestSmallFile) is traced the same way', async () => {
    const activities = await uploadAndCheckTrace('small/sample.txt', 'uploads/sample.txt', 'text/plain');
    expect(activities).toEqual(['ingestSmallFile']);
  });
});

describe('tracing configuration', () => {
  it('is off by default; P8FS_OTEL_EXPORTER_OTLP_ENDPOINT wins over OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(tracesUrl(loadConfig({}))).toBeUndefined();
    expect(tracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }))).toBe(
      'http://collector:4318/v1/traces',
    );
    const both = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      P8FS_OTEL_EXPORTER_OTLP_ENDPOINT: 'https://p8fs-collector:4318/',
      OTEL_SERVICE_NAME: 'p8fs-edge',
    });
    expect(tracesUrl(both)).toBe('https://p8fs-collector:4318/v1/traces');
    expect(both.tracing.serviceName).toBe('p8fs-edge');
  });

  it('a bad endpoint is a configuration error naming the variable', () => {
    expect(() => loadConfig({ P8FS_OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT="grpc:\/\/collector:4317" is invalid: expected a URL with scheme http or https/,
    );
  });
});
