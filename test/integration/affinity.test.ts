/**
 * Resource affinity (resourceAffinity, `p8fs dreaming process --task affinity`) on the real test stack:
 * PostgreSQL with pgvector, Temporal, an in-process LLM worker with the real activities, the local
 * embedding model and the heuristic LLM. Two documents about growing tomatoes and one about a database
 * upgrade, embedded by the local model: edges join the tomato documents only (never a file's own chunks,
 * never the other tenant's copy of the same text); a run again links nothing; --relink leaves the same
 * edges; --use-llm adds llm-assessed edges; `p8fs related` and GET /v1/.../related read them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAffinityActivities } from '../../src/activities/insight/affinity.js';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { runAffinityTask } from '../../src/cli/tenant-tasks.js';
import { relatedResources } from '../../src/db/affinity.js';
import { upsertVectors } from '../../src/db/embeddings/index.js';
import { fileIdFor, resourceIdFor } from '../../src/domain/ids.js';
import type { GraphEdge } from '../../src/domain/insight/affinity.js';
import { embeddingProviderFromConfig } from '../../src/providers/embeddings/index.js';
import { llmTaskQueue } from '../../src/temporal/names.js';
import { callApi, expectProblem } from '../support/api-client.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { startInsightWorkers } from '../support/insight-workers.js';
import { createPipeline, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';
import { historyToJson } from '../support/workflow-env.js';

// The threshold below the default (0.5): a 20-word segment of one tomato text scores 0.45-0.65 against
// the other, the database text under 0.15 against either (measured), and segments follow the random ids.
const env = { ...isolatedEnv('affinity'), P8FS_LLM_PROVIDER: 'heuristic', P8FS_AFFINITY_THRESHOLD: '0.3' };
const tenant = uniqueTenant('aff');
const other = uniqueTenant('affother');
let p: Pipeline;
let stop: () => Promise<void>;
let api: RunningApi | undefined;

const DOCS: Record<string, string[]> = {
  'tomato-garden.md': [
    'Growing tomatoes in the back garden this summer. The seedlings went into the raised bed in May after the last frost, staked with bamboo canes and watered every evening. Pinching out the side shoots keeps the plants growing upwards and the fruit ripening on the vine.',
    'By August the tomato plants were heavy with fruit. Feeding them with a potash-rich tomato feed every week helped, and the cherry tomatoes ripened first. Blight is the worry when the weather turns wet, so the lower leaves come off and the plants get air.',
  ],
  'vegetable-patch.md': [
    'Notes from the vegetable patch: the tomato plants need staking and daily watering in dry weather, side shoots pinched out, and a weekly tomato feed once the first trusses of fruit set. Watch for blight on the leaves after rain and remove the affected foliage.',
  ],
  'postgres-upgrade.md': [
    'Upgrading the PostgreSQL cluster from version 16 to 18: run pg_upgrade with the link mode on a replica first, check the extensions (pgvector must be rebuilt for the new server), analyse every table afterwards so the planner has statistics, then fail over the application connections.',
  ],
};

async function insertDocs(tenantId: string, docs: Record<string, string[]>): Promise<void> {
  const embedder = embeddingProviderFromConfig(p.cfg);
  for (const [name, chunks] of Object.entries(docs)) {
    const path = `/buckets/${tenantId}/uploads/${name}`;
    const fileId = fileIdFor(tenantId, path);
    await p.pool.query(
      `INSERT INTO files (id, tenant_id, uri, path, name, category, status, chunk_count)
       VALUES ($1, $2, $3, $4, $5, 'uploads', 'completed', $6)`,
      [fileId, tenantId, `s3://${tenantId}/uploads/${name}`, path, name, chunks.length],
    );
    const rows = [];
    for (const [ordinal, content] of chunks.entries()) {
      const id = resourceIdFor(fileId, ordinal);
      const inserted = await p.pool.query<{ hash: string }>(
        `INSERT INTO resources (id, tenant_id, file_id, name, category, content, ordinal)
         VALUES ($1, $2, $3, $4, 'uploads', $5, $6) RETURNING md5(content) AS hash`,
        [id, tenantId, fileId, name, content, ordinal],
      );
      rows.push({ id, hash: inserted.rows[0]?.hash as string });
    }
    await upsertVectors(p.pool, {
      kind: 'resources',
      tenantId,
      provider: embedder.name,
      dimensions: embedder.dimensions,
      rows,
      vectors: await embedder.embed(chunks),
    });
  }
}

const chunk = (tenantId: string, name: string, ordinal = 0) =>
  resourceIdFor(fileIdFor(tenantId, `/buckets/${tenantId}/uploads/${name}`), ordinal);

async function edgesOf(tenantId: string): Promise<Map<string, GraphEdge[]>> {
  const { rows } = await p.pool.query<{ id: string; graph_paths: GraphEdge[] }>(
    'SELECT id, graph_paths FROM resources WHERE tenant_id = $1 ORDER BY id',
    [tenantId],
  );
  return new Map(rows.map((r) => [r.id, r.graph_paths]));
}

/** P8FS_RECORD_HISTORIES=1 saves a run's history for test/workflows/affinity-replay.test.ts. */
async function record(stdout: string, name: string): Promise<void> {
  if (process.env.P8FS_RECORD_HISTORIES !== '1') return;
  const id = /started resourceAffinity (\S+)/.exec(stdout)?.[1] as string;
  const history = await p.temporal.workflow.getHandle(id).fetchHistory();
  const dir = join('test', 'histories', 'affinity');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), historyToJson(history));
}

