/**
 * The moments task's moments get vectors as buildMoments' do (issue 23: "moments are embedded the same
 * way"): with embedding on, tenantMoments calls embedMoments on the storage workers' small-tier `-embed`
 * queue after each store, and every moment it stored has a 384-d vector of the local provider in
 * embeddings.moments_embeddings. Real stack, the local model, the heuristic LLM provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMomentActivities } from '../../src/activities/insight/moment-activities.js';
import { createTenantMomentActivities } from '../../src/activities/insight/tenant-moments.js';
import { embeddingProviderFromConfig } from '../../src/providers/embeddings/index.js';
import { userInsightTaskQueue } from '../../src/temporal/names.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { importSampleSessions, insertSampleResources } from '../support/dream-fixtures.js';
import { startInsightWorkers } from '../support/insight-workers.js';
import { createPipeline, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

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
  stop = await startInsightWorkers(p, {
    [userInsightTaskQueue(p.cfg)]: (deps) => ({
      ...createMomentActivities(deps),
      ...createTenantMomentActivities(deps),
    }),
  });
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
