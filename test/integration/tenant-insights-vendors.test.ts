/**
 * The moments task (tenantMoments) and the user summary (userSummary) with real vendor backends, on the
 * real test stack with the real activities in in-process user insight workers: one worker's model is
 * OpenAI, the other's Anthropic, each reached through a loopback stand-in speaking the vendor's real HTTP
 * API (test/support/loopback-openai.ts, loopback-anthropic.ts; the machine cannot reach the real ones).
 * The stand-ins answer from what they are asked (the speakers and time window in the prompt), so the
 * answers validate only when the request carried the tenant's own transcript. Checked: the moments and
 * the p8fs-user-info resource come from the model (generated_by the vendor / 'model', never heuristic),
 * the stand-in saw the tenant's text, and a second run asks the model nothing and adds nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlmProvider } from '../../src/activities/insight/llm/index.js';
import { createMomentActivities } from '../../src/activities/insight/moment-activities.js';
import { MOMENT_TASK } from '../../src/activities/insight/moment-builder.js';
import { createTenantMomentActivities } from '../../src/activities/insight/tenant-moments.js';
import { createUserSummaryActivities } from '../../src/activities/insight/user-summary.js';
import { runMomentsTask, runUserSummaryTask } from '../../src/cli/tenant-tasks.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { listMoments } from '../../src/db/moments.js';
import { connectWorkerConnection } from '../../src/temporal/connection.js';
import { userInsightTaskQueue } from '../../src/temporal/names.js';
import {
  DREAMING_DIR,
  importSampleSessions,
  insertSampleResources,
  userPrompt,
} from '../support/dream-fixtures.js';
import { type LoopbackAnthropic, startLoopbackAnthropic } from '../support/loopback-anthropic.js';
import { type LoopbackOpenAi, startLoopbackOpenAi } from '../support/loopback-openai.js';
import { createPipeline, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';
import { bundleWorkflows, installQuietRuntime } from '../support/workflow-env.js';

/** Marks what the stand-ins wrote, so a stored text can be traced to them and not to the heuristic. */
const STAND_IN = 'stand-in model';

/**
 * The stand-in MomentBuilder answer: one moment over the prompt's time window naming every listed
 * speaker. Without the prompt's window and speakers (the tenant's transcript) it would not validate.
 */
function standInMoments(prompt: string): unknown {
  const window = /^Time window of this part: (\S+) to (\S+)\.$/m.exec(prompt);
  const speakers = [...prompt.matchAll(/^- (.+): fingerprint_id=(\S+) user_id=(\S+)$/gm)].map((m) => ({
    fingerprint_id: m[2],
    user_id: m[3],
    user_label: m[1],
  }));
  const title = /^Transcript (\S+):/m.exec(prompt)?.[1] ?? 'unknown';
  return {
    moments: [
      {
        name: `${STAND_IN}: ${title}`.slice(0, 200),
        content: `Written by the ${STAND_IN} from ${speakers.length} speaker(s).`,
        summary: `The ${STAND_IN} read ${title}.`,
        category: 'work',
        resource_timestamp: window?.[1],
        resource_ends_timestamp: window?.[2],
        moment_type: 'conversation',
        emotion_tags: ['focused', 'calm'],
        topic_tags: ['stand-in', 'vendor-test', 'planning'],
        present_persons: speakers,
        location: null,
        background_sounds: null,
      },
    ],
    analysis_summary: `The ${STAND_IN} saw one stretch of work.`,
  };
}

function standInSummary(prompt: string): unknown {
  const user = /^user_id: (.*)$/m.exec(prompt)?.[1] ?? 'unknown';
  return {
    summary: `Profile of ${user} written by the ${STAND_IN} from their recent activity.`,
    interests: ['vendor-tests'],
    active_projects: ['Project Alpha'],
  };
}

/** Answers by the structured-output task the request names (OpenAI's schema name, Anthropic's tool). */
function standIn(task: string | undefined, prompt: string): unknown {
  if (task === MOMENT_TASK) return standInMoments(prompt);
  if (task === 'user_summary') return standInSummary(prompt);
  throw new Error(`the stand-in was asked an unexpected task: ${task}`);
}

