/**
 * dreamAnalysis end to end on the test stack (Temporal, PostgreSQL, SeaweedFS) with real LLM workers,
 * against loopback servers that speak OpenAI's and Anthropic's real HTTP APIs (the machine cannot reach
 * the real ones): direct and batch runs store schema-valid dreams, a batch survives a worker restart
 * while the workflow sleeps, an expired batch is resubmitted, malformed answers are re-asked and then
 * fail clearly, and a 429's Retry-After is honoured. dreamBatch: direct children in a sliding window,
 * and one Batch for all tenants; `p8fs dream complete` settles jobs whose workflow was terminated.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { readDreamModel } from '../../src/domain/insight/dream-model-read.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { llmTaskQueue } from '../../src/temporal/names.js';
import { startDreamAnalysis, startDreamBatch } from '../../src/temporal/starts.js';
import { createLlmWorker, type LlmWorkers } from '../../src/workers/llm-worker.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import {
  importSampleSessions,
  insertSampleResources,
  modelDream,
  userPrompt,
} from '../support/dream-fixtures.js';
import { type LoopbackAnthropic, startLoopbackAnthropic } from '../support/loopback-anthropic.js';
import { type LoopbackOpenAi, startLoopbackOpenAi } from '../support/loopback-openai.js';
import { dropBucket, eventually } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

let openai: LoopbackOpenAi;
let anthropic: LoopbackAnthropic;
let env: Record<string, string | undefined>;
let cfg: Config;
let pool: pg.Pool;
let s3: S3Client;
let temporal: Client;
const running: Array<{ workers: LlmWorkers; run: Promise<void> }> = [];

async function startWorker(config: Config): Promise<LlmWorkers> {
  // A stopped worker's sticky queue is given up after 2 s instead of 10 s, so the restart test is quick.
  const workers = await createLlmWorker(config, { stickyQueueScheduleToStartTimeout: '2 seconds' });
  running.push({ workers, run: workers.run() });
  return workers;
}

async function stopWorker(workers: LlmWorkers): Promise<void> {
  const entry = running.find((r) => r.workers === workers);
  workers.shutdown();
  await entry?.run;
  running.splice(running.indexOf(entry as (typeof running)[number]), 1);
}

async function seededTenant(label: string): Promise<{ tenant: string; fileIds: string[] }> {
  const tenant = uniqueTenant(label);
  await importSampleSessions(pool, tenant);
  return { tenant, fileIds: await insertSampleResources(pool, tenant) };
}

function start(config: Config, tenantId: string, mode: 'direct' | 'batch') {
  return startDreamAnalysis(
    temporal,
    { tenantId, mode },
    {
      taskQueue: llmTaskQueue(config),
      workflowId: `dream-${mode}-${tenantId}`,
    },
  );
}

async function dreamRow(tenant: string) {
  const rows = await pool.query(
    `SELECT d.model, d.provider, d.generated_by, j.status, j.openai_batch_id, j.error, j.result
       FROM dreams d JOIN jobs j ON j.id = d.job_id WHERE d.tenant_id = $1`,
    [tenant],
  );
  expect(rows.rows).toHaveLength(1);
  return rows.rows[0];
}

beforeAll(async () => {
  openai = await startLoopbackOpenAi((body) => JSON.stringify(modelDream(userPrompt(body.messages))));
  anthropic = await startLoopbackAnthropic((body) => modelDream(userPrompt(body.messages)));
  env = isolatedEnv('dream', {
    P8FS_LLM_PROVIDER: 'openai',
    OPENAI_API_KEY: 'sk-loopback',
    P8FS_OPENAI_BASE_URL: openai.baseUrl,
    P8FS_LLM_MODEL: 'gpt-4o-mini',
    P8FS_LLM_SCHEMA_RETRIES: '1',
    P8FS_DREAM_BATCH_POLL_SECONDS: '0.3',
    // dreamBatch's sliding window in direct mode: two children at a time.
    P8FS_DREAM_CONCURRENT_TENANTS: '2',
    P8FS_LLM_MAX_ACTIVITIES_PER_SECOND: '50',
    P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: '2',
  });
  cfg = loadConfig(env);
  pool = await createTestDatabase(cfg);
  s3 = createS3Client(cfg);
  temporal = await connectTemporal(cfg);
  await startWorker(cfg);
}, 120_000);

afterAll(async () => {
  for (const { workers } of [...running]) await stopWorker(workers);
  await temporal?.connection.close();
  await dropBucket(s3, cfg.s3.derivedBucket).catch(() => undefined);
  s3?.destroy();
  if (pool) await dropTestDatabase(cfg, pool);
  await openai?.close();
  await anthropic?.close();
});

describe('dreamAnalysis against loopback model APIs', () => {
  it('direct mode via the OpenAI loopback stores a schema-valid dream and completes its job', async () => {
    const { tenant, fileIds } = await seededTenant('direct');
    const handle = await start(cfg, tenant, 'direct');
    const outcome = await handle.result();
    expect(outcome.status).toBe('completed');
    const row = await dreamRow(tenant);
    const model = readDreamModel(row.model);
    expect(model).toMatchObject({ user_id: tenant, generated_by: 'model' });
    // The seeds' metrics (documents = the session and the seven resources), with our split beside them.
    expect(model.metrics).toMatchObject({
      total_documents_analyzed: 8,
      confidence_score: 0.8,
      data_completeness: 0.9,
      sessions_analyzed: 1,
      resources_analyzed: 7,
    });
    expect(model.goals[0]).toMatchObject({
      goal: 'Finish the API spec',
      category: 'career',
      priority: 'high',
    });
    // jobs.result holds the model itself, as the original's worker stores it (job.result['goals']).
    expect(row.result).toEqual(row.model);
    expect(model.source_file_ids.sort()).toEqual([...fileIds].sort());
    expect(row).toMatchObject({ provider: 'openai', status: 'completed', generated_by: 'model' });
    // The real structured-output request: strict JSON schema, and the samples' text in the prompt.
    const request = openai.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)?.body as {
      response_format: { type: string; json_schema: { strict: boolean; name: string } };
      messages: Array<{ role: string; content: string }>;
    };
    expect(request.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { strict: true, name: 'dream_analysis' },
    });
    expect(userPrompt(request.messages)).toContain('Acme Corp');
  });

  it('a 429 with Retry-After from the OpenAI loopback is honoured before the retry', async () => {
    const { tenant } = await seededTenant('ratelimit');
    openai.chatReplies.push({ status: 429, headers: { 'retry-after': '1' } });
    const before = openai.requests.length;
    await (await start(cfg, tenant, 'direct')).result();
    const calls = openai.requests.slice(before).filter((r) => r.path === '/v1/chat/completions');
    expect(calls).toHaveLength(2);
    const gap = (calls[1]?.at ?? 0) - (calls[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(1000);
    expect(gap).toBeLessThan(5000);
    expect((await dreamRow(tenant)).status).toBe('completed');
  });

  it('a malformed answer from the OpenAI loopback is re-asked, then fails non-retryably naming the field', async () => {
    const { tenant } = await seededTenant('malformed');
    const { fears: _dropped, ...withoutFears } = modelDream('');
    openai.chatReplies.push({ content: 'not json at all' }, { content: JSON.stringify(withoutFears) });
    const before = openai.requests.length;
    const error = await (await start(cfg, tenant, 'direct')).result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('SchemaViolationError');
    expect(cause.message).toMatch(/fears: required field is missing/);
    // Asked twice (P8FS_LLM_SCHEMA_RETRIES=1), the second time with the problem; the activity not retried.
    const calls = openai.requests.slice(before).filter((r) => r.path === '/v1/chat/completions');
    expect(calls).toHaveLength(2);
    expect(JSON.stringify(calls[1]?.body)).toContain('does not satisfy the required JSON schema');
    const job = await pool.query('SELECT status, error FROM jobs WHERE tenant_id = $1', [tenant]);
    expect(job.rows[0]).toMatchObject({ status: 'failed' });
    expect(job.rows[0].error).toMatch(/SchemaViolationError.*fears/);
  });

  it('a refused key at the OpenAI loopback (401) fails at once with LlmAuthError, no retries', async () => {
    const { tenant } = await seededTenant('badkey');
    openai.chatReplies.push({
      status: 401,
      raw: {
        error: {
          message: 'Incorrect API key provided',
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
    });
    const before = openai.requests.length;
    const error = await (await start(cfg, tenant, 'direct')).result().catch((e: unknown) => e);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('LlmAuthError');
    expect(cause.message).toMatch(/refused the API key \(HTTP 401\).*OPENAI_API_KEY/);
    expect(openai.requests.slice(before).filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });

  it('batch mode via the OpenAI loopback: Files API + Batch, survives a worker restart while it waits', async () => {
    const { tenant } = await seededTenant('batch');
    openai.batchPlans.push({ pollsUntilDone: 8, end: 'completed' });
    const handle = await start(cfg, tenant, 'batch');
    // The batch exists and the workflow sleeps between polls: stop the worker there.
    const batchId = await eventually('the batch id on the job', async () => {
      const row = await pool.query('SELECT openai_batch_id FROM jobs WHERE tenant_id = $1', [tenant]);
      return row.rows[0]?.openai_batch_id ?? undefined;
    });
    const first = running[0]?.workers as LlmWorkers;
    await stopWorker(first);
    const pollsWhileStopped = openai.batches.get(batchId)?.polls ?? 0;
    expect(openai.batches.get(batchId)?.status).not.toBe('completed');
    await startWorker(cfg);
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'completed', mode: 'batch', batchId });
    expect(openai.batches.get(batchId)?.polls).toBeGreaterThan(pollsWhileStopped);
    const row = await dreamRow(tenant);
    readDreamModel(row.model);
    expect(row).toMatchObject({ status: 'completed', openai_batch_id: batchId, generated_by: 'model' });
    // The uploaded input: purpose batch, one /v1/chat/completions line with strict structured output.
    const input = openai.files.get(openai.batches.get(batchId)?.inputFileId as string);
    expect(input?.purpose).toBe('batch');
    const line = JSON.parse(input?.content.trim() as string);
    expect(line).toMatchObject({
      method: 'POST',
      url: '/v1/chat/completions',
      body: { response_format: { type: 'json_schema' } },
    });
  });

  it('an expired batch at the OpenAI loopback is resubmitted once and then completes', async () => {
    const { tenant } = await seededTenant('expired');
    openai.batchPlans.push({ pollsUntilDone: 1, end: 'expired' }, { pollsUntilDone: 1, end: 'completed' });
    const before = new Set(openai.batches.keys());
    const outcome = await (await start(cfg, tenant, 'batch')).result();
    const created = [...openai.batches.values()].filter((b) => !before.has(b.id));
    expect(created.map((b) => b.status)).toEqual(['expired', 'completed']);
    expect(outcome).toMatchObject({ status: 'completed', batchId: created[1]?.id });
    expect(await dreamRow(tenant)).toMatchObject({ status: 'completed', openai_batch_id: created[1]?.id });
  });

  it('direct mode via the Anthropic loopback (forced tool call) stores a schema-valid dream', async () => {
    const anthropicCfg = loadConfig({
      ...env,
      P8FS_TASK_QUEUE_PREFIX: `${env.P8FS_TASK_QUEUE_PREFIX}-anthropic`,
      P8FS_LLM_PROVIDER: 'anthropic',
      ANTHROPIC_API_KEY: 'ak-loopback',
      P8FS_ANTHROPIC_BASE_URL: anthropic.url,
      P8FS_LLM_MODEL: 'claude-sonnet-4-6',
    });
    const workers = await startWorker(anthropicCfg);
    try {
      const { tenant } = await seededTenant('anthropic');
      await (await start(anthropicCfg, tenant, 'direct')).result();
      const row = await dreamRow(tenant);
      expect(readDreamModel(row.model).user_id).toBe(tenant);
      expect(row).toMatchObject({ provider: 'anthropic', status: 'completed' });
      const request = anthropic.requests.at(-1);
      expect(request?.apiKey).toBe('ak-loopback');
      expect(request?.body.tool_choice).toEqual({ type: 'tool', name: 'dream_analysis' });
      expect(request?.body.tools?.[0]?.input_schema).toMatchObject({
        type: 'object',
        additionalProperties: false,
      });
    } finally {
      await stopWorker(workers);
    }
  });
});

/** The user_id header of a batch input line's prompt (the tenant the request is for). */
function userOfLine(line: { body: { messages: Array<{ role: string; content: string }> } }): string {
  return /^user_id: (.*)$/m.exec(userPrompt(line.body.messages))?.[1] ?? '';
}

