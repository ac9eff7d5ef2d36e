/**
 * The moments task (tenantMoments, `p8fs dreaming process --task moments`) on the real test stack with
 * the real activities in an in-process user insight worker (p8fs-user-insight) and the offline heuristic: the dreaming samples' chat
 * session and seven documents become moments that cite them (metadata.session_ids, resource_ids) and say
 * they are heuristic; running it again finds nothing new and adds nothing; the model call cap leaves the
 * rest for the next run; another tenant's rows are never read.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAffinityActivities } from '../../src/activities/insight/affinity.js';
import { createMomentActivities } from '../../src/activities/insight/moment-activities.js';
import { createTenantMomentActivities } from '../../src/activities/insight/tenant-moments.js';
import { createUserSummaryActivities } from '../../src/activities/insight/user-summary.js';
import { runTenantInsightsDemo } from '../../src/cli/demo-tenant-insights.js';
import { runMomentsTask } from '../../src/cli/tenant-tasks.js';
import { upsertVectors } from '../../src/db/embeddings/index.js';
import { listMoments } from '../../src/db/moments.js';
import { embeddingProviderFromConfig } from '../../src/providers/embeddings/index.js';
import { llmTaskQueue, userInsightTaskQueue } from '../../src/temporal/names.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { importSampleSessions, insertSampleResources } from '../support/dream-fixtures.js';
import { startInsightWorkers } from '../support/insight-workers.js';
import { createPipeline, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';
import { historyToJson } from '../support/workflow-env.js';

const env = { ...isolatedEnv('tenantmoments'), P8FS_LLM_PROVIDER: 'heuristic' };
const tenant = uniqueTenant('tmom');
const capped = uniqueTenant('tmomcap');
const other = uniqueTenant('tmomother');
const demo = uniqueTenant('tmomdemo');
let p: Pipeline;
let stop: () => Promise<void>;

beforeAll(async () => {
  p = await createPipeline('tenantmoments', {}, env);
  stop = await startInsightWorkers(p, {
    [userInsightTaskQueue(p.cfg)]: (deps) => ({
      ...createMomentActivities(deps),
      ...createTenantMomentActivities(deps),
      ...createUserSummaryActivities(deps),
    }),
    // The demo's part ends with resource affinity, which the dreaming worker hosts (p8fs-llm).
    [llmTaskQueue(p.cfg)]: (deps) => createAffinityActivities(deps),
  });
  for (const t of [tenant, capped, other, demo]) {
    await importSampleSessions(p.pool, t);
    await insertSampleResources(p.pool, t);
  }
}, 120_000);

afterAll(async () => {
  await stop?.();
  await p?.close();
});

describe('tenantMoments', () => {
  it('builds moments from the sessions and documents, citing them, marked heuristic', async () => {
    const run = await runCliInProcess(
      ['dreaming', 'process', '--task', 'moments', '--tenant-id', tenant],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /completed: 1 session\(s\) and 7 resource\(s\) new in the window → \d+ moment\(s\) from 8 source\(s\)/,
    );
    const { moments, total } = await listMoments(p.pool, { tenantId: tenant, limit: 200 });
    expect(total).toBeGreaterThanOrEqual(8);
    const chat = moments.filter((m) => m.metadata.source_type === 'chat_session');
    const docs = moments.filter((m) => m.metadata.source_type === 'document');
    expect(chat.length).toBeGreaterThan(0);
    expect(new Set(docs.map((m) => (m.metadata.resource_names as string[])[0])).size).toBe(7);
    for (const m of moments) {
      expect(m.metadata).toMatchObject({
        generated_by: 'heuristic',
        heuristic: true,
        source: 'moments-task',
      });
      expect(m.topic_tags.length).toBeGreaterThanOrEqual(3);
    }
    const sessionId = (chat[0]?.metadata.session_ids as string[] | undefined)?.[0];
    const row = await p.pool.query('SELECT id FROM sessions WHERE tenant_id = $1', [tenant]);
    expect(sessionId).toBe(row.rows[0]?.id);
    // Persons are the session's own speakers: the tenant's user and the assistant.
    expect(chat[0]?.present_persons.map((x) => (x as { user_id: string }).user_id)).toEqual(
      expect.arrayContaining([tenant]),
    );
  });

  it('adds nothing when run again: every source is cited already', async () => {
    const before = await p.pool.query('SELECT id, updated_at FROM moments WHERE tenant_id = $1 ORDER BY id', [
      tenant,
    ]);
    const again = await runMomentsTask(p.cfg, p.temporal, { tenantId: tenant }, () => undefined);
    expect(again).toMatchObject({ status: 'skipped', sessions: 0, resources: 0, moments: 0 });
    const after = await p.pool.query('SELECT id, updated_at FROM moments WHERE tenant_id = $1 ORDER BY id', [
      tenant,
    ]);
    expect(after.rows).toEqual(before.rows);
  });

  it('keeps one p8fs-user-info resource (user_context) per tenant, which the moments task then skips', async () => {
    for (let i = 0; i < 2; i++) {
      const run = await runCliInProcess(
        ['dreaming', 'process', '--task', 'user-summary', '--tenant-id', tenant],
        env,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(
        /completed: p8fs-user-info \(resource [0-9a-f-]{36}, heuristic, heuristic\/[^)]*\) from 1 session\(s\), \d+ moment\(s\), 7 resource\(s\)/,
      );
    }
    const rows = await p.pool.query(
      "SELECT name, category, content, metadata FROM resources WHERE tenant_id = $1 AND category = 'user_context'",
      [tenant],
    );
    expect(rows.rows).toHaveLength(1);
    const [info] = rows.rows;
    expect(info).toMatchObject({
      name: 'p8fs-user-info',
      metadata: { generated_by: 'heuristic', total_sessions: 1 },
    });
    expect(info.content).toMatch(/^\[heuristic\] Rule-based summary/);
    expect(info.content).toContain('Project Alpha');
    const after = await runMomentsTask(p.cfg, p.temporal, { tenantId: tenant }, () => undefined);
    expect(after).toMatchObject({ status: 'skipped', resources: 0 });
  });

  it('stops at the model call cap; the next run takes the rest', async () => {
    const first = await runMomentsTask(
      p.cfg,
      p.temporal,
      { tenantId: capped, maxModelCalls: 3 },
      () => undefined,
    );
    expect(first.modelCalls).toBeLessThanOrEqual(3);
    expect(first.deferred).toBeGreaterThan(0);
    // P8FS_RECORD_HISTORIES=1 saves this run's history for test/workflows/moments-replay.test.ts.
    if (process.env.P8FS_RECORD_HISTORIES === '1') {
      const history = await p.temporal.workflow.getHandle(first.workflowId).fetchHistory();
      const dir = join('test', 'histories', 'moments');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'tenant-moments-capped.json'), historyToJson(history));
    }
    const second = await runMomentsTask(p.cfg, p.temporal, { tenantId: capped }, () => undefined);
    expect(second.built).toBe(first.deferred);
    expect(second.deferred).toBe(0);
    const docs = await p.pool.query(
      "SELECT DISTINCT metadata->>'transcript_ref' AS ref FROM moments WHERE tenant_id = $1",
      [capped],
    );
    expect(docs.rows).toHaveLength(8);
  });

  it("the demo's part shows moments from the sessions and documents, the user summary and one file's related files; a second run adds nothing", async () => {
    // The demo's chunks have vectors from ingestion; here the local model embeds the sample documents.
    const embedder = embeddingProviderFromConfig(p.cfg);
    const docs = await p.pool.query<{ id: string; hash: string; content: string }>(
      'SELECT id, md5(content) AS hash, content FROM resources WHERE tenant_id = $1 ORDER BY id',
      [demo],
    );
    await upsertVectors(p.pool, {
      kind: 'resources',
      tenantId: demo,
      provider: embedder.name,
      dimensions: embedder.dimensions,
      rows: docs.rows,
      vectors: await embedder.embed(docs.rows.map((d) => d.content)),
    });
    for (const run of [1, 2]) {
      const lines: string[] = [];
      const ok = await runTenantInsightsDemo({
        cfg: p.cfg,
        client: p.temporal,
        say: (l) => lines.push(l),
        tenantId: demo,
      });
      const text = lines.join('\n');
      expect(ok, text).toBe(true);
      expect(text).toMatch(
        run === 1
          ? /moments from sessions and documents: \d+ moment\(s\) from 8 source\(s\) \(1 session\(s\), 7 resource\(s\)\), heuristic/
          : /nothing new in the window/,
      );
      expect(text).toMatch(/ {4}- \[\w+\] .+ \((session|document) /);
      expect(text).toContain('user summary (p8fs-user-info, heuristic):');
      expect(text).toMatch(
        run === 1
          ? /resource affinity: 7 resource\(s\) linked by all-MiniLM-L6-v2 vectors/
          : /resource affinity: nothing to link/,
      );
      expect(text).toMatch(
        / {2}files related to .+:\n {4}- .+: weight \d\.\d\d, semantic_similar \(semantic-basic\)/,
      );
    }
  }, 120_000);

  it("reads only the tenant's rows, and refuses a run without a tenant", async () => {
    const untouched = await p.pool.query('SELECT count(*)::int AS n FROM moments WHERE tenant_id = $1', [
      other,
    ]);
    expect(untouched.rows[0]?.n).toBe(0);
    const bad = await runCliInProcess(['dreaming', 'process', '--task', 'moments'], env);
    expect(bad.code).not.toBe(0);
  });
});