beforeAll(async () => {
  p = await createPipeline('affinity', {}, env);
  stop = await startInsightWorkers(p, { [llmTaskQueue(p.cfg)]: (deps) => createAffinityActivities(deps) });
  await insertDocs(tenant, DOCS);
  // The other tenant holds the very same vegetable-patch text: the nearest vector there is, and never linked.
  await insertDocs(other, { 'vegetable-patch.md': DOCS['vegetable-patch.md'] as string[] });
}, 180_000);

afterAll(async () => {
  await api?.close();
  await stop?.();
  await p?.close();
});

describe('resourceAffinity (basic)', () => {
  it('links the two tomato documents both ways, and nothing else', async () => {
    const run = await runCliInProcess(
      ['dreaming', 'process', '--task', 'affinity', '--tenant-id', tenant],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /completed: 4 resource\(s\) linked by all-MiniLM-L6-v2 vectors → 3 new edge\(s\)/,
    );
    const edges = await edgesOf(tenant);
    const patch = chunk(tenant, 'vegetable-patch.md');
    for (const ordinal of [0, 1]) {
      const held = edges.get(chunk(tenant, 'tomato-garden.md', ordinal)) ?? [];
      // One edge, to the other file (never to the file's own other chunk).
      expect(held.map((e) => e.dst)).toEqual([patch]);
      const edge = held[0] as GraphEdge;
      expect(edge.rel_type).toBe('semantic_similar');
      expect(edge.properties.match_type).toBe('semantic-basic');
      expect(edge.properties.similarity).toBeGreaterThanOrEqual(0.3);
      expect(edge.weight).toBeGreaterThanOrEqual(0.3);
      expect(edge.weight).toBeLessThanOrEqual(1);
      expect(Date.parse(edge.created_at)).not.toBeNaN();
    }
    const back = edges.get(patch) ?? [];
    expect(back).toHaveLength(1);
    expect([chunk(tenant, 'tomato-garden.md', 0), chunk(tenant, 'tomato-garden.md', 1)]).toContain(
      back[0]?.dst,
    );
    expect(edges.get(chunk(tenant, 'postgres-upgrade.md'))).toEqual([]);
    // The other tenant: never a target, and its rows are not touched.
    const otherIds = [...(await edgesOf(other)).keys()];
    for (const list of edges.values()) for (const e of list) expect(otherIds).not.toContain(e.dst);
    expect([...(await edgesOf(other)).values()]).toEqual([[]]);
    await record(run.stdout, 'affinity-basic');
  });

  it('links nothing on a run again, and --relink leaves exactly the same edges', async () => {
    const before = await edgesOf(tenant);
    const again = await runAffinityTask(p.cfg, p.temporal, { tenantId: tenant }, () => undefined);
    expect(again).toMatchObject({ status: 'skipped', linked: 0, edgesAdded: 0 });
    const relinked = await runAffinityTask(
      p.cfg,
      p.temporal,
      { tenantId: tenant, relink: true },
      () => undefined,
    );
    expect(relinked).toMatchObject({ status: 'completed', linked: 4, edgesAdded: 0, edgesHeld: 3 });
    expect(await edgesOf(tenant)).toEqual(before);
  });

  it("`p8fs related` and the API show a file's neighbour files, strongest first", async () => {
    const run = await runCliInProcess(['related', 'tomato-garden.md', '--tenant', tenant], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^file tomato-garden\.md \(.+\): 1 related/);
    expect(run.stdout).toMatch(
      /[→←] vegetable-patch\.md\s+\[semantic_similar, semantic-basic, similarity 0\.\d+\]/,
    );
    expect(run.stdout).not.toMatch(/postgres-upgrade/);
    // Both ways: the postgres document has no edge, and nothing links to it.
    const none = await runCliInProcess(['related', 'postgres-upgrade.md', '--tenant', tenant], env);
    expect(none.stdout).toMatch(/: 0 related/);
    // Another tenant's name is not found in this tenant.
    const foreign = await runCliInProcess(['related', 'tomato-garden.md', '--tenant', other], env);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/no file or resource "tomato-garden\.md" for tenant/);
    // The incoming direction for one resource: the patch's chunk is linked from both garden chunks.
    const incoming = await relatedResources(p.pool, tenant, [chunk(tenant, 'vegetable-patch.md')], 10);
    expect(incoming.map((r) => r.file_name)).toEqual(['tomato-garden.md']);

    api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
    const base = api.url.replace(/\/$/, '');
    const key = (await createApiKey(p.pool, tenant, 'affinity')).key;
    const otherKey = (await createApiKey(p.pool, other, 'affinity other')).key;
    const fileId = fileIdFor(tenant, `/buckets/${tenant}/uploads/tomato-garden.md`);
    const byFile = await callApi(base, 'GET', `/v1/files/${fileId}/related`, key);
    expect(byFile.status, JSON.stringify(byFile.body)).toBe(200);
    expect(byFile.body).toMatchObject({ kind: 'file', id: fileId, name: 'tomato-garden.md' });
    const related = byFile.body.related as Array<Record<string, unknown>>;
    expect(related.map((r) => [r.file_name, r.rel_type, r.match_type])).toEqual([
      ['vegetable-patch.md', 'semantic_similar', 'semantic-basic'],
    ]);
    const patch = chunk(tenant, 'vegetable-patch.md');
    const byResource = await callApi(base, 'GET', `/v1/resources/${patch}/related`, key);
    expect((byResource.body.related as Array<{ file_name: string }>).map((r) => r.file_name)).toEqual([
      'tomato-garden.md',
    ]);
    // Another tenant's key: a 404 like a missing id; a resource id is not a file id.
    expectProblem(await callApi(base, 'GET', `/v1/files/${fileId}/related`, otherKey), 404);
    expectProblem(await callApi(base, 'GET', `/v1/files/${patch}/related`, key), 404);
    expectProblem(await callApi(base, 'GET', '/v1/resources/nope/related', key), 400);
  });
});