describe('dreamBatch and p8fs dream complete against the OpenAI loopback', () => {
  it('direct mode: three tenants run as child dreamAnalysis workflows, two at a time', async () => {
    const tenants = (await Promise.all(['a', 'b', 'c'].map((l) => seededTenant(`window${l}`)))).map(
      (t) => t.tenant,
    );
    const handle = await startDreamBatch(
      temporal,
      { tenantIds: tenants, mode: 'direct' },
      { taskQueue: llmTaskQueue(cfg), workflowId: `dream-batch-direct-${tenants[0]}` },
    );
    expect(await handle.result()).toMatchObject({
      mode: 'direct',
      tenants: 3,
      completed: 3,
      skipped: 0,
      failed: [],
    });
    const children = await Promise.all(
      tenants.map((t) => temporal.workflow.getHandle(`${handle.workflowId}/${t}`).describe()),
    );
    for (const child of children)
      expect([child.type, child.status.name]).toEqual(['dreamAnalysis', 'COMPLETED']);
    // Each child runs under its tenant's fairness key, as every other start for a tenant.
    expect(children.map((child) => child.priority?.fairnessKey)).toEqual(tenants);
    const [first, second, third] = [...children].sort(
      (a, b) => a.startTime.getTime() - b.startTime.getTime(),
    );
    const closed = (d: typeof first) => d?.closeTime?.getTime() ?? Number.POSITIVE_INFINITY;
    // Width 2: the first two run at once; the third starts only when one of them has finished.
    expect(second?.startTime.getTime()).toBeLessThan(closed(first));
    expect(third?.startTime.getTime()).toBeGreaterThanOrEqual(Math.min(closed(first), closed(second)));
    for (const tenant of tenants) {
      const row = await dreamRow(tenant);
      expect(readDreamModel(row.model).user_id).toBe(tenant);
      expect(row).toMatchObject({ status: 'completed', provider: 'openai', openai_batch_id: null });
    }
  });

  it('batch mode: ONE Batch at the OpenAI loopback carries all three tenants, each gets its dream', async () => {
    const tenants = (await Promise.all(['a', 'b', 'c'].map((l) => seededTenant(`onebatch${l}`)))).map(
      (t) => t.tenant,
    );
    const before = new Set(openai.batches.keys());
    const outcome = await (
      await startDreamBatch(
        temporal,
        { tenantIds: tenants, mode: 'batch' },
        { taskQueue: llmTaskQueue(cfg), workflowId: `dream-batch-batch-${tenants[0]}` },
      )
    ).result();
    const created = [...openai.batches.values()].filter((b) => !before.has(b.id));
    expect(created).toHaveLength(1);
    const batch = created[0] as (typeof created)[number];
    expect(outcome).toMatchObject({
      mode: 'batch',
      tenants: 3,
      completed: 3,
      failed: [],
      batchIds: [batch.id],
    });
    const lines = (openai.files.get(batch.inputFileId)?.content ?? '')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map(userOfLine).sort()).toEqual([...tenants].sort());
    for (const tenant of tenants) {
      const row = await dreamRow(tenant);
      expect(readDreamModel(row.model).user_id).toBe(tenant);
      expect(row).toMatchObject({ status: 'completed', openai_batch_id: batch.id, generated_by: 'model' });
    }
  });

  it('p8fs dream complete settles jobs whose workflow was terminated, from the Batch at the OpenAI loopback', async () => {
    const [done, expired, waiting, running] = await Promise.all(
      ['done', 'expired', 'waiting', 'running'].map(async (l) => (await seededTenant(`complete${l}`)).tenant),
    );
    const tenants = [done, expired, waiting, running] as string[];
    // Batches that never end by themselves: the test decides their fate after the workflows are gone.
    openai.batchPlans.push(...tenants.map(() => ({ pollsUntilDone: 1e9, end: 'completed' as const })));
    const handles = await Promise.all(tenants.map((t) => start(cfg, t, 'batch')));
    try {
      const batchOf = new Map<string, string>();
      for (const tenant of tenants) {
        batchOf.set(
          tenant,
          await eventually(`the batch id of ${tenant}`, async () => {
            const row = await pool.query('SELECT openai_batch_id FROM jobs WHERE tenant_id = $1', [tenant]);
            return row.rows[0]?.openai_batch_id ?? undefined;
          }),
        );
      }
      for (const [i, tenant] of [done, expired, waiting].entries())
        await handles[i]?.terminate(`test: the workflow of ${tenant} is gone`);
      const batch = (tenant: string | undefined) =>
        openai.batches.get(batchOf.get(tenant as string) as string);
      Object.assign(batch(done) as object, { plan: { pollsUntilDone: 0, end: 'completed' } });
      Object.assign(batch(expired) as object, { plan: { pollsUntilDone: 0, end: 'expired' } });

      const result = await runCliInProcess(['dream', 'complete'], env);
      expect(result.code, result.stderr).toBe(0);
      const lineOf = (tenant: string | undefined) =>
        result.stdout.split('\n').find((l) => l.startsWith(`${tenant}: `)) ?? '';
      expect(lineOf(done)).toMatch(
        new RegExp(`stored dream [0-9a-f-]{36} from batch ${batchOf.get(done as string)} .*TERMINATED`),
      );
      expect(lineOf(expired)).toMatch(new RegExp(`failed: batch ${batchOf.get(expired as string)} expired`));
      expect(lineOf(waiting)).toMatch(/batch \S+ still in_progress .*run p8fs dream complete again later/);
      expect(lineOf(running)).toMatch(/workflow dream-batch-\S+ running/);

      const stored = await dreamRow(done as string);
      expect(readDreamModel(stored.model)).toMatchObject({ user_id: done, generated_by: 'model' });
      expect(stored).toMatchObject({ status: 'completed', openai_batch_id: batchOf.get(done as string) });
      const jobs = await pool.query<{ tenant_id: string; status: string; error: string | null }>(
        'SELECT tenant_id, status, error FROM jobs WHERE tenant_id = ANY($1)',
        [[expired, waiting, running]],
      );
      const job = (tenant: string | undefined) => jobs.rows.find((r) => r.tenant_id === tenant);
      expect(job(expired)).toMatchObject({ status: 'failed' });
      expect(job(expired)?.error).toMatch(/expired .*TERMINATED, so it was not resubmitted/);
      expect(job(waiting)).toMatchObject({ status: 'running', error: null });
      expect(job(running)).toMatchObject({ status: 'running', error: null });

      // Settled jobs are not reported again.
      const again = await runCliInProcess(['dream', 'complete', '--tenant', done as string], env);
      expect(again.stdout).toMatch(/no pending dream jobs/);
    } finally {
      for (const h of handles) await h.terminate('test cleanup').catch(() => undefined);
    }
  });
});