const env = { ...isolatedEnv('tivendors'), P8FS_LLM_PROVIDER: 'heuristic' };
let p: Pipeline;
let openai: LoopbackOpenAi;
let anthropic: LoopbackAnthropic;
const stops: Array<() => Promise<void>> = [];

interface Vendor {
  name: 'openai' | 'anthropic';
  tenant: string;
  cfg: Config;
  /** The user prompts the vendor's stand-in received, with their task. */
  asked(): Array<{ task: string | undefined; prompt: string }>;
}
const vendors: Vendor[] = [];

async function startWorker(cfg: Config): Promise<void> {
  const deps = { cfg, pool: p.pool, s3: p.s3, llm: createLlmProvider(cfg), log: pino({ level: 'silent' }) };
  const connection = await connectWorkerConnection(cfg);
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: userInsightTaskQueue(cfg),
    workflowBundle: await bundleWorkflows(),
    activities: {
      ...createMomentActivities(deps),
      ...createTenantMomentActivities(deps),
      ...createUserSummaryActivities(deps),
    },
  });
  const running = worker.run();
  stops.push(async () => {
    worker.shutdown();
    await running;
    await connection.close();
  });
}

beforeAll(async () => {
  p = await createPipeline('tivendors', {}, env);
  installQuietRuntime();
  openai = await startLoopbackOpenAi((body) =>
    JSON.stringify(standIn(body.response_format?.json_schema?.name, userPrompt(body.messages))),
  );
  anthropic = await startLoopbackAnthropic((body) =>
    standIn(body.tool_choice?.name, userPrompt(body.messages)),
  );
  const prefix = p.cfg.temporal.taskQueuePrefix;
  // One worker per vendor, each on a queue of its own, so each tenant's run reaches exactly one stand-in.
  const oai = loadConfig({
    ...env,
    P8FS_LLM_PROVIDER: 'openai',
    OPENAI_API_KEY: 'sk-loopback',
    P8FS_OPENAI_BASE_URL: openai.baseUrl,
    P8FS_LLM_MODEL: 'loopback-gpt',
    P8FS_LLM_SCHEMA_RETRIES: '0',
    P8FS_TASK_QUEUE_PREFIX: `${prefix}-oai`,
  });
  const ant = loadConfig({
    ...env,
    P8FS_LLM_PROVIDER: 'anthropic',
    ANTHROPIC_API_KEY: 'ak-loopback',
    P8FS_ANTHROPIC_BASE_URL: anthropic.url,
    P8FS_LLM_MODEL: 'loopback-claude',
    P8FS_LLM_SCHEMA_RETRIES: '0',
    P8FS_TASK_QUEUE_PREFIX: `${prefix}-ant`,
  });
  vendors.push(
    {
      name: 'openai',
      tenant: uniqueTenant('tvoai'),
      cfg: oai,
      asked: () =>
        openai.requests
          .filter((r) => r.path === '/v1/chat/completions')
          .map((r) => {
            const body = r.body as Parameters<LoopbackOpenAi['answer']>[0];
            return { task: body.response_format?.json_schema?.name, prompt: userPrompt(body.messages) };
          }),
    },
    {
      name: 'anthropic',
      tenant: uniqueTenant('tvant'),
      cfg: ant,
      asked: () =>
        anthropic.requests.map((r) => ({
          task: r.body.tool_choice?.name,
          prompt: userPrompt(r.body.messages),
        })),
    },
  );
  for (const v of vendors) {
    await startWorker(v.cfg);
    await importSampleSessions(p.pool, v.tenant);
    await insertSampleResources(p.pool, v.tenant);
  }
}, 120_000);

afterAll(async () => {
  for (const stop of stops) await stop();
  await openai?.close();
  await anthropic?.close();
  await p?.close();
});

