/**
 * The moments task's moments get vectors as buildMoments' do (issue 23: "moments are embedded the same
 * way"): with embedding on, tenantMoments calls embedMoments on the storage workers' small-tier `-embed`
 * queue after each store, and every moment it stored has a 384-d vector of the local provider in
 * embeddings.moments_embeddings. Real stack, the local model, the heuristic LLM provider.
 */
import { Worker } from '@temporalio/worker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlmProvider } from '../../src/activities/insight/llm/index.js';
import { createMomentActivities } from '../../src/activities/insight/moment-activities.js';
import { createTenantMomentActivities } from '../../src/activities/insight/tenant-moments.js';
import { embeddingProviderFromConfig } from '../../src/providers/embeddings/index.js';
import { connectWorkerConnection } from '../../src/temporal/connection.js';
import { userInsightTaskQueue } from '../../src/temporal/names.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { importSampleSessions, insertSampleResources } from '../support/dream-fixtures.js';
import { createPipeline, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';
import { bundleWorkflows, installQuietRuntime } from '../support/workflow-env.js';

const env = {
  ...isolatedEnv('tmomembed'),
  P8FS_LLM_PROVIDER: 'heuristic',
  P8FS_EMBEDDINGS_ENABLED: 'true',
};
const tenant = uniqueTenant('tmomemb');
let p: Pipeline;
let stop: () => Promise<void>;

beforeAll(async () => {
  p = await createPipeline('tmomembed', { P8FS_EMBEDDINGS_ENABLED: 'true' }, env);
  await p.startWorkers(['small']);
  installQuietRuntime();
  const llm = createLlmProvider({ ...p.cfg, llm: { ...p.cfg.llm, provider: 'heuristic' } });
  const deps = { cfg: p.cfg, pool: p.pool, s3: p.s3, llm, log: pino({ level: 'silent' }) };
  const connection = await connectWorkerConnection(p.cfg);
  const worker = await Worker.create({
    connection,
    namespace: p.cfg.temporal.namespace,
    taskQueue: userInsightTaskQueue(p.cfg),
    workflowBundle: await bundleWorkflows(),
    activities: { ...createMomentActivities(deps), ...createTenantMomentActivities(deps) },
  });
  const running = worker.run();
  stop = async () => {
    worker.shutdown();
    await running;
    await connection.close();
  };
  await importSampleSessions(p.pool, tenant);
  await insertSampleResources(p.pool, tenant);
}, 180_000);

afterAll(async () => {
  await stop?.();
  await p?.close();
});

describe('tenantMoments with embedding on', () => {
  it('gives every moment it stores a vector of the configured provider', async () => {
    const run = await runCliInProcess(
      ['dreaming', 'process', '--task', 'moments', '--tenant-id', tenant],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const moments = await p.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM moments WHERE tenant_id = $1',
      [tenant],
    );
    const vectors = await p.pool.query<{ n: string; dims: number; provider: string }>(
      `SELECT count(*) AS n, min(vector_dimension) AS dims, min(embedding_provider) AS provider
         FROM embeddings.moments_embeddings e JOIN moments m ON m.id = e.entity_id
        WHERE m.tenant_id = $1`,
      [tenant],
    );
    expect(Number(moments.rows[0]?.n)).toBeGreaterThanOrEqual(8);
    expect(Number(vectors.rows[0]?.n)).toBeGreaterThanOrEqual(Number(moments.rows[0]?.n));
    expect(vectors.rows[0]?.dims).toBe(384);
    expect(vectors.rows[0]?.provider).toBe(embeddingProviderFromConfig(p.cfg).name);
  }, 300_000);
});
