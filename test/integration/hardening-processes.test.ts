/**
 * Hardening of the `p8fs` processes on real servers (the shared test stack, isolated names): every
 * command ends promptly on SIGTERM and SIGINT and says what it leaves behind; a taken metrics port is a
 * clear start-up error and the exporter listens on loopback only; a sample whose name no event may carry
 * is refused before anything is uploaded; configuration errors never print a password.
 *
 * Every process is the real CLI (src/cli/run.ts through tsx) as a child of this test.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RouteResult, routeEvent } from '../../src/bridge/route-event.js';
import { connectNats } from '../../src/clients/nats.js';
import { ensureBucket, headObject } from '../../src/clients/object-store.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { serverBinDir } from '../../src/stack/paths.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { envWithoutOurSettings, runCli } from '../support/cli.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { dropBucket, eventually } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

/** PENDING_ACTIVITY_STATE_STARTED in temporal.api.enums.v1.PendingActivityState. */
const PENDING_ACTIVITY_STATE_STARTED = 2;
const GRACE_SECONDS = 3;
/** What "promptly" allows beyond the grace period: cancelling, closing connections, node exiting. */
const EXIT_MARGIN_MS = 7000;

const log = (message: string) => console.log(`[hardening-processes] ${message}`);

const env = isolatedEnv('hardproc', {
  P8FS_LOG_LEVEL: 'info',
  P8FS_LOG_FORMAT: 'json',
  P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
  DATABASE_URL: '',
});
const quietCfg: Config = loadConfig({ ...env, P8FS_LOG_LEVEL: 'silent' });
const tempDir = mkdtempSync(join(tmpdir(), 'p8fs-hardening-'));
const tenants: string[] = [];
const workflowIds = new Set<string>();
let pool: pg.Pool | undefined;
let s3: S3Client | undefined;
let temporal: Client | undefined;

interface Proc {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Exit code (null when killed by a signal) and when it happened. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}
const processes: Proc[] = [];
process.on('exit', () => {
  for (const p of processes)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

/** `p8fs …` as a child process with exactly `extra` on top of this file's environment (no stray P8FS_*). */
function p8fs(args: string[], extra: Record<string, string> = {}): Proc {
  const childEnv = envWithoutOurSettings();
  for (const [key, value] of Object.entries({ ...env, ...extra }))
    if (value !== undefined) childEnv[key] = value;
  childEnv.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
    cwd: process.cwd(),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const proc: Proc = {
    child,
    exited,
    output: () => output,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`p8fs ${args.join(' ')} exited waiting for ${pattern}:\n${output}`);
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
  processes.push(proc);
  return proc;
}

/** Waits for the exit, at most `ms`; a process still running then is killed and the test fails. */
async function exitWithin(proc: Proc, ms: number) {
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), ms);
  const result = await proc.exited;
  clearTimeout(timer);
  if (result.signal === 'SIGKILL')
    throw new Error(`still running ${ms} ms after the signal:\n${proc.output()}`);
  return result;
}

function deps() {
  if (!pool || !s3 || !temporal) throw new Error('not set up');
  return { pool, s3, temporal };
}

function newTenant(label: string): string {
  const tenant = uniqueTenant(label);
  tenants.push(tenant);
  return tenant;
}

/** Uploads a small text file and routes its create event exactly as the bridge does. */
async function ingest(tenant: string, key: string): Promise<string> {
  const { s3, temporal } = deps();
  await ensureBucket(s3, tenant);
  await s3.send(
    new PutObjectCommand({ Bucket: tenant, Key: key, Body: 'hello '.repeat(300), ContentType: 'text/plain' }),
  );
  const event = JSON.stringify({ event_type: 'create', path: `/buckets/${tenant}/${key}` });
  const result: RouteResult = await routeEvent({ cfg: quietCfg, s3, temporal }, event, `hardening:${key}`);
  if (result.kind !== 'started') throw new Error(`routing ${key}: ${JSON.stringify(result)}`);
  workflowIds.add(result.workflowId);
  return result.workflowId;
}

