/**
 * Housekeeping on the real servers: the workflows the schedules start (stale multipart uploads aborted,
 * files left in `processing` re-queued and completed, old dead letters trimmed), `p8fs schedule apply`
 * twice giving the same schedules, and `p8fs retry-failed` re-running files that failed under a limit
 * that has since been raised. Unique database, streams, task queues and buckets for this file.
 */

import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequeueStuckFilesResult } from '../../src/activities/housekeeping/activities.js';
import { trimDeadLetterStream } from '../../src/activities/housekeeping/dead-letters.js';
import { routeEvent } from '../../src/bridge/route-event.js';
import { loadConfig } from '../../src/config/config.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { publishDeadLetter } from '../../src/events/dead-letter.js';
import { serverScheduleIds } from '../../src/schedules/apply.js';
import { scheduleDefinitions } from '../../src/schedules/definitions.js';
import { taskQueueFor, WorkflowTypes } from '../../src/temporal/names.js';
import { createStorageWorkers } from '../../src/workers/storage-worker.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { createPipeline, dropBucket, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

// Workers load the bundle the test run's global setup built from src/workflows (always current).
const env = isolatedEnv('housekeeping', {
  P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: '0',
});
const tenant = uniqueTenant('hk');
const stuckPath = `/buckets/${tenant}/uploads/stuck.txt`;
const failedTxt = `/buckets/${tenant}/uploads/long-lines.txt`;
const failedMd = `/buckets/${tenant}/uploads/long-lines.md`;
const LONG_LINE = 'This line is far longer than the twenty characters the first workers allowed.';
let p: Pipeline;
let stuckWorkflowId = '';

async function fileStatus(path: string): Promise<string | undefined> {
  const r = await p.pool.query<{ status: string }>('SELECT status FROM files WHERE id = $1', [
    fileIdFor(tenant, path),
  ]);
  return r.rows[0]?.status;
}

async function route(path: string, mime: string) {
  const result = await routeEvent(
    { cfg: p.cfg, s3: p.s3, temporal: p.temporal },
    JSON.stringify({ event_type: 'create', path, mime_type: mime }),
    'housekeeping-test',
  );
  if (result.kind !== 'started') throw new Error(`not started: ${JSON.stringify(result)}`);
  return result.workflowId;
}

/** Workers of the small tier with extra settings, for one phase of the set-up. */
async function withWorkers(extra: Record<string, string>, phase: () => Promise<void>) {
  const workers = await createStorageWorkers(loadConfig({ ...env, ...extra }), ['small']);
  const running = workers.run();
  try {
    await phase();
  } finally {
    workers.shutdown();
    await running;
  }
}

beforeAll(async () => {
  p = await createPipeline('housekeeping', {}, env);
  await p.putObject(tenant, 'uploads/stuck.txt', 'Left in processing.\n\nRe-queued later.', 'text/plain');
  await p.putObject(tenant, 'uploads/long-lines.txt', `${LONG_LINE}\n`, 'text/plain');
  await p.putObject(tenant, 'uploads/long-lines.md', `# Notes\n\n${LONG_LINE}\n`, 'text/markdown');

  // A run lost mid-way: its worker holds the extraction, then the run is terminated (an operator, a
  // timeout, a server that lost it). The file stays `processing` with no workflow running.
  await withWorkers({ P8FS_FAULT_PAUSE_EXTRACT_MS: '120000' }, async () => {
    stuckWorkflowId = await route(stuckPath, 'text/plain');
    await eventually('the file to be processing', async () =>
      (await fileStatus(stuckPath)) === 'processing' ? true : undefined,
    );
    await p.temporal.workflow.getHandle(stuckWorkflowId).terminate('test: run lost mid-way');
  });

  // Files that fail under a limit an operator later raises (the "fixed by configuration" case).
  // One at a time: one extraction process serves both files, and the later workers too.
  await withWorkers({ P8FS_LIMIT_MAX_LINE_CHARS: '20', P8FS_WORKER_CONCURRENCY_SMALL: '1' }, async () => {
    await route(failedTxt, 'text/plain');
    await route(failedMd, 'text/markdown');
    for (const path of [failedTxt, failedMd])
      await eventually(`${path} to fail`, async () =>
        (await fileStatus(path)) === 'failed' ? true : undefined,
      );
  });

  await p.startWorkers(['small']);
});

