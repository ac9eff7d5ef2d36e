/**
 * Batch soaks (`make chaos`, not `make test`): the "done when" runs on real servers.
 * 1. A ZIP of 1,000 small files, with the worker process SIGKILLed half way through the batch: a new
 *    worker picks the batch up (ZIP extraction resumes from its heartbeat, children re-run from their
 *    histories), and the aggregate counts 1,000 completed, none twice (one files row per member).
 * 2. A 10,000-entry list of tiny (10-byte) .txt files with continue-as-new every 500 files: the batch
 *    completes with 10,000 completed and ~20 runs. Figures (times, runs) are printed.
 * The ZIP goes the way users send it: uploaded through the HTTP API (`POST /v1/files/{tenant}`) and
 * started as a batch with `POST /v1/batches`, with the tenant's API key.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { readBatch } from '../../src/db/batches.js';
import { batchWorkflowId } from '../../src/domain/batch.js';
import { ingestBatchHandle, queryBatchProgress, startIngestBatch } from '../../src/temporal/batch-starts.js';
import { spawnWorkerProcess, type WorkerProcess } from '../support/cli.js';
import { zipArchive } from '../support/hostile-files.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('batchsoak', {
  P8FS_WORKER_CONCURRENCY_SMALL: '32',
  P8FS_WORKER_METRICS_PORT: '0',
  // The API's batches continue as new at the configured threshold: low, so the ZIP batch does it too.
  P8FS_BATCH_CONTINUE_AS_NEW_AFTER: '250',
});
const tenant = uniqueTenant('batchsoak');
let p: Pipeline;
let api: RunningApi;
const workers: WorkerProcess[] = [];
const log = (message: string) => console.log(`[batch-soak] ${message}`);

function startWorker(): WorkerProcess {
  const worker = spawnWorkerProcess(env);
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  p = await createPipeline('batchsoak', {}, env);
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await api?.close();
  await p?.close();
});

describe('chaos: batches of 1,000 and 10,000 files (real servers, worker killed)', () => {
  it('a ZIP of 1,000 files completes with 1,000 despite a worker SIGKILLed half way', async () => {
    const members = Array.from({ length: 1000 }, (_, i) => ({
      name: `soak/file-${String(i).padStart(4, '0')}.txt`,
      data: `Soak file ${i}: a small note for the batch soak.\n`,
    }));
    const { key } = await createApiKey(p.pool, tenant, 'batch soak');
    const auth = { authorization: `Bearer ${key}` };
    const upload = await fetch(`${api.url}/v1/files/${tenant}?name=thousand.zip`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/zip' },
      body: zipArchive(members),
    });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const first = startWorker();
    const t0 = Date.now();
    const response = await fetch(`${api.url}/v1/batches`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ zip: 'uploads/thousand.zip', window: 32 }),
    });
    expect(response.status, await response.clone().text()).toBe(202);
    const started = (await response.json()) as { batchId: string };
    const half = await eventually(
      'half of the batch done',
      async () => {
        const progress = await queryBatchProgress(p.temporal, started.batchId).catch(() => undefined);
        return progress && progress.done >= 500 ? progress : undefined;
      },
      900_000,
    );
    log(
      `half way after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${half.done} done, ${half.running} running`,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    startWorker();
    const aggregate = await ingestBatchHandle(p.temporal, started.batchId).result();
    log(
      `ZIP of 1,000: ${((Date.now() - t0) / 1000).toFixed(1)} s in all, ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; ${aggregate.runs} runs; ${JSON.stringify(aggregate.counts)}`,
    );
    expect(aggregate).toMatchObject({
      status: 'completed',
      files: 1000,
      counts: { completed: 1000, failed: 0 },
    });
    const rows = await p.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM files WHERE tenant_id = $1 AND path LIKE $2 AND status = 'completed'`,
      [tenant, `/buckets/${tenant}/batches/${started.batchId}/soak/%`],
    );
    expect(rows.rows[0]?.n).toBe(1000);
    // What an API client following the batch sees at the end.
    const status = await fetch(`${api.url}/v1/batches/${started.batchId}`, { headers: auth });
    expect(status.status).toBe(200);
    const { batch } = (await status.json()) as {
      batch: { status: string; totals: { files: number; counts: Record<string, number> } };
    };
    log(`GET /v1/batches/${started.batchId}: ${batch.status} ${JSON.stringify(batch.totals)}`);
    expect(batch).toMatchObject({
      status: 'completed',
      totals: { files: 1000, counts: { completed: 1000 } },
    });
  }, 1_800_000);

  it('a list of 10,000 tiny files completes, continuing as new every 500', async () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `tiny/t-${String(i).padStart(5, '0')}.txt`);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < keys.length; i = next++) {
          await p.s3.send(
            new PutObjectCommand({
              Bucket: tenant,
              Key: keys[i],
              Body: `tiny ${String(i).padStart(5, '0')}`,
              ContentType: 'text/plain',
            }),
          );
        }
      }),
    );
    log(`uploaded 10,000 tiny files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (workers.every((w) => w.child.exitCode !== null)) startWorker();
    const t1 = Date.now();
    const started = await startIngestBatch(
      { cfg: p.cfg, temporal: p.temporal, s3: p.s3, pool: p.pool },
      { tenantId: tenant, keys, window: 32, continueAsNewAfter: 500, pageSize: 100 },
    );
    const aggregate = await ingestBatchHandle(p.temporal, started.batchId).result();
    const seconds = (Date.now() - t1) / 1000;
    log(
      `10,000-entry list: ${seconds.toFixed(1)} s (${(10_000 / seconds).toFixed(1)} files/s), ${aggregate.runs} runs; ${JSON.stringify(aggregate.counts)}`,
    );
    expect(aggregate).toMatchObject({ status: 'completed', files: 10_000, counts: { completed: 10_000 } });
    expect(aggregate.runs).toBe(20);
    const runs: string[] = [];
    for await (const info of p.temporal.workflow.list({
      query: `WorkflowId = '${batchWorkflowId(started.batchId)}'`,
    }))
      runs.push(info.status.name);
    expect(runs.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(15);
    expect((await readBatch(p.pool, started.batchId))?.status).toBe('completed');
  }, 3_600_000);
});
