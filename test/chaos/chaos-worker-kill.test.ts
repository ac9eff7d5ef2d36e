import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdFor } from '../../src/domain/ids.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { spawnWorkerProcess, type WorkerProcess } from '../support/cli.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

/** `PENDING_ACTIVITY_STATE_STARTED` in temporal.api.enums.v1.PendingActivityState. */
const PENDING_ACTIVITY_STATE_STARTED = 2;
const SAMPLE_PDF = resolve(process.cwd(), '../shared/samples/content/Sample.pdf');

// One environment for the pipeline (bridge, database, streams) and for every worker process.
const env = isolatedEnv('workerkill');
const tenant = uniqueTenant('workerkill');
let p: Pipeline | undefined;

const workerProcesses: WorkerProcess[] = [];
// Last resort if this test process ends without afterAll: no worker outlives it.
process.on('exit', () => {
  for (const worker of workerProcesses) if (alive(worker)) worker.child.kill('SIGKILL');
});

const log = (message: string) => console.log(`[chaos-worker-kill] ${message}`);

function pipeline(): Pipeline {
  if (!p) throw new Error('pipeline not created');
  return p;
}

/** `p8fs worker --tier small` as a child process of this test. */
function spawnWorker(extra: Record<string, string>): WorkerProcess {
  const worker = spawnWorkerProcess({ ...env, P8FS_WORKER_METRICS_PORT: '0', ...extra });
  workerProcesses.push(worker);
  return worker;
}

function alive(worker: WorkerProcess): boolean {
  return worker.child.exitCode === null && worker.child.signalCode === null;
}

async function killWorker(worker: WorkerProcess, signal: NodeJS.Signals): Promise<void> {
  if (!alive(worker)) return;
  worker.child.kill(signal);
  await worker.exited;
}

function describeWorkers(): string {
  return workerProcesses
    .map(
      (w, i) =>
        `worker ${i + 1} (pid ${w.child.pid}, exit ${w.child.exitCode ?? w.child.signalCode ?? 'running'}):\n` +
        w.output.slice(-20).join('\n'),
    )
    .join('\n');
}

