/**
 * Logs a person can follow a file by (issue 12, point 4), against the real test stack: a real
 * `p8fs worker` process (src/cli/run.ts through tsx) with P8FS_LOG_FORMAT=json ingests one PDF, and its
 * stdout holds ONE info line `ingestFile completed` with tenant, path, workflow id, run id, the file's
 * counts (bytes, pages, chunks) and its duration; every other line about that file (the workflow's and
 * the activities', forwarded from the Temporal SDK into the process's pino logger) names the tenant, the
 * path, the workflow id and the run id too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeEvent } from '../../src/bridge/route-event.js';
import { ensureBucket } from '../../src/clients/object-store.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { type RunningCli, startCli } from '../support/cli.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { dropBucket, eventually } from '../support/pipeline.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

// The worker loads the bundle the test run's global setup built from src/workflows (always current).
const env = isolatedEnv('wlogs', {
  P8FS_LOG_LEVEL: 'info',
  P8FS_LOG_FORMAT: 'json',
});
const cfg: Config = loadConfig(env);
const tenant = uniqueTenant('wlogs');
let pool: pg.Pool;
let s3: S3Client;
let temporal: Client;
let worker: RunningCli | undefined;

type LogLine = Record<string, unknown> & { level: number; msg: string };

function jsonLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

beforeAll(async () => {
  pool = await createTestDatabase(cfg);
  s3 = createS3Client(cfg);
  temporal = await connectTemporal(cfg);
  await ensureBucket(s3, tenant);
  worker = startCli(['worker', '--tier', 'small'], env);
  await worker.waitFor(/workers running/, 120_000);
}, 150_000);

afterAll(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  await temporal?.connection.close();
  await dropBucket(s3, tenant).catch(() => undefined);
  await dropBucket(s3, cfg.s3.derivedBucket).catch(() => undefined);
  s3?.destroy();
  if (pool) await dropTestDatabase(cfg, pool);
});

describe('worker logs follow a file (real worker process, JSON logs)', () => {
  it('a completed file logs one info line with tenant, path, workflow and run id, counts and duration', async () => {
    const body = readFileSync(join(SAMPLES_DIR, 'small', 'sample.pdf'));
    const key = 'reports/sample.pdf';
    const path = `/buckets/${tenant}/${key}`;
    await s3.send(
      new PutObjectCommand({ Bucket: tenant, Key: key, Body: body, ContentType: 'application/pdf' }),
    );
    const routed = await routeEvent(
      { cfg, s3, temporal },
      JSON.stringify({ event_type: 'create', path, mime_type: 'application/pdf' }),
      'worker-logs-test',
    );
    if (routed.kind !== 'started') throw new Error(`not started: ${JSON.stringify(routed)}`);
    const outcome = await ingestFileHandle(temporal, routed.workflowId).result();
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;

    // The worker writes the line as the workflow completes; give the pipe a moment.
    const completed = await eventually('the worker to log `ingestFile completed`', async () => {
      const lines = jsonLines(worker?.output() ?? '').filter(
        (l) => l.msg === 'ingestFile completed' && l.path === path,
      );
      return lines.length > 0 ? lines : undefined;
    });
    expect(completed).toHaveLength(1);
    const line = completed[0] as LogLine;
    expect(line).toMatchObject({
      level: 30,
      name: 'p8fs-storage-worker',
      tenantId: tenant,
      path,
      workflowId: routed.workflowId,
      runId: routed.runId,
      workflowType: 'ingestFile',
      tier: 'small',
      provider: outcome.provider,
      bytes: body.length,
      pages: outcome.pageCount,
      chunks: outcome.chunkCount,
      tokens: outcome.tokenCount,
    });
    expect(outcome.pageCount).toBeGreaterThan(0);
    expect(outcome.chunkCount).toBeGreaterThan(0);
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(line.durationMs as number).toBeLessThan(60_000);

    // Every line about this file, whoever wrote it (workflow or activity), names tenant, path and run.
    const aboutFile = jsonLines(worker?.output() ?? '').filter((l) => l.path === path);
    expect(aboutFile.length).toBeGreaterThanOrEqual(2);
    for (const l of aboutFile) {
      expect(l, l.msg).toMatchObject({
        tenantId: tenant,
        workflowId: routed.workflowId,
        runId: routed.runId,
      });
    }
    // An activity line is among them (the SDK calls its run `workflowRunId`; ours say `runId` too).
    expect(aboutFile.some((l) => l.sdkComponent === 'activity')).toBe(true);
  });
});
