/**
 * ingestBatch on the real test stack (Temporal, SeaweedFS, PostgreSQL, NATS): a ZIP of 50 files, a list
 * of keys with a low continue-as-new threshold, cancellation of a batch with children in flight, and the
 * live progress query. Tiny text files keep it short; the 1,000- and 10,000-file runs are in
 * batch-soak.test.ts (`make chaos`).
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBatch } from '../../src/db/batches.js';
import type { BatchAggregate, BatchProgress } from '../../src/domain/batch.js';
import { batchWorkflowId } from '../../src/domain/batch.js';
import { ingestBatchHandle, queryBatchProgress, startIngestBatch } from '../../src/temporal/batch-starts.js';
import { createStorageWorkers } from '../../src/workers/storage-worker.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { zipArchive } from '../support/hostile-files.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

let p: Pipeline;
const tenant = uniqueTenant('batch');

// Files up to 4 KiB are small-tier here; the cancel test uses 5 KiB files, which go to the medium queue.
const SMALL_MAX = 4096;
// Each extraction runs in a sandbox process, forked cold (through tsx, from source) per concurrent
// extraction: a window of 4 keeps those forks few. The timeouts allow for a busy 2-core machine.
const SLOW = 180_000;
const env = isolatedEnv('batch', {
  P8FS_TIER_SMALL_MAX_BYTES: String(SMALL_MAX),
});

function text(n: number): string {
  return `Batch file number ${n}. It talks about batches, windows and continue-as-new, briefly.\n`;
}

async function executions(workflowId: string): Promise<string[]> {
  const statuses: string[] = [];
  for await (const info of p.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    statuses.push(info.status.name);
  return statuses;
}

beforeAll(async () => {
  p = await createPipeline('batch', {}, env);
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

describe('ingestBatch (real servers)', () => {
  it(
    'a ZIP of 50 files: extracted into S3, 50 children in a window, aggregate counts 50, progress by query',
    async () => {
      const members = Array.from({ length: 50 }, (_, i) => ({
        name: `notes/file-${String(i).padStart(2, '0')}.txt`,
        data: text(i),
      }));
      await p.putObject(tenant, 'uploads/fifty.zip', zipArchive(members), 'application/zip');
      const started = await startIngestBatch(
        { cfg: p.cfg, temporal: p.temporal, s3: p.s3, pool: p.pool },
        { tenantId: tenant, zip: `s3://${tenant}/uploads/fifty.zip`, window: 4 },
      );
      expect((await readBatch(p.pool, started.batchId))?.status).toMatch(/queued|extracting|running/);
      const t0 = Date.now();
      const handle = ingestBatchHandle(p.temporal, started.batchId);
      const snapshots: BatchProgress[] = [];
      let finished = false;
      const result = handle.result().finally(() => {
        finished = true;
      });
      while (!finished) {
        const snapshot = await queryBatchProgress(p.temporal, started.batchId).catch(() => undefined);
        if (snapshot) {
          if (
            snapshot.status !== snapshots.at(-1)?.status ||
            (snapshot.done > 0 && !snapshots.some((x) => x.done > 0))
          )
            console.log(
              `ZIP batch at ${((Date.now() - t0) / 1000).toFixed(1)} s: ${snapshot.status}, ${snapshot.done} done`,
            );
          snapshots.push(snapshot);
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      const aggregate = await result;
      console.log(`ZIP batch of 50: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(aggregate).toMatchObject({
        batchId: started.batchId,
        tenantId: tenant,
        status: 'completed',
        files: 50,
        counts: { completed: 50, failed: 0, superseded: 0, skipped: 0, cancelled: 0 },
        bytes: members.reduce((n, m) => n + Buffer.byteLength(m.data), 0),
        failedFiles: [],
      });
      expect(aggregate.chunks).toBeGreaterThanOrEqual(50);
      // Members are files of their own under the batch's prefix, each with its resources.
      const stored = await p.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM files WHERE tenant_id = $1 AND status = 'completed' AND path LIKE $2`,
        [tenant, `/buckets/${tenant}/batches/${started.batchId}/notes/%`],
      );
      expect(stored.rows[0]?.n).toBe(50);
      const row = await readBatch(p.pool, started.batchId);
      expect(row).toMatchObject({ status: 'completed', totals: { files: 50 }, sourceKind: 'zip' });
      expect(row?.completedAt).toBeInstanceOf(Date);
      // The query showed the batch part-way: some files done, not all, never going backwards.
      const partial = snapshots.filter((s) => s.done > 0 && s.done < 50);
      console.log(
        `ZIP batch: ${snapshots.length} progress snapshots, ${partial.length} part-way, max running ${Math.max(...snapshots.map((s) => s.running))}`,
      );
      expect(partial.length).toBeGreaterThan(0);
      expect(Math.max(...snapshots.map((s) => s.running))).toBeLessThanOrEqual(4);
      for (let i = 1; i < snapshots.length; i++)
        expect(snapshots[i]?.done).toBeGreaterThanOrEqual(snapshots[i - 1]?.done ?? 0);
    },
    SLOW,
  );

  it(
    'a list of keys continues as new every 5 files, dedups a file the bridge already ingested, reports missing keys',
    async () => {
      const keys = Array.from({ length: 30 }, (_, i) => `list/k-${String(i).padStart(2, '0')}.txt`);
      for (const [i, key] of keys.entries()) await p.putObject(tenant, key, text(100 + i), 'text/plain');
      // One of them was uploaded interactively first: the bridge's run is awaited, not started again.
      const first = keys[0] as string;
      await p.publish({ event_type: 'create', path: `/buckets/${tenant}/${first}` });
      await eventually('the bridge to ingest the first key', async () => {
        const r = await p.pool.query(
          `SELECT 1 FROM files WHERE tenant_id = $1 AND path = $2 AND status = 'completed'`,
          [tenant, `/buckets/${tenant}/${first}`],
        );
        return r.rowCount ? true : undefined;
      });
      const missing = ['list/missing-1.txt', 'list/missing-2.txt'];
      const started = await startIngestBatch(
        { cfg: p.cfg, temporal: p.temporal, s3: p.s3, pool: p.pool },
        {
          tenantId: tenant,
          keys: [...keys, ...missing],
          window: 4,
          continueAsNewAfter: 5,
          pageSize: 7,
          priority: 5,
        },
      );
      const t0 = Date.now();
      const aggregate: BatchAggregate = await ingestBatchHandle(p.temporal, started.batchId).result();
      console.log(`list batch of 32: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(aggregate).toMatchObject({
        status: 'completed',
        files: 32,
        counts: { completed: 30, failed: 2, cancelled: 0 },
        deduplicated: 1,
        failedFilesOmitted: 0,
      });
      expect(aggregate.failedFiles.map((f) => f.key).sort()).toEqual(missing);
      for (const f of aggregate.failedFiles) expect(f.reason).toMatch(/does not exist/);
      // 32 entries, 5 a run: continue-as-new several times; every run but the last ended that way.
      const runs = await eventually('visibility of every run', async () => {
        const statuses = await executions(batchWorkflowId(started.batchId));
        return statuses.length === aggregate.runs ? statuses : undefined;
      });
      console.log(`list batch: ${aggregate.runs} runs: ${runs.join(', ')}`);
      expect(aggregate.runs).toBeGreaterThanOrEqual(6);
      expect(runs.filter((s) => s === 'CONTINUED_AS_NEW')).toHaveLength(aggregate.runs - 1);
      expect(runs.filter((s) => s === 'COMPLETED')).toHaveLength(1);
      const row = await readBatch(p.pool, started.batchId);
      expect(row).toMatchObject({ status: 'completed', runs: aggregate.runs, priority: 5 });
      expect(row?.failedFiles).toHaveLength(2);
    },
    SLOW,
  );

  it(
    'cancelling a batch cancels its running children and starts no more',
    async () => {
      const keys = Array.from({ length: 8 }, (_, i) => `cancel/c-${i}.txt`);
      // Over SMALL_MAX: medium tier, whose queue has no worker yet, so the children are surely in flight.
      for (const [i, key] of keys.entries()) await p.putObject(tenant, key, text(i).repeat(80), 'text/plain');
      const started = await startIngestBatch(
        { cfg: p.cfg, temporal: p.temporal, s3: p.s3, pool: p.pool },
        { tenantId: tenant, keys, window: 3, priority: 5 },
      );
      const handle = ingestBatchHandle(p.temporal, started.batchId);
      await eventually('three children running', async () => {
        const progress = await queryBatchProgress(p.temporal, started.batchId);
        return progress.running === 3 ? progress : undefined;
      });
      // Visibility lags the history a little: wait until it lists the three.
      const children = await eventually('the three children in visibility', async () => {
        const ids: string[] = [];
        for await (const info of p.temporal.workflow.list({
          query: `ParentWorkflowId = '${handle.workflowId}'`,
        }))
          ids.push(info.workflowId);
        return ids.length === 3 ? ids : undefined;
      });
      // Batch members run at the batch's priority, with the tenant as fairness key.
      const child = await p.temporal.workflow.getHandle(children[0] as string).describe();
      expect(child.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(5);
      await handle.cancel();
      // The medium worker comes up after the cancel: each child's first task finds the cancellation.
      const medium = await createStorageWorkers(p.cfg, ['medium']);
      const mediumRun = medium.run();
      try {
        const error = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(WorkflowFailedError);
        expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
        for (const id of children) {
          const description = await p.temporal.workflow.getHandle(id).describe();
          expect(description.status.name).toBe('CANCELLED');
        }
        const row = await readBatch(p.pool, started.batchId);
        expect(row).toMatchObject({
          status: 'cancelled',
          totals: { counts: { cancelled: 3, completed: 0 } },
        });
        const stored = await p.pool.query(
          `SELECT 1 FROM files WHERE tenant_id = $1 AND path LIKE $2 AND status = 'completed'`,
          [tenant, `/buckets/${tenant}/cancel/%`],
        );
        expect(stored.rowCount).toBe(0);
      } finally {
        medium.shutdown();
        await mediumRun;
      }
    },
    SLOW,
  );

  it(
    'p8fs batch start --list … --wait --json, then p8fs batch status ID --json',
    async () => {
      // Keys the list test ingested: their runs exist already, so the batch only awaits them (quick).
      const dir = mkdtempSync(join(tmpdir(), 'p8fs-batch-cli-'));
      const listFile = join(dir, 'keys.txt');
      writeFileSync(listFile, '# three keys\nlist/k-01.txt\n\nlist/k-02.txt\nlist/k-03.txt\n');
      const started = await runCliInProcess(
        ['batch', 'start', '--tenant', tenant, '--list', listFile, '--priority', '3', '--wait', '--json'],
        env,
      );
      expect(started.stderr).not.toMatch(/p8fs:/);
      expect(started.code).toBe(0);
      const row = JSON.parse(started.stdout) as {
        id: string;
        status: string;
        totals: { files: number; deduplicated: number };
      };
      expect(row).toMatchObject({ status: 'completed', totals: { files: 3, deduplicated: 3 } });
      const status = await runCliInProcess(['batch', 'status', row.id, '--json'], env);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        id: row.id,
        priority: 3,
        totals: { counts: { completed: 3 } },
      });
      const bad = await runCliInProcess(
        ['batch', 'start', '--tenant', tenant, '--list', listFile, '--priority', '9'],
        env,
      );
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/priority must be a whole number from 1 to 5, got 9/);
    },
    SLOW,
  );
});
