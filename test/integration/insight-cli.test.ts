/**
 * Dream analysis started the ways users start it, against the test stack with a real `p8fs worker
 * --tier llm` process (offline heuristic provider): docs/GUIDE.md's `temporal workflow start` line as
 * written (only the test's own task queue and server address put in) and examples/start-dream.ts run
 * as processes; the `p8fs sessions import`, `dream start|show|complete` and `schedule apply|list`
 * commands run in-process (runCliInProcess: the same command tree and config loading, without seconds
 * of tsx start-up per command); and the nightly schedule, triggered, runs a dreamBatch that completes.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runDreamsDemo } from '../../src/cli/demo-dreams.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { projectRoot } from '../../src/config/project-root.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { llmTaskQueue } from '../../src/temporal/names.js';
import { dreamAnalysisHandle } from '../../src/temporal/starts.js';
import type { dreamBatch } from '../../src/workflows/dream-analysis.js';
import { envWithoutOurSettings, type RunningCli, startCli } from '../support/cli.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { DREAMING_DIR, insertSampleResources } from '../support/dream-fixtures.js';
import { eventually } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';
import { temporalBinary } from '../support/workflow-env.js';

const run = promisify(execFile);
let env: Record<string, string | undefined>;
let cfg: Config;
let pool: pg.Pool;
let temporal: Client;
let worker: RunningCli;
const tenant = uniqueTenant('dreamcli');

/** The child's environment: exactly the test's settings, whatever keys the developer has exported. */
function childEnv(): NodeJS.ProcessEnv {
  const base = envWithoutOurSettings();
  delete base.OPENAI_API_KEY;
  delete base.ANTHROPIC_API_KEY;
  return { ...base, ...env };
}

beforeAll(async () => {
  env = isolatedEnv('dreamcli', {
    P8FS_LLM_PROVIDER: 'heuristic',
    P8FS_LOG_FORMAT: 'json',
    P8FS_LOG_LEVEL: 'info',
  });
  cfg = loadConfig(env);
  // The worker process starts first (it needs the database only once work arrives): its start-up and
  // workflow bundling overlap the database set-up.
  worker = startCli(['worker', '--tier', 'llm'], childEnv());
  pool = await createTestDatabase(cfg);
  temporal = await connectTemporal(cfg);
  await insertSampleResources(pool, tenant);
  // Bundling the workflows from source takes a few seconds, much longer on a busy machine.
  await worker.waitFor(/workers running/, 200_000);
}, 240_000);

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await temporal?.schedule
    .getHandle(`${cfg.temporal.taskQueuePrefix}-nightly-dreams`)
    .delete()
    .catch(() => undefined);
  await temporal?.connection.close();
  if (pool) await dropTestDatabase(cfg, pool);
});