describe('resourceAffinity --use-llm (heuristic stand-in)', () => {
  it('asks about each candidate pair and writes llm-assessed edges beside the semantic ones', async () => {
    const run = await runCliInProcess(
      ['dreaming', 'process', '--task', 'affinity', '--tenant-id', tenant, '--use-llm', '--relink'],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/3 model call\(s\) \(heuristic\)/);
    await record(run.stdout, 'affinity-llm');
    const held = (await edgesOf(tenant)).get(chunk(tenant, 'vegetable-patch.md')) ?? [];
    const llm = held.filter((e) => e.properties.match_type === 'llm-assessed');
    expect(llm).toHaveLength(1);
    expect(llm[0]).toMatchObject({
      rel_type: 'similar_topic',
      properties: { generated_by: 'heuristic', provider: 'heuristic' },
    });
    expect(llm[0]?.properties.connecting_entities).toEqual(expect.arrayContaining(['tomato']));
    expect(String(llm[0]?.properties.reasoning)).toMatch(/^\[heuristic\]/);
    expect(held.filter((e) => e.rel_type === 'semantic_similar')).toHaveLength(1);
  });

  it('refuses --use-llm without --task affinity', async () => {
    const run = await runCliInProcess(['dreaming', 'process', '--tenant-id', tenant, '--use-llm'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--use-llm and --relink are for --task affinity/);
  });
});