const sampleLine = readFileSync(join(DREAMING_DIR, 'resources', 'project_alpha_spec.md'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .find((l) => l.length > 30 && !l.startsWith('#')) as string;

describe.each([
  ['openai', 0],
  ['anthropic', 1],
] as const)('tenant insights with the %s backend (loopback stand-in)', (name, index) => {
  const vendor = () => vendors[index] as Vendor;

  it(`moments come from the ${name} stand-in, which was sent the tenant's sessions and documents`, async () => {
    const { tenant, cfg } = vendor();
    const outcome = await runMomentsTask(cfg, p.temporal, { tenantId: tenant }, () => undefined);
    expect(outcome).toMatchObject({ status: 'completed', sessions: 1, resources: 7, built: 8, deferred: 0 });
    expect(outcome.provider).toBe(name);
    const asked = vendor()
      .asked()
      .filter((a) => a.task === MOMENT_TASK);
    expect(asked).toHaveLength(outcome.modelCalls);
    const prompts = asked.map((a) => a.prompt).join('\n');
    // The tenant's own text went to the model: the session's speaker and a sample document's line.
    expect(prompts).toContain(`user_id=${tenant}`);
    expect(prompts).toContain(sampleLine.slice(0, 60));
    const { moments } = await listMoments(p.pool, { tenantId: tenant, limit: 200 });
    expect(moments.length).toBe(outcome.moments);
    expect(new Set(moments.map((m) => m.metadata.transcript_ref)).size).toBe(8);
    for (const m of moments) {
      expect(m.metadata).toMatchObject({ generated_by: name, source: 'moments-task' });
      expect(m.metadata.model).toBe(cfg.llm.model);
      expect(m.metadata.heuristic).toBeUndefined();
      expect(m.content).toContain(STAND_IN);
    }
  });

  it(`the user summary comes from the ${name} stand-in, which read the tenant's activity`, async () => {
    const { tenant, cfg } = vendor();
    const outcome = await runUserSummaryTask(cfg, p.temporal, { tenantId: tenant }, () => undefined);
    expect(outcome).toMatchObject({ generatedBy: 'model', provider: name, model: cfg.llm.model });
    const asked = vendor()
      .asked()
      .filter((a) => a.task === 'user_summary');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.prompt).toContain(`user_id: ${tenant}`);
    // The moments it summarises are the stand-in's own, made in the step before.
    expect(asked[0]?.prompt).toContain(STAND_IN);
    const rows = await p.pool.query(
      "SELECT name, content, metadata FROM resources WHERE tenant_id = $1 AND category = 'user_context'",
      [tenant],
    );
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]).toMatchObject({
      name: 'p8fs-user-info',
      metadata: { generated_by: 'model', provider: name, model: cfg.llm.model },
    });
    expect(rows.rows[0].content).toContain(`written by the ${STAND_IN}`);
    expect(rows.rows[0].content).not.toMatch(/heuristic/);
  });

  it('a second run asks the model nothing new for moments and adds nothing', async () => {
    const { tenant, cfg } = vendor();
    const momentCalls = () =>
      vendor()
        .asked()
        .filter((a) => a.task === MOMENT_TASK).length;
    const calls = momentCalls();
    const read = () =>
      p.pool.query(
        `SELECT id, updated_at FROM moments WHERE tenant_id = $1
          UNION ALL SELECT id, created_at FROM resources WHERE tenant_id = $1 ORDER BY id`,
        [tenant],
      );
    const before = await read();
    const again = await runMomentsTask(cfg, p.temporal, { tenantId: tenant }, () => undefined);
    expect(again).toMatchObject({ status: 'skipped', sessions: 0, resources: 0, moments: 0, modelCalls: 0 });
    expect(momentCalls()).toBe(calls);
    // The summary is rewritten in place: still one p8fs-user-info row, no new moment or resource.
    await runUserSummaryTask(cfg, p.temporal, { tenantId: tenant }, () => undefined);
    const after = await read();
    expect(after.rows).toEqual(before.rows);
  });
});
