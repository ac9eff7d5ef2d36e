/**
 * The insights schedule's workflow (insightsBatch) on the real test stack, with the real activities in an
 * in-process user insight worker (p8fs-user-insight) and the offline heuristic: two tenants active in the
 * window, found without being named, each get moments and a p8fs-user-info resource from child
 * workflows carrying the tenant as fairness key, within the per-tenant cap on model calls, then resource
 * affinity as a child on p8fs-llm (an in-process worker there; one tenant's documents have vectors and
 * get linked, the other's have none); a tenant with nothing in the window is not run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAffinityActivities } from '../../src/activities/insight/affinity.js';
import { createInsightTenantActivities } from '../../src/activities/insight/insight-tenants.js';
import { createMomentActivities } from '../../src/activities/insight/moment-activities.js';
import { createTenantMomentActivities } from '../../src/activities/insight/tenant-moments.js';
import { createUserSummaryActivities } from '../../src/activities/insight/user-summary.js';
import { upsertVectors } from '../../src/db/embeddings/index.js';
import { embeddingProviderFromConfig } from '../../src/providers/embeddings/index.js';
import { scheduleDefinitions } from '../../src/schedules/definitions.js';
import { llmTaskQueue, userInsightTaskQueue, WorkflowTypes } from '../../src/temporal/names.js';
import type { insightsBatch } from '../../src/workflows/insights-batch.js';
import { importSampleSessions, insertSampleResources } from '../support/dream-fixtures.js';
import { startInsightWorkers } from '../support/insight-workers.js';
import { createPipeline, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';
import { historyToJson } from '../support/workflow-env.js';

const env = { ...isolatedEnv('insightsbatch'), P8FS_LLM_PROVIDER: 'heuristic' };
const tenants = [uniqueTenant('insa'), uniqueTenant('insb')].sort();
let p: Pipeline;
let stop: () => Promise<void>;

beforeAll(async () => {
  p = await createPipeline('insightsbatch', {}, env);
  stop = await startInsightWorkers(p, {
    [userInsightTaskQueue(p.cfg)]: (deps) => ({
      ...createMomentActivities(deps),
      ...createTenantMomentActivities(deps),
      ...createUserSummaryActivities(deps),
      ...createInsightTenantActivities(deps),
    }),
    [llmTaskQueue(p.cfg)]: (deps) => createAffinityActivities(deps),
  });
  for (const t of tenants) {
    await importSampleSessions(p.pool, t);
    await insertSampleResources(p.pool, t);
  }
  // The first tenant's documents get vectors (ingestion's embed step, here the local model directly).
  const embedder = embeddingProviderFromConfig(p.cfg);
  const docs = await p.pool.query<{ id: string; hash: string; content: string }>(
    'SELECT id, md5(content) AS hash, content FROM resources WHERE tenant_id = $1 ORDER BY id',
    [tenants[0]],
  );
  await upsertVectors(p.pool, {
    kind: 'resources',
    tenantId: tenants[0] as string,
    provider: embedder.name,
    dimensions: embedder.dimensions,
    rows: docs.rows,
    vectors: await embedder.embed(docs.rows.map((d) => d.content)),
  });
}, 120_000);

afterAll(async () => {
  await stop?.();
  await p?.close();
});

describe('insightsBatch (the insights schedule)', () => {
  it('is declared as a schedule on p8fs-user-insight with the configured cap', () => {
    const def = scheduleDefinitions(p.cfg).find((d) => d.id === `${p.cfg.temporal.taskQueuePrefix}-insights`);
    expect(def).toMatchObject({
      workflowType: WorkflowTypes.insightsBatch,
      taskQueue: userInsightTaskQueue(p.cfg),
      cron: [p.cfg.schedules.insightsCron],
      args: [{ lookbackHours: 24, maxModelCallsPerTenant: p.cfg.insightsRun.modelCallsPerTenant }],
    });
  });

  it('runs moments, the user summary and resource affinity for every active tenant, fair and capped', async () => {
    const workflowId = `insights-test/${tenants[0]}`;
    const handle = await p.temporal.workflow.start<typeof insightsBatch>(WorkflowTypes.insightsBatch, {
      taskQueue: userInsightTaskQueue(p.cfg),
      workflowId,
      args: [{ maxModelCallsPerTenant: 4 }],
    });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({
      tenants: 2,
      completed: 2,
      failed: 0,
      tasks: ['moments', 'user-summary', 'affinity'],
    });
    expect(outcome.results.map((r) => r.tenantId)).toEqual(tenants);
    for (const result of outcome.results) {
      expect(result.summary).toBe(true);
      expect(result.moments).toBeGreaterThan(0);
      // Cap 4: three for moments (the sample has eight sources, so some wait), one for the summary.
      expect(result.modelCalls).toBeLessThanOrEqual(4);
      expect(result.deferred).toBeGreaterThan(0);
      const { tenantId } = result;
      const counts = await p.pool.query<{ moments: number; info: number }>(
        `SELECT (SELECT count(*)::int FROM moments WHERE tenant_id = $1) AS moments,
                (SELECT count(*)::int FROM resources WHERE tenant_id = $1 AND name = 'p8fs-user-info') AS info`,
        [tenantId],
      );
      expect(counts.rows[0]).toEqual({ moments: result.moments, info: 1 });
      // Affinity: the tenant with vectors has its seven documents linked (edges stored), the other none.
      const edges = await p.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM resources WHERE tenant_id = $1 AND jsonb_array_length(COALESCE(graph_paths, '[]'::jsonb)) > 0",
        [tenantId],
      );
      if (tenantId === tenants[0]) {
        expect(result.linked).toBe(7);
        expect(edges.rows[0]?.n).toBeGreaterThan(0);
      } else {
        expect(result.linked).toBe(0);
        expect(edges.rows[0]?.n).toBe(0);
      }
      const affinityChild = p.temporal.workflow.getHandle(`${workflowId}/affinity/${tenantId}`);
      expect((await affinityChild.describe()).taskQueue).toBe(llmTaskQueue(p.cfg));
      for (const child of [
        `${workflowId}/moments/${tenantId}`,
        `${workflowId}/user-summary/${tenantId}`,
        `${workflowId}/affinity/${tenantId}`,
      ]) {
        const described = await p.temporal.workflow.getHandle(child).describe();
        expect(described.raw.workflowExecutionInfo?.priority?.fairnessKey, child).toBe(tenantId);
      }
    }
    // P8FS_RECORD_HISTORIES=1 saves this run's history for test/workflows/insights-replay.test.ts.
    if (process.env.P8FS_RECORD_HISTORIES === '1') {
      const dir = join('test', 'histories', 'insights');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'insights-batch-two-tenants.json'), historyToJson(await handle.fetchHistory()));
    }
  }, 240_000);

  it('a named tenant with nothing in the window gets no moments', async () => {
    const handle = await p.temporal.workflow.start<typeof insightsBatch>(WorkflowTypes.insightsBatch, {
      taskQueue: userInsightTaskQueue(p.cfg),
      workflowId: `insights-test/empty/${tenants[0]}`,
      args: [{ lookbackHours: 1, tenantIds: [uniqueTenant('insnone')] }],
    });
    const outcome = await handle.result();
    // Named but inactive: its moments task skips, its summary is still kept (a summary of nothing new).
    expect(outcome.tenants).toBe(1);
    expect(outcome.results[0]?.moments).toBe(0);
  }, 120_000);
});
