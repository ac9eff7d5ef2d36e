/**
 * A user insight worker killed mid-run: the moments task (tenantMoments) for a tenant with the dreaming
 * samples' session and documents runs on `node bin/p8fs.js user-insight-worker` as a child process; once
 * the first model call (buildMomentGroup) has completed it is SIGKILLed, a new worker process is started,
 * and the workflow completes. Checked: every source has its moments once (the same count per source as an
 * uninterrupted run for another tenant), and no completed model call ran again (each buildMomentGroup
 * activity id completed once, on its first attempt when it completed before the kill).
 *
 * The queue's server-side rate limit (P8FS_LLM_MAX_ACTIVITIES_PER_SECOND=2) spaces the heuristic's
 * millisecond activities apart, so the kill lands between activities of an unfinished run. Needs a fresh
 * `npm run build` (the workers run dist/).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMomentsTask } from '../../src/cli/tenant-tasks.js';
import { envWithoutOurSettings } from '../support/cli.js';
import { importSampleSessions, insertSampleResources } from '../support/dream-fixtures.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('tmresume', {
  P8FS_LLM_PROVIDER: 'heuristic',
  P8FS_LLM_MAX_ACTIVITIES_PER_SECOND: '2',
  P8FS_EMBEDDINGS_ENABLED: 'false',
  P8FS_WORKER_METRICS_PORT: '0',
});
const tenant = uniqueTenant('tmresume');
const control = uniqueTenant('tmrescontrol');
let p: Pipeline;

interface WorkerChild {
  child: ChildProcess;
  output: string[];
  exited: Promise<void>;
}
const workers: WorkerChild[] = [];
process.on('exit', () => {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
});

/** `node bin/p8fs.js user-insight-worker` with exactly this file's environment. */
function startWorker(): WorkerChild {
  const childEnv = envWithoutOurSettings();
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const child = spawn(process.execPath, ['bin/p8fs.js', 'user-insight-worker'], {
    cwd: process.cwd(),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    if (output.length > 100) output.splice(0, output.length - 100);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const worker = { child, output, exited };
  workers.push(worker);
  return worker;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** buildMomentGroup's scheduled events by id, and the completions (scheduled id → attempt) in a history. */
function modelCalls(events: HistoryEvent[]) {
  const scheduled = new Map<string, string>();
  for (const e of events) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name === 'buildMomentGroup') scheduled.set(String(e.eventId), a.activityId ?? '');
  }
  const attempts = new Map<string, number>();
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.has(String(started.scheduledEventId)))
      attempts.set(String(started.scheduledEventId), started.attempt ?? 0);
  }
  const completed: { activityId: string; attempt: number | undefined }[] = [];
  for (const e of events) {
    const done = e.activityTaskCompletedEventAttributes;
    const id = done && scheduled.get(String(done.scheduledEventId));
    if (id !== undefined && id !== null && done)
      completed.push({ activityId: id, attempt: attempts.get(String(done.scheduledEventId)) });
  }
  return { scheduled: [...scheduled.values()], completed };
}

async function historyOf(workflowId: string): Promise<HistoryEvent[]> {
  return (await p.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

/** Moments per source (source type and the cited resource names, which do not depend on the tenant). */
async function momentsBySource(tenantId: string): Promise<Record<string, number>> {
  const rows = await p.pool.query<{ key: string; n: number }>(
    `SELECT metadata->>'source_type' || ':' || COALESCE(metadata->>'resource_names', 'session') AS key,
            count(*)::int AS n
       FROM moments WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1`,
    [tenantId],
  );
  return Object.fromEntries(rows.rows.map((r) => [r.key, r.n]));
}

beforeAll(async () => {
  p = await createPipeline('tmresume', {}, env);
  for (const t of [tenant, control]) {
    await importSampleSessions(p.pool, t);
    await insertSampleResources(p.pool, t);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(
    workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      w.child.kill('SIGTERM');
      await w.exited;
    }),
  );
  await p?.close();
});

describe('tenantMoments with its worker killed mid-run', () => {
  it('resumes on a new worker process: moments once per source, completed model calls not run again', async () => {
    const first = startWorker();
    let workflowId = '';
    const run = runMomentsTask(p.cfg, p.temporal, { tenantId: tenant }, (line) => {
      const started = /^started tenantMoments (\S+)/.exec(line);
      if (started?.[1]) workflowId = started[1];
    });
    run.catch(() => undefined);
    const before = await eventually(
      'the first completed buildMomentGroup',
      async () => {
        if (!workflowId) return undefined;
        const events = await historyOf(workflowId);
        return modelCalls(events).completed.length > 0 ? events : undefined;
      },
      90_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nworker output:\n${first.output.join('\n')}`);
    });
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    const completedBefore = modelCalls(before).completed;
    // The kill came mid-run: the workflow was still open then.
    expect(before.some((e) => e.workflowExecutionCompletedEventAttributes)).toBe(false);

    const second = startWorker();
    const outcome = await run.catch((error: Error) => {
      throw new Error(`${error.message}\nsecond worker output:\n${second.output.join('\n')}`);
    });
    expect(outcome).toMatchObject({ status: 'completed', built: 8, deferred: 0, sessions: 1, resources: 7 });

    const calls = modelCalls(await historyOf(workflowId));
    const ids = calls.completed.map((c) => c.activityId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(calls.scheduled.length);
    expect(ids.length).toBe(outcome.modelCalls);
    for (const c of completedBefore) {
      expect(calls.completed).toContainEqual(c);
      expect(c.attempt).toBe(1);
    }

    // The same sources, uninterrupted, for another tenant: the same moments per source.
    const clean = await runMomentsTask(p.cfg, p.temporal, { tenantId: control }, () => undefined);
    expect(clean.moments).toBe(outcome.moments);
    const resumed = await momentsBySource(tenant);
    expect(Object.keys(resumed)).toHaveLength(8);
    expect(resumed).toEqual(await momentsBySource(control));
    const total = await p.pool.query('SELECT count(*)::int AS n FROM moments WHERE tenant_id = $1', [tenant]);
    expect(total.rows[0]?.n).toBe(outcome.moments);
  }, 300_000);
});