afterAll(async () => {
  if (!p) return;
  for (const def of scheduleDefinitions(p.cfg))
    await p.temporal.schedule
      .getHandle(def.id)
      .delete()
      .catch(() => undefined);
  await p.close();
});

describe('housekeeping workflows and commands (real servers)', () => {
  it('re-queues a file left in processing without a running workflow, and it completes', async () => {
    expect(await fileStatus(stuckPath)).toBe('processing');
    const run = (input: { olderThanMinutes: number }) =>
      p.temporal.workflow.execute(WorkflowTypes.requeueStuckFiles, {
        taskQueue: taskQueueFor(p.cfg, 'small'),
        workflowId: `test-requeue-${Date.now()}`,
        args: [input],
      }) as Promise<RequeueStuckFilesResult>;

    // Not yet "stuck" by age: nothing happens.
    const early = await run({ olderThanMinutes: 60 });
    expect(early.checked).toBe(0);

    const result = await run({ olderThanMinutes: 0 });
    expect(result).toMatchObject({ checked: 1, requeued: 1, requeuedIds: [stuckWorkflowId] });
    await eventually('the re-queued file to complete', async () =>
      (await fileStatus(stuckPath)) === 'completed' ? true : undefined,
    );
    // The files row completes inside the last activity, before the run closes: wait for the run itself.
    await p.temporal.workflow.getHandle(stuckWorkflowId).result();
    // Same workflow id (the bridge's id rules), a second run: the terminated one and the new one
    // (visibility follows the history a moment later).
    const runs = await eventually('both runs to be listed as closed', async () => {
      const statuses: string[] = [];
      for await (const w of p.temporal.workflow.list({ query: `WorkflowId = "${stuckWorkflowId}"` }))
        statuses.push(w.status.name);
      statuses.sort();
      return statuses.join() === 'COMPLETED,TERMINATED' ? statuses : undefined;
    });
    expect(runs).toEqual(['COMPLETED', 'TERMINATED']);
    const resources = await p.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
      [fileIdFor(tenant, stuckPath)],
    );
    expect(resources.rows[0]?.n).toBeGreaterThan(0);

    // Nothing left in processing: a second run re-queues nothing.
    expect((await run({ olderThanMinutes: 0 })).requeued).toBe(0);
  });

  it('retry-failed: dry run, a --mime filter, new runs that complete once the limit is raised', async () => {
    const dry = await runCliInProcess(['retry-failed', '--tenant', tenant, '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would re-run ${failedTxt}`);
    expect(dry.stdout).toContain(`would re-run ${failedMd}`);
    expect(dry.stdout).toContain('2 failed file(s) would be re-run (dry run');
    expect(await fileStatus(failedTxt)).toBe('failed');

    const txt = await runCliInProcess(
      ['retry-failed', '--tenant', tenant, '--mime', 'text/plain', '--since', '1h', '--wait'],
      env,
    );
    expect(txt.code, txt.stderr).toBe(0);
    expect(txt.stdout).toMatch(/\[1\/1\] re-queued .*long-lines\.txt: workflow ingest-create\/.* run /);
    expect(txt.stdout).toContain('1 of 1 failed file(s) re-queued');
    expect(txt.stdout).toContain(`${failedTxt}: completed`);
    expect(await fileStatus(failedTxt)).toBe('completed');
    expect(await fileStatus(failedMd)).toBe('failed');

    const none = await runCliInProcess(['retry-failed', '--tenant', `${tenant}-nobody`], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('no failed files match');
    const badMime = await runCliInProcess(['retry-failed', '--tenant', tenant, '--mime', 'pdf'], env);
    expect(badMime.code).toBe(1);
    expect(badMime.stderr).toContain('--mime "pdf" is not a MIME type like application/pdf');
    const noTenant = await runCliInProcess(['retry-failed'], env);
    expect(noTenant.code).toBe(1);
  });

  it('aborts multipart uploads older than the cut-off, and only those', async () => {
    const bucket = uniqueTenant('hk-mpu');
    await p.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      const key = 'uploads/never-finished.bin';
      const upload = await p.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      await p.s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: upload.UploadId,
          PartNumber: 1,
          Body: 'part one',
        }),
      );
      const pending = async () =>
        (await p.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
      expect((await pending()).map((u) => u.Key)).toEqual([key]);
      const run = (olderThanHours: number) =>
        p.temporal.workflow.execute(WorkflowTypes.abortStaleUploads, {
          taskQueue: taskQueueFor(p.cfg, 'small'),
          workflowId: `test-abort-${olderThanHours}-${Date.now()}`,
          args: [{ olderThanHours, buckets: [bucket] }],
        }) as Promise<{ bucketsScanned: number; aborted: number; examples: string[] }>;

      // Younger than an hour: left alone.
      expect(await run(1)).toMatchObject({ bucketsScanned: 1, aborted: 0 });
      expect(await pending()).toHaveLength(1);
      // Any age: collected.
      expect(await run(0)).toEqual({ bucketsScanned: 1, aborted: 1, examples: [`${bucket}/${key}`] });
      expect(await pending()).toEqual([]);
    } finally {
      await dropBucket(p.s3, bucket).catch(() => undefined);
    }
  });

  it('trims dead letters older than the retention, oldest first', async () => {
    const jsm = await jetstreamManager(p.nc);
    const letter = (n: number) =>
      publishDeadLetter(
        p.js,
        p.cfg,
        {
          data: new TextEncoder().encode(`{"n":${n}}`),
          subject: p.cfg.nats.eventsSubject,
          streamSequence: 1000 + n,
          deliveryCount: 1,
        },
        `test letter ${n}`,
      );
    await letter(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await letter(2);
    const info = await jsm.streams.info(p.cfg.nats.dlqStream);
    expect(info.state.messages).toBe(2);
    const first = await jsm.streams.getMessage(p.cfg.nats.dlqStream, { seq: info.state.first_seq });

    // A cut-off between the two letters removes the first only.
    if (!first) throw new Error('the first dead letter is not readable');
    expect(await trimDeadLetterStream(jsm, p.cfg.nats.dlqStream, first.time)).toEqual({
      removed: 1,
      remaining: 1,
    });
    // The scheduled workflow with retention 0 removes the rest.
    const result = await p.temporal.workflow.execute(WorkflowTypes.trimDeadLetters, {
      taskQueue: taskQueueFor(p.cfg, 'small'),
      workflowId: `test-trim-${Date.now()}`,
      args: [{ olderThanHours: 0 }],
    });
    expect(result).toEqual({ removed: 1, remaining: 0 });
    expect((await jsm.streams.info(p.cfg.nats.dlqStream)).state.messages).toBe(0);
  });

  it('schedule apply twice gives the same schedules (updated, not added)', async () => {
    const defs = scheduleDefinitions(p.cfg);
    const ids = defs.map((d) => d.id).sort();
    expect(defs.map((d) => d.workflowType).sort()).toEqual(
      ['abortStaleUploads', 'dreamBatch', 'insightsBatch', 'requeueStuckFiles', 'trimDeadLetters'].sort(),
    );
    const specs = async () =>
      Promise.all(
        ids.map(async (id) => {
          const d = await p.temporal.schedule.getHandle(id).describe();
          const action = d.action.type === 'startWorkflow' ? d.action : undefined;
          return { id, spec: d.spec, workflowType: action?.workflowType, taskQueue: action?.taskQueue };
        }),
      );

    const first = await runCliInProcess(['schedule', 'apply'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n').sort()).toEqual(ids.map((id) => `created ${id}`));
    const afterFirst = await specs();

    const second = await runCliInProcess(['schedule', 'apply'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim().split('\n').sort()).toEqual(ids.map((id) => `updated ${id}`));
    expect(await specs()).toEqual(afterFirst);
    expect(afterFirst.find((s) => s.id.endsWith('-requeue-stuck-files'))?.taskQueue).toBe(
      taskQueueFor(p.cfg, 'small'),
    );
    const listed = await eventually('the schedules in visibility', async () => {
      const found = await serverScheduleIds(p.temporal, p.cfg.temporal.taskQueuePrefix);
      return found.length === ids.length ? found : undefined;
    });
    expect(listed).toEqual(ids);

    const list = await runCliInProcess(['schedule', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    for (const id of ids) expect(list.stdout).toMatch(new RegExp(`${id}  \\w+  cron ".*"  active`));
    expect(list.stdout).not.toContain('not declared');
  });
});