async function extractRunning(workflowId: string): Promise<boolean> {
  const description = await ingestFileHandle(deps().temporal, workflowId).describe();
  const extract = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'extractText');
  return extract?.state === PENDING_ACTIVITY_STATE_STARTED;
}

async function workflowStatus(workflowId: string): Promise<string | undefined> {
  return (await ingestFileHandle(deps().temporal, workflowId).describe()).status.name;
}

/** Listening sockets on `port` from /proc/net/tcp{,6}: their local addresses as hex, e.g. 0100007F. */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [address, portHex] = (fields[1] ?? '').split(':');
      if (portHex === hexPort && fields[3] === '0A' && address) found.push(address);
    }
  }
  return found;
}

beforeAll(async () => {
  pool = await createTestDatabase(quietCfg);
  s3 = createS3Client(quietCfg);
  temporal = await connectTemporal(quietCfg);
}, 120_000);

afterAll(async () => {
  try {
    await Promise.all(
      processes.map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        p.child.kill('SIGKILL');
        await p.exited;
      }),
    );
    for (const id of workflowIds) {
      await ingestFileHandle(deps().temporal, id)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  } finally {
    await temporal?.connection.close().catch(() => undefined);
    if (s3) {
      for (const bucket of [...tenants, quietCfg.s3.derivedBucket])
        await dropBucket(s3, bucket).catch(() => undefined);
      s3.destroy();
    }
    const nc = await connectNats(quietCfg, 'hardening-cleanup');
    const jsm = await jetstreamManager(nc);
    for (const stream of [quietCfg.nats.eventsStream, quietCfg.nats.dlqStream, quietCfg.nats.testStream])
      await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    if (pool) await dropTestDatabase(quietCfg, pool);
    rmSync(tempDir, { recursive: true, force: true });
  }
}, 60_000);