/** Adds the workers' last output lines to a failure, so a worker that could not start says why. */
async function withWorkerOutput<T>(what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${describeWorkers()}`);
  }
}

async function pendingExtract(handle: WorkflowHandle) {
  const description = await handle.describe();
  return description.raw.pendingActivities?.find((a) => a.activityType?.name === 'extractText');
}

beforeAll(async () => {
  p = await createPipeline('workerkill', {}, env);
  await p.startBridge();
});

afterAll(async () => {
  try {
    // A graceful stop for a worker that is still running; SIGKILL if it does not stop in time.
    await Promise.all(
      workerProcesses.map(async (worker) => {
        if (!alive(worker)) return;
        const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
        await killWorker(worker, 'SIGTERM');
        clearTimeout(timer);
      }),
    );
  } finally {
    for (const worker of workerProcesses) if (alive(worker)) worker.child.kill('SIGKILL');
    await p?.close();
  }
}, 60_000);

describe('chaos: worker killed mid-activity (real Temporal, NATS, SeaweedFS, PostgreSQL; workers as child processes)', () => {
  it('a worker SIGKILLed while processing Sample.pdf → a restarted worker finishes it; no duplicate rows', async () => {
    const started = Date.now();
    const first = spawnWorker({ P8FS_FAULT_PAUSE_EXTRACT_MS: '8000' });

    const body = readFileSync(SAMPLE_PDF);
    const key = 'uploads/Sample.pdf';
    const path = `/buckets/${tenant}/${key}`;
    await pipeline().putObject(tenant, key, body, 'application/pdf');
    await pipeline().publish({ event_type: 'create', path, size: body.length, mime_type: 'application/pdf' });

    const workflowId = await eventually('the bridge to start the workflow', async () => {
      const result = pipeline().results.find((r) => r.kind === 'started');
      return result?.kind === 'started' ? result.workflowId : undefined;
    });
    const handle = ingestFileHandle(pipeline().temporal, workflowId);

    // The first worker has picked up extractText and is holding it (heartbeating) in the fault pause.
    const running = await withWorkerOutput(
      eventually(
        'extractText to be running on the first worker',
        async () => {
          if (!alive(first)) throw new Error('the first worker exited before extractText started');
          const activity = await pendingExtract(handle);
          return activity?.state === PENDING_ACTIVITY_STATE_STARTED ? activity : undefined;
        },
        90_000,
      ),
    );
    log(
      `extractText attempt ${running.attempt} started on ${running.lastWorkerIdentity} ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s after the first worker was spawned`,
    );
    expect(running.attempt).toBe(1);
    expect(running.lastWorkerIdentity).toMatch(new RegExp(`^${first.child.pid}@`));

    await killWorker(first, 'SIGKILL');
    const killedAt = Date.now();
    expect(first.child.signalCode).toBe('SIGKILL');
    log(`first worker (pid ${first.child.pid}) SIGKILLed mid-extractText`);

    const second = spawnWorker({});

    // Temporal notices the dead worker only through the heartbeat timeout, then retries extractText.
    const retried = await withWorkerOutput(
      eventually(
        'Temporal to time out the killed attempt and schedule a retry',
        async () => {
          const activity = await pendingExtract(handle);
          // No longer pending: the retry ran and finished between two polls (the history shows it below).
          if (!activity) return null;
          return (activity.attempt ?? 0) >= 2 ? activity : undefined;
        },
        60_000,
      ),
    );
    if (retried) {
      log(
        `retry scheduled ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill: attempt ${retried.attempt}, ` +
          `last failure: ${retried.lastFailure?.message ?? '(none)'}`,
      );
      expect(retried.lastFailure?.message ?? '').toMatch(/heartbeat/i);
    }

    const outcome = await withWorkerOutput(
      eventually(
        'the workflow to complete on the second worker',
        async () => {
          if (!alive(second)) throw new Error('the second worker exited');
          const description = await handle.describe();
          if (description.status.name === 'RUNNING') return undefined;
          return handle.result();
        },
        90_000,
      ),
    );
    log(
      `workflow completed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s in all): ${JSON.stringify(outcome)}`,
    );
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    expect(outcome.provider).toBe('pdf');
    expect(outcome.chunkCount).toBeGreaterThan(0);
    // storeChunks ran once: it found no earlier resources of this file to replace.
    expect(outcome.resourcesReplaced).toBe(0);

    // History: extractText was scheduled once and its recorded (successful) attempt ran on the new worker.
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const extractScheduled = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'extractText',
    );
    expect(extractScheduled).toHaveLength(1);
    const scheduledId = Number(extractScheduled[0]?.eventId);
    const extractStarted = events.filter(
      (e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === scheduledId,
    );
    expect(extractStarted).toHaveLength(1);
    const startedAttrs = extractStarted[0]?.activityTaskStartedEventAttributes;
    log(`history: extractText completed on attempt ${startedAttrs?.attempt} by ${startedAttrs?.identity}`);
    expect(startedAttrs?.attempt).toBeGreaterThanOrEqual(2);
    // The SDK's default worker identity is `<pid>@<host>`.
    expect(startedAttrs?.identity).toMatch(new RegExp(`^${second.child.pid}@`));

    // Database: one file, one job, resources = chunks, no (file_id, ordinal) twice.
    const db = pipeline().pool;
    const fileId = fileIdFor(tenant, path);
    const files = await db.query<{ id: string; status: string; chunk_count: number; provider: string }>(
      'SELECT id, status, chunk_count, provider FROM files WHERE tenant_id = $1',
      [tenant],
    );
    expect(files.rows).toEqual([
      { id: fileId, status: 'completed', chunk_count: outcome.chunkCount, provider: 'pdf' },
    ]);
    const jobs = await db.query<{ status: string; workflow_id: string }>(
      'SELECT status, workflow_id FROM jobs WHERE tenant_id = $1',
      [tenant],
    );
    expect(jobs.rows).toEqual([{ status: 'completed', workflow_id: workflowId }]);
    const resources = await db.query<{ n: number; distinct_ordinals: number; duplicates: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT ordinal)::int AS distinct_ordinals,
              (SELECT count(*)::int FROM (SELECT file_id, ordinal FROM resources WHERE tenant_id = $1
                 GROUP BY file_id, ordinal HAVING count(*) > 1) d) AS duplicates
       FROM resources WHERE tenant_id = $1`,
      [tenant],
    );
    expect(resources.rows[0]).toEqual({
      n: outcome.chunkCount,
      distinct_ordinals: outcome.chunkCount,
      duplicates: 0,
    });
    const errors = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM errors WHERE tenant_id = $1',
      [tenant],
    );
    expect(errors.rows[0]?.n).toBe(0);

    expect(await pipeline().deadLetters()).toEqual([]);
    expect(pipeline().bridge?.counters).toMatchObject({ started: 1, deadLettered: 0 });
    expect(alive(second)).toBe(true);
  }, 180_000);
});
