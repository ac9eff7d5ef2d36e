/**
 * The walls of batches (issue 25): what one tenant's key must not be able to do to another tenant's
 * batches or to the shared queues, over real HTTP on the test stack (no workers: every batch started here
 * is terminated at the end).
 * - a batchId another tenant holds is a 409 before anything is written: B's row, key list and workflow
 *   stay B's.
 * - the batch's own writes (progress, the final update) are filtered by tenant as well as id.
 * - a priority ahead of P8FS_API_BATCH_MIN_PRIORITY_KEY (default P8FS_BATCH_PRIORITY) or a window over
 *   P8FS_API_BATCH_MAX_WINDOW is a 400 naming the cap; the caps themselves are accepted.
 * - a zip key with a '..' or '.' segment (plain or percent-encoded) is a 400 naming `zip`, as list keys.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { readBatch, updateBatch } from '../../src/db/batches.js';
import { type Answer, callApi, expectProblem } from '../support/api-client.js';
import { createPipeline, dropBucket, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const tenantA = uniqueTenant('bwallsa');
const tenantB = uniqueTenant('bwallsb');

let p: Pipeline;
let api: RunningApi;
let keyA: string;
let keyB: string;
const workflowsToEnd: string[] = [];

beforeAll(async () => {
  p = await createPipeline('batchwalls');
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
  keyA = (await createApiKey(p.pool, tenantA, 'batch walls A')).key;
  keyB = (await createApiKey(p.pool, tenantB, 'batch walls B')).key;
}, 60_000);

afterAll(async () => {
  await api?.close();
  if (p) {
    for (const id of workflowsToEnd)
      await p.temporal.workflow
        .getHandle(id)
        .terminate('batch walls test done')
        .catch(() => undefined);
    for (const bucket of [tenantA, tenantB]) await dropBucket(p.s3, bucket).catch(() => undefined);
    await p.close();
  }
});

function call(method: string, path: string, key: string, body?: unknown): Promise<Answer> {
  return callApi(api.url, method, path, key, body);
}

describe('batches: walls', () => {
  it("another tenant's batchId is a 409 and B's row, key list and workflow stay B's", async () => {
    const started = await call('POST', '/v1/batches', keyB, { keys: ['b/one.md'] });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    workflowsToEnd.push(String(started.body.workflowId));
    const batchId = String(started.body.batchId);
    const before = await readBatch(p.pool, batchId);
    expect(before?.tenantId).toBe(tenantB);
    const listKey = before?.source.kind === 'list' ? before.source.listKey : '';
    expect(listKey).toContain(tenantB);

    const hijack = await call('POST', '/v1/batches', keyA, { keys: ['a/evil.md'], batchId });
    expectProblem(hijack, 409);
    expect(String(hijack.body.detail)).toContain('batchId');

    const after = await readBatch(p.pool, batchId);
    expect(after?.tenantId).toBe(tenantB);
    expect(after?.source).toEqual(before?.source);
    const list = await p.s3.send(new GetObjectCommand({ Bucket: p.cfg.s3.derivedBucket, Key: listKey }));
    expect(await list.Body?.transformToString()).toBe('b/one.md\n');
    // Nor can A learn or touch it through its own key.
    expectProblem(await call('GET', `/v1/batches/${batchId}`, keyA), 404);
  });

  it("a zip key with a '..' segment is a 400 naming zip", async () => {
    for (const zip of [
      `../${tenantB}/b.zip`,
      'a/../../x.zip',
      'a/%2e%2e/b.zip',
      './a.zip',
      `s3://${tenantA}/../b.zip`,
    ]) {
      const answer = await call('POST', '/v1/batches', keyA, { zip });
      expectProblem(answer, 400);
      expect(String(answer.body.detail)).toContain('zip');
    }
  });

  it('a priority ahead of the cap or a window over it is a 400 naming the cap', async () => {
    const minPriority = p.cfg.api.batchMinPriorityKey ?? p.cfg.batch.priority;
    const maxWindow = p.cfg.api.batchMaxWindow;
    expect(minPriority).toBeGreaterThan(1);
    expect(maxWindow).toBeLessThan(1000);
    const urgent = await call('POST', '/v1/batches', keyA, { keys: ['a/one.md'], priority: 1 });
    expectProblem(urgent, 400);
    expect(String(urgent.body.detail)).toContain('P8FS_API_BATCH_MIN_PRIORITY_KEY');
    const wide = await call('POST', '/v1/batches', keyA, { keys: ['a/one.md'], window: 1000 });
    expectProblem(wide, 400);
    expect(String(wide.body.detail)).toContain('P8FS_API_BATCH_MAX_WINDOW');
    const fine = await call('POST', '/v1/batches', keyA, {
      keys: ['a/one.md'],
      priority: minPriority,
      window: maxWindow,
    });
    expect(fine.status, JSON.stringify(fine.body)).toBe(202);
    workflowsToEnd.push(String(fine.body.workflowId));
  });

  it("a batch write names its tenant: another tenant's update of the row changes nothing", async () => {
    const started = await call('POST', '/v1/batches', keyB, { keys: ['b/two.md'] });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    workflowsToEnd.push(String(started.body.workflowId));
    const batchId = String(started.body.batchId);
    const before = await readBatch(p.pool, batchId);
    if (!before) throw new Error('no row');
    const update = { batchId, status: 'failed' as const, totals: before.totals, runs: 9, failures: [] };
    await expect(updateBatch(p.pool, { ...update, tenantId: tenantA })).rejects.toThrow(/no row/);
    const after = await readBatch(p.pool, batchId);
    expect(after?.status).toBe(before.status);
    expect(after?.runs).toBe(before.runs);
    await updateBatch(p.pool, { ...update, status: 'running', runs: 1, tenantId: tenantB });
    expect((await readBatch(p.pool, batchId))?.runs).toBe(1);
  });
});
