/**
 * The per-tenant cap on LLM work (issue 25, P8FS_LLM_JOBS_PER_TENANT_PER_HOUR), on the real test stack
 * (PostgreSQL for the claims, Temporal for the starts; no dreaming worker, so started runs just wait):
 * - N+1 dream requests of one tenant at the same instant start exactly N workflows; the one over is a
 *   429 problem naming the limit and when the next slot frees, with Retry-After;
 * - a burst of claims on separate connections takes exactly the cap (the per-tenant advisory lock);
 * - another tenant is not held by it; a transcript upload of the capped tenant is refused the same way;
 * - `p8fs dream start` shares the cap and prints the same sentence.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { createPool } from '../../src/clients/postgres.js';
import { claimLlmWork } from '../../src/db/llm-claims.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { createPipeline, dropBucket, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const CAP = 3;
const tenantA = uniqueTenant('capa');
const tenantB = uniqueTenant('capb');
const env = isolatedEnv('llmcap', { P8FS_LLM_JOBS_PER_TENANT_PER_HOUR: String(CAP) });

let p: Pipeline;
let api: RunningApi;
let keyA: string;
let keyB: string;

beforeAll(async () => {
  p = await createPipeline('llmcap', {}, env);
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
  keyA = (await createApiKey(p.pool, tenantA, 'cap A')).key;
  keyB = (await createApiKey(p.pool, tenantB, 'cap B')).key;
}, 90_000);

afterAll(async () => {
  // Every dream run of the two tenants: none has a worker, so each would wait for ever.
  const ids = await p?.pool
    .query<{ work_id: string }>(`SELECT work_id FROM llm_work_claims WHERE kind = 'dream'`)
    .catch(() => ({ rows: [] }));
  for (const { work_id } of ids?.rows ?? [])
    await p.temporal.workflow
      .getHandle(work_id)
      .terminate('llm cap test done')
      .catch(() => undefined);
  await api?.close();
  if (p) {
    for (const bucket of [tenantA, tenantB]) await dropBucket(p.s3, bucket).catch(() => undefined);
    await p.close();
  }
});

async function post(path: string, key: string, body: unknown, contentType = 'application/json') {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('per-tenant LLM cap', () => {
  it(`${CAP + 1} concurrent dream requests start exactly ${CAP}; the last is a 429 naming the limit and the reset`, async () => {
    const answers = await Promise.all(
      Array.from({ length: CAP + 1 }, () => post('/v1/dreams', keyA, { mode: 'direct' })),
    );
    const started = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    expect(
      answers.map((a) => a.status),
      JSON.stringify(answers.map((a) => a.body)),
    ).toHaveLength(CAP + 1);
    expect(started).toHaveLength(CAP);
    expect(refused).toHaveLength(1);
    const over = refused[0] as (typeof answers)[number];
    expect(over.body.type).toBe('https://p8fs.dev/problems/llm-cap');
    expect(over.body.limit).toBe(CAP);
    expect(String(over.body.detail)).toContain(`P8FS_LLM_JOBS_PER_TENANT_PER_HOUR=${CAP}`);
    const resetsAt = Date.parse(String(over.body.resetsAt));
    // The oldest claim is seconds old: its slot frees a little under an hour from now.
    expect(resetsAt - Date.now()).toBeGreaterThan(3500_000);
    expect(resetsAt - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(Number(over.retryAfter)).toBeGreaterThan(3500);

    // Exactly the started ones exist in Temporal, and one claim each.
    for (const a of started) {
      const described = await p.temporal.workflow.getHandle(String(a.body.workflowId)).describe();
      expect(described.status.name).toBe('RUNNING');
    }
    const claims = await p.pool.query(`SELECT work_id FROM llm_work_claims WHERE tenant_id = $1`, [tenantA]);
    expect(claims.rows.map((r) => r.work_id).sort()).toEqual(started.map((a) => a.body.workflowId).sort());
  });

  it('a burst of 30 claims on 30 connections takes exactly the cap (the per-tenant lock, not luck)', async () => {
    // The API's requests above may arrive one after another; here every claim has its own connection
    // and they all start together, so a count without the lock would let most of them through.
    const tenant = uniqueTenant('capburst');
    const burst = createPool(p.cfg, 30);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          claimLlmWork(burst, { tenantId: tenant, kind: 'dream', workId: `burst-${i}`, limit: 5 }),
        ),
      );
      expect(outcomes.filter((o) => o.kind === 'claimed')).toHaveLength(5);
      const rows = await p.pool.query('SELECT count(*)::int AS n FROM llm_work_claims WHERE tenant_id = $1', [
        tenant,
      ]);
      expect(rows.rows[0].n).toBe(5);
    } finally {
      await burst.end();
    }
  });

  it("another tenant is not held by A's cap; A's transcript upload is refused the same way", async () => {
    const b = await post('/v1/dreams', keyB, { mode: 'direct' });
    expect(b.status, JSON.stringify(b.body)).toBe(202);

    const transcript = await post(
      `/v1/files/${tenantA}?name=standup.json&category=transcripts`,
      keyA,
      JSON.stringify({ segments: [] }),
    );
    expect(transcript.status, JSON.stringify(transcript.body)).toBe(429);
    expect(transcript.body.type).toBe('https://p8fs.dev/problems/llm-cap');
    expect(Number(transcript.retryAfter)).toBeGreaterThan(0);
    // Nothing was stored for it.
    const stored = await p.s3
      .send(new HeadObjectCommand({ Bucket: tenantA, Key: 'transcripts/standup.json' }))
      .then(() => true)
      .catch(() => false);
    expect(stored).toBe(false);
  });

  it('p8fs dream start shares the cap and prints the same sentence', async () => {
    const cli = await runCliInProcess(['dream', 'start', '--tenant', tenantA], env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`tenant ${tenantA} has started ${CAP} LLM jobs`);
    expect(cli.stderr).toContain('the next slot frees at');
    // B has one slot used: the CLI starts its second.
    const ok = await runCliInProcess(['dream', 'start', '--tenant', tenantB], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('started dreamAnalysis');
  });
});