describe('starting dream analysis as users do (heuristic provider, p8fs worker --tier llm)', () => {
  it('p8fs sessions import is idempotent', async () => {
    const file = join(DREAMING_DIR, 'sessions', 'chat_project_alpha_discussion.json');
    const first = await runCliInProcess(['sessions', 'import', file, '--tenant', tenant], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr + first.stdout).toMatch(/1 new, 0 updated/);
    const again = await runCliInProcess(['sessions', 'import', file, '--tenant', tenant], env);
    expect(again.stdout).toMatch(/0 new, 1 updated/);
    const rows = await pool.query('SELECT message_count FROM sessions WHERE tenant_id = $1', [tenant]);
    expect(rows.rows).toEqual([{ message_count: 6 }]);
  });

  it("docs/GUIDE.md's `temporal workflow start` line starts a dream job that completes", async () => {
    const guide = readFileSync(join(projectRoot(), 'docs', 'GUIDE.md'), 'utf8');
    const line = /^temporal workflow start --type dreamAnalysis .*$/m.exec(guide)?.[0];
    expect(line).toBeDefined();
    // Split as a shell would: the guide quotes the JSON input with single quotes.
    const args = [...(line as string).matchAll(/'([^']*)'|(\S+)/g)]
      .map((m) => (m[1] ?? m[2]) as string)
      .slice(1);
    const at = (flag: string) => args.indexOf(flag) + 1;
    args[at('--task-queue')] = llmTaskQueue(cfg);
    const workflowId = `${args[at('--workflow-id')]}-${tenant}`;
    args[at('--workflow-id')] = workflowId;
    args[at('--input')] = (args[at('--input')] as string).replace('tenant-test', tenant);
    await run(temporalBinary(), [...args, '--address', cfg.temporal.address]);
    const outcome = await dreamAnalysisHandle(temporal, workflowId).result();
    expect(outcome.status).toBe('completed');
    if (outcome.status === 'completed') {
      expect(outcome.dream).toMatchObject({ generatedBy: 'heuristic', provider: 'heuristic' });
      expect(outcome).toMatchObject({ sessions: 1, resources: 7 });
      expect(outcome.dream.counts.goals).toBeGreaterThan(0);
    }
  });

  it('examples/start-dream.ts starts a dream job that completes', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'examples/start-dream.ts', tenant, 'direct'],
      {
        cwd: projectRoot(),
        env: childEnv(),
      },
    );
    expect(stdout).toMatch(/completed: dream [0-9a-f-]{36}, \d+ goals, \d+ fears \(heuristic\)/);
  }, 120_000);

  it('p8fs dream start --wait, dream show and dream complete', async () => {
    const started = await runCliInProcess(
      ['dream', 'start', '--tenant', tenant, '--mode', 'direct', '--wait'],
      env,
    );
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(
      /completed: 1 session\(s\), 7 resource\(s\) → dream .* \(heuristic, heuristic\/heuristic-rules-v1\)/,
    );
    const shown = await runCliInProcess(['dream', 'show', tenant], env);
    expect(shown.stdout).toMatch(/\[heuristic\] Rule-based analysis/);
    expect(shown.stdout).toMatch(/goals: [1-9]/);
    expect(shown.stdout).toMatch(
      /^ {4}- .+ \[(career|health|learning|financial|relationships|personal), (high|medium|low)\]$/m,
    );
    // --json: the seeds' DreamModel shape; jobs.result holds the same model (the seeds' job.result['goals']).
    const json = JSON.parse((await runCliInProcess(['dream', 'show', tenant, '--json'], env)).stdout);
    expect(json.goals[0]).toEqual(
      expect.objectContaining({
        goal: expect.any(String),
        category: expect.any(String),
        priority: expect.any(String),
      }),
    );
    expect(json.metrics).toMatchObject({
      total_documents_analyzed: 8,
      confidence_score: 0.3,
      data_completeness: 0.9,
    });
    const job = await pool.query(
      `SELECT j.status, j.result FROM jobs j JOIN dreams d ON d.job_id = j.id
        WHERE d.tenant_id = $1 ORDER BY d.created_at DESC LIMIT 1`,
      [tenant],
    );
    expect(job.rows[0]).toMatchObject({
      status: 'completed',
      result: { goals: json.goals, metrics: json.metrics },
    });
    const nobody = await runCliInProcess(['dream', 'show', uniqueTenant('nobody')], env);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/no dream stored for tenant t-nobody-/);
    const complete = await runCliInProcess(['dream', 'complete', '--tenant', tenant], env);
    expect(complete.stdout).toMatch(/no pending dream jobs/);
    const batch = await runCliInProcess(['dream', 'start', '--tenant', tenant, '--mode', 'batch'], env);
    expect(batch.code).toBe(1);
    expect(batch.stderr).toMatch(
      /--mode batch needs the OpenAI Batch API, but the configured provider is heuristic/,
    );
  });

  it('p8fs schedule apply creates, then updates, the nightly schedule; triggered, it runs a dreamBatch', async () => {
    const scheduleId = `${cfg.temporal.taskQueuePrefix}-nightly-dreams`;
    const first = await runCliInProcess(['schedule', 'apply'], env);
    expect(first.stdout).toMatch(new RegExp(`created ${scheduleId}`));
    const second = await runCliInProcess(['schedule', 'apply'], env);
    expect(second.stdout).toMatch(new RegExp(`updated ${scheduleId}`));
    const list = await runCliInProcess(['schedule', 'list'], env);
    expect(list.stdout).toMatch(/dreamBatch {2}cron "0 3 \* \* \*" {2}active {2}next /);
    const schedule = temporal.schedule.getHandle(scheduleId);
    const described = await schedule.describe();
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'dreamBatch',
      taskQueue: llmTaskQueue(cfg),
    });
    // What 03:00 would do, now: every tenant with something new in 24 h, direct mode (heuristic provider).
    await schedule.trigger();
    const workflowId = await eventually(
      'the triggered dreamBatch run',
      async () => (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId,
    );
    const outcome = await temporal.workflow.getHandle<typeof dreamBatch>(workflowId).result();
    expect(outcome).toMatchObject({ mode: 'direct', tenants: 1, completed: 1, skipped: 0, failed: [] });
    const dreams = await pool.query(
      'SELECT generated_by FROM dreams WHERE tenant_id = $1 AND workflow_id = $2',
      [tenant, `${workflowId}/${tenant}`],
    );
    expect(dreams.rows).toEqual([{ generated_by: 'heuristic' }]);
  });

  // Last: its tenant would be one more for the triggered dreamBatch above.
  it("the demo's dream step imports the sample session and prints the dream in the seeds' terms", async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    try {
      const ok = await runDreamsDemo({
        cfg,
        client: temporal,
        say: (l) => lines.push(l),
        tenantId: uniqueTenant('dreamdemo'),
      });
      expect(ok, lines.join('\n')).toBe(true);
    } finally {
      log.mockRestore();
    }
    const text = lines.join('\n');
    expect(text).toMatch(/dreams: sample sessions imported/);
    expect(text).toMatch(/goals \d+, dreams \d+, fears \d+, pending tasks \d+/);
    expect(text).toMatch(/^ {2}(goal|dream|fear|task): \S/m);
  });
});