describe('hardening: processes stop promptly and leave nothing behind silently (real processes)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'p8fs worker with an activity in flight: %s → drains for the grace period, cancels, exits 0',
    async (signal) => {
      const tenant = newTenant(`sig${signal}`);
      const worker = p8fs(['worker', '--tier', 'small'], {
        P8FS_WORKER_METRICS_PORT: '0',
        // Holds extractText (heartbeating, cancellable) far longer than the grace period.
        P8FS_FAULT_PAUSE_EXTRACT_MS: '600000',
      });
      await worker.waitFor(/workers running/);
      const workflowId = await ingest(tenant, 'uploads/held.txt');
      await eventually('extractText to be in flight on the worker', async () =>
        (await extractRunning(workflowId)) ? true : undefined,
      );

      const signalled = Date.now();
      worker.child.kill(signal);
      const result = await exitWithin(worker, GRACE_SECONDS * 1000 + EXIT_MARGIN_MS);
      const seconds = (result.at - signalled) / 1000;
      log(`worker ${signal} → exit ${result.code} after ${seconds.toFixed(1)} s (grace ${GRACE_SECONDS} s)`);
      expect(result.code, worker.output()).toBe(0);
      // It waited for the in-flight activity (the grace period), and not much longer.
      expect(seconds).toBeGreaterThanOrEqual(GRACE_SECONDS - 0.5);
      expect(seconds).toBeLessThan(GRACE_SECONDS + EXIT_MARGIN_MS / 1000);
      expect(worker.output()).toMatch(/"msg":"shutting down: no new tasks/);
      expect(worker.output()).toMatch(/"msg":"workers stopped"/);
      await ingestFileHandle(deps().temporal, workflowId).terminate('test done');
    },
    90_000,
  );

  it('a self-test whose step keeps failing: SIGTERM → exits at once, terminates its workflow and says so', async () => {
    const tenant = newTenant('selfsigterm');
    const sample = join(tempDir, 'never-stored.txt');
    writeFileSync(sample, 'extractText fails retryably on every attempt (fault injection)\n');
    const selfTest = p8fs(
      ['storage-worker', '--tier', 'small', '--send-sample', sample, '--tenant', tenant],
      { P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS: '1000' },
    );
    await selfTest.waitFor(/3\/5 routed to \S+ as workflow \S+/);
    const workflowId = /routed to \S+ as workflow (\S+)/.exec(selfTest.output())?.[1] as string;
    workflowIds.add(workflowId);
    await eventually('extractText to have failed and be retrying', async () => {
      const description = await ingestFileHandle(deps().temporal, workflowId).describe();
      const extract = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'extractText');
      return (extract?.attempt ?? 0) >= 2 ? true : undefined;
    });
    // Give the self-test's follower (it polls every 300 ms) a moment to print the retry.
    await selfTest.waitFor(/extractText retrying/, 5000).catch(() => undefined);

    const signalled = Date.now();
    selfTest.child.kill('SIGTERM');
    const result = await exitWithin(selfTest, GRACE_SECONDS * 1000 + EXIT_MARGIN_MS);
    const seconds = (result.at - signalled) / 1000;
    log(`self-test SIGTERM → exit ${result.code} after ${seconds.toFixed(1)} s`);
    expect(result.code, selfTest.output()).toBe(143);
    expect(selfTest.output()).toMatch(
      new RegExp(
        `stopped by SIGTERM after [\\d.]+ s: terminated its workflow ${escapeRegExp(workflowId)} on task queue ${escapeRegExp(quietCfg.temporal.taskQueuePrefix)}-storage-small; nothing left running`,
      ),
    );
    expect(selfTest.output()).toContain('[self-test] FAILED');
    expect(await workflowStatus(workflowId)).toBe('TERMINATED');
    // The retries were shown while they happened (they are not in the history until the activity gives up).
    expect(selfTest.output()).toMatch(/4\/5 {3}extractText retrying \(attempt 2\): last failure: \S/);
  }, 150_000);

  it('a self-test past its --timeout with --keep-workflow: exits 1 and prints the workflow, its queue and working stop commands', async () => {
    const tenant = newTenant('selfdeadline');
    const sample = join(tempDir, 'kept.txt');
    writeFileSync(sample, 'left running on purpose\n');
    const started = Date.now();
    const selfTest = p8fs(
      [
        'storage-worker',
        '--tier',
        'small',
        '--send-sample',
        sample,
        '--tenant',
        tenant,
        '--timeout',
        '15',
        '--keep-workflow',
      ],
      { P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS: '1000' },
    );
    // The deadline runs from inside the process, so the bound starts at its first step: loading the CLI
    // through tsx takes 2–15 s here depending on what runs beside it, and is not the self-test's to bound.
    await selfTest.waitFor(/1\/5 uploaded/);
    const firstStep = Date.now();
    // After the deadline: the workers drain for the grace, then two bounded cleanup steps (5 s each).
    const result = await exitWithin(selfTest, 15_000 + GRACE_SECONDS * 1000 + 2 * 5000 + EXIT_MARGIN_MS);
    log(
      `self-test --timeout 15 → exit ${result.code} after ${((result.at - firstStep) / 1000).toFixed(1)} s from its first step (${((result.at - started) / 1000).toFixed(1)} s from spawn)`,
    );
    const output = selfTest.output();
    expect(result.code, output).toBe(1);
    const workflowId = /routed to \S+ as workflow (\S+)/.exec(output)?.[1] as string;
    workflowIds.add(workflowId);
    const queue = `${quietCfg.temporal.taskQueuePrefix}-storage-small`;
    expect(output).toMatch(
      new RegExp(
        `stopped by the --timeout of 15 s after [\\d.]+ s; left running \\(--keep-workflow\\): workflow ${escapeRegExp(workflowId)} on task queue ${escapeRegExp(queue)}`,
      ),
    );
    expect(await workflowStatus(workflowId)).toBe('RUNNING');
    const cancel = /\[self-test\] {3}(temporal workflow cancel .*)/.exec(output)?.[1];
    const terminate = /\[self-test\] {3}(temporal workflow terminate .*)/.exec(output)?.[1];
    expect(cancel).toContain(`--workflow-id '${workflowId}'`);
    expect(terminate).toContain(`--address '${quietCfg.temporal.address}'`);
    // The printed command works as printed.
    execFileSync('bash', ['-c', terminate as string], {
      env: { ...process.env, PATH: `${serverBinDir()}:${process.env.PATH}` },
      stdio: 'pipe',
    });
    expect(await workflowStatus(workflowId)).toBe('TERMINATED');
  }, 150_000);

  it('a second worker on a taken metrics port exits 1 at once naming the variable; the exporter listens on 127.0.0.1 only', async () => {
    const port = await freePort();
    const first = p8fs(['worker', '--tier', 'small'], { P8FS_WORKER_METRICS_PORT: String(port) });
    await first.waitFor(/workers running/);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.status).toBe(200);
    const addresses = listeningAddresses(port);
    log(`metrics port ${port} listening on ${addresses.join(', ')}`);
    expect(addresses).toEqual(['0100007F']);

    const started = Date.now();
    const second = p8fs(['worker', '--tier', 'small'], { P8FS_WORKER_METRICS_PORT: String(port) });
    const result = await exitWithin(second, 30_000);
    log(`second worker exited ${result.code} after ${((result.at - started) / 1000).toFixed(1)} s`);
    expect(result.code).toBe(1);
    expect(second.output()).toContain(
      `worker metrics exporter cannot listen on 127.0.0.1:${port} (P8FS_WORKER_METRICS_HOST=127.0.0.1, P8FS_WORKER_METRICS_PORT=${port}): the port is already in use`,
    );
    expect(second.output()).not.toMatch(/workers running/);

    first.child.kill('SIGTERM');
    expect((await exitWithin(first, GRACE_SECONDS * 1000 + EXIT_MARGIN_MS)).code).toBe(0);
  }, 90_000);

  it('a bridge or subscriber whose health port is taken exits 1 at once naming the variable', async () => {
    const taken = createServer();
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, '0.0.0.0', () => resolve((taken.address() as { port: number }).port)),
    );
    try {
      for (const [command, variable] of [
        ['bridge', 'P8FS_BRIDGE_HEALTH_PORT'],
        ['seaweed-events', 'P8FS_SUBSCRIBER_HEALTH_PORT'],
      ] as const) {
        const proc = p8fs([command], { [variable]: String(port) });
        const result = await exitWithin(proc, 30_000);
        expect(result.code, proc.output()).toBe(1);
        expect(proc.output()).toContain(
          `${variable}=${port}: cannot serve /health and /metrics on 0.0.0.0:${port}: the port is already in use`,
        );
      }
    } finally {
      taken.close();
    }
  }, 90_000);

  it('a sample whose name holds a newline is refused before anything is uploaded', async () => {
    const tenant = newTenant('newline');
    const sample = join(tempDir, 'two\nlines.txt');
    writeFileSync(sample, 'text\n');
    const result = await runCli(
      ['storage-worker', '--tier', 'small', '--send-sample', sample, '--tenant', tenant],
      {
        ...env,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the file name "two\\nlines.txt"');
    expect(result.stderr).toContain('contains a line feed (U+000A)');
    expect(result.stderr).toContain('Nothing was uploaded.');
    expect(result.stdout).not.toMatch(/uploaded/);
    expect(
      await headObject(deps().s3, tenant, 'uploads/two\nlines.txt').catch(() => undefined),
    ).toBeUndefined();
  });

  it('a bad DATABASE_URL or an unreachable NATS URL with a password: the error names the variable, never the password', async () => {
    const badUrl = await runCli(['migrate'], {
      ...env,
      DATABASE_URL: 'postgres://app:s3cretpw@db:99999/p8fs',
    });
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('DATABASE_URL="postgres://app:***@db:99999/p8fs" is invalid');
    expect(badUrl.stdout + badUrl.stderr).not.toContain('s3cretpw');

    const natsPort = await freePort();
    const status = await runCli(['status'], {
      ...env,
      P8FS_NATS_URL: `nats://natsuser:s3cretpw@127.0.0.1:${natsPort}`,
    });
    expect(status.stdout).toMatch(
      /JetStream\n {2}unavailable: NATS at nats:\/\/natsuser:\*\*\*@127\.0\.0\.1/,
    );
    expect(status.stdout + status.stderr).not.toContain('s3cretpw');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
