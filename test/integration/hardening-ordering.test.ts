/**
 * Events of one file that overlap (real Temporal, NATS, SeaweedFS, PostgreSQL).
 *
 * The create run is held in flight with P8FS_FAULT_PAUSE_EXTRACT_MS (its extraction waits, heartbeating,
 * before it downloads), and the object is deleted, renamed or overwritten meanwhile, with the event a
 * producer sends for that change. Before, a delete during the create left the deleted file back in the
 * table as `failed`, and a rename during the create left a row stuck in `processing`. Now every write of
 * a file's rows happens under the file's lock after a HEAD of the object, so whatever the order, the rows
 * end matching what S3 holds: the create run that lost its object ends `superseded`, writing nothing.
 */
import { CopyObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestActivities } from '../../src/activities/ingest/activities.js';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { fileIdFor } from '../../src/domain/ids.js';
import type {
  ChunkingResult,
  ExtractionResult,
  IngestFileInput,
  IngestOutcome,
  RegisteredFile,
} from '../../src/domain/ingest.js';
import { parseStorageEvent, type StorageEventType } from '../../src/domain/storage-event.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

/** `PENDING_ACTIVITY_STATE_STARTED` in temporal.api.enums.v1.PendingActivityState. */
const PENDING_ACTIVITY_STATE_STARTED = 2;
const PAUSE_MS = 5000;

type Started = Extract<RouteResult, { kind: 'started' }>;

let p: Pipeline;
const tenant = uniqueTenant('ordering');

beforeAll(async () => {
  p = await createPipeline('ordering', {
    // The workflow from src (not a prebuilt dist/ bundle that may predate it).
    // Every extraction waits this long (heartbeating) before it downloads: the create run is in flight.
    P8FS_FAULT_PAUSE_EXTRACT_MS: String(PAUSE_MS),
  });
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

function text(label: string): string {
  const sentence = `This is ${label}, told in a sentence that repeats to make a few chunks. `;
  return sentence.repeat(60);
}

/** The workflows the bridge started for events of `type` on `path`, in the order it started them. */
function startedFor(type: StorageEventType, path: string): Started[] {
  return p.results.filter(
    (r): r is Started => r.kind === 'started' && r.event.type === type && r.event.path === path,
  );
}

async function nthStarted(type: StorageEventType, path: string, n = 1): Promise<Started> {
  return eventually(
    `workflow ${n} of the ${type} of ${path} to start`,
    async () => startedFor(type, path)[n - 1],
  );
}

function resultOf(started: Started): Promise<IngestOutcome> {
  return ingestFileHandle(p.temporal, started.workflowId).result();
}

/** Waits until the run's extractText is running (held in the fault pause, before its download). */
async function extractionInFlight(started: Started): Promise<void> {
  const handle = ingestFileHandle(p.temporal, started.workflowId);
  await eventually(`extractText of ${started.event.path} to be running`, async () => {
    const description = await handle.describe();
    const activity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'extractText');
    return activity?.state === PENDING_ACTIVITY_STATE_STARTED ? true : undefined;
  });
}

async function create(key: string, body: string): Promise<{ path: string; started: Started }> {
  const path = `/buckets/${tenant}/${key}`;
  const before = startedFor('create', path).length;
  await p.putObject(tenant, key, body, 'text/plain');
  await p.publish({ event_type: 'create', path, size: body.length, mime_type: 'text/plain' });
  return { path, started: await nthStarted('create', path, before + 1) };
}

async function deleteObject(key: string): Promise<void> {
  await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: key }));
}

interface FileState {
  path: string;
  status: string;
  resources: number;
  chunk_count: number | null;
}

/** The tenant's files rows under `folder`, with their resource counts. */
async function filesUnder(folder: string): Promise<FileState[]> {
  const { rows } = await p.pool.query<FileState>(
    `SELECT path, status, chunk_count,
            (SELECT count(*)::int FROM resources r WHERE r.file_id = f.id) AS resources
     FROM files f WHERE tenant_id = $1 AND path LIKE $2 ORDER BY path`,
    [tenant, `/buckets/${tenant}/${folder}/%`],
  );
  return rows;
}

async function contentOf(path: string): Promise<string> {
  const { rows } = await p.pool.query<{ content: string }>(
    'SELECT content FROM resources WHERE file_id = $1 ORDER BY ordinal',
    [fileIdFor(tenant, path)],
  );
  return rows.map((r) => r.content).join('\n');
}

describe('events of one file while its create runs', () => {
  it('delete during the create: no files row and no resources remain; the create ends superseded', async () => {
    const key = 'del/report.txt';
    const { path, started } = await create(key, text('a file deleted while it is ingested'));
    await extractionInFlight(started);

    await deleteObject(key);
    await p.publish({ event_type: 'delete', path });
    const deleted = await resultOf(await nthStarted('delete', path));
    expect(deleted).toMatchObject({ status: 'deleted', fileId: fileIdFor(tenant, path) });

    const outcome = await resultOf(started);
    expect(outcome).toMatchObject({
      status: 'superseded',
      reason: expect.stringMatching(/no longer exists/),
    });
    expect(await filesUnder('del')).toEqual([]);
    const resources = await p.pool.query('SELECT 1 FROM resources WHERE file_id = $1', [
      fileIdFor(tenant, path),
    ]);
    expect(resources.rowCount).toBe(0);
    const errors = await p.pool.query(`SELECT 1 FROM errors WHERE metadata->>'path' = $1`, [path]);
    expect(errors.rowCount).toBe(0);
    const jobs = await p.pool.query<{ status: string }>('SELECT status FROM jobs WHERE workflow_id = $1', [
      started.workflowId,
    ]);
    expect(jobs.rows).toEqual([{ status: 'cancelled' }]);
  }, 60_000);

  it('rename during the create: rows only under the new path, completed; none left processing', async () => {
    const oldKey = 'ren/draft.txt';
    const newKey = 'ren/final.txt';
    const body = text('a file renamed while it is ingested');
    const { path: oldPath, started } = await create(oldKey, body);
    await extractionInFlight(started);

    // S3 has no rename: copy, then delete, then the event.
    await p.s3.send(
      new CopyObjectCommand({ Bucket: tenant, Key: newKey, CopySource: `${tenant}/${oldKey}` }),
    );
    await deleteObject(oldKey);
    const newPath = `/buckets/${tenant}/${newKey}`;
    await p.publish({ event_type: 'rename', old_path: oldPath, new_path: newPath });

    const renamed = await resultOf(await nthStarted('rename', newPath));
    // The old path was still being ingested: nothing to move, so the new path was ingested in full.
    expect(renamed).toMatchObject({ status: 'completed', fileId: fileIdFor(tenant, newPath) });
    const outcome = await resultOf(started);
    expect(outcome).toMatchObject({ status: 'superseded' });

    const files = await filesUnder('ren');
    expect(files).toEqual([
      {
        path: newPath,
        status: 'completed',
        chunk_count: renamed.status === 'completed' ? renamed.chunkCount : -1,
        resources: renamed.status === 'completed' ? renamed.chunkCount : -1,
      },
    ]);
    expect(await contentOf(newPath)).toContain('a file renamed while it is ingested');
  }, 60_000);

  it('overwrite during the create: the rows hold the new content', async () => {
    const key = 'over/notes.txt';
    const { path, started: first } = await create(key, text('the FIRST upload'));
    await extractionInFlight(first);

    const { started: second } = await create(key, text('the SECOND upload'));
    expect(second.workflowId).not.toBe(first.workflowId);
    const outcomes = await Promise.all([resultOf(first), resultOf(second)]);
    expect(outcomes[1]).toMatchObject({ status: 'completed' });
    // The first run registered the first upload; S3 holds the second by the time it stores.
    expect(outcomes[0]).toMatchObject({ status: 'superseded', reason: expect.stringMatching(/overwritten/) });

    expect(await filesUnder('over')).toMatchObject([{ path, status: 'completed' }]);
    const content = await contentOf(path);
    expect(content).toContain('the SECOND upload');
    expect(content).not.toContain('the FIRST upload');
  }, 60_000);

  it('a create run that read the old bytes and stores after the newer upload was stored writes nothing', async () => {
    // Step by step with the real activities, so the interleaving is exact: the first run registers,
    // extracts and chunks the first upload; then the object is overwritten and the second upload's own
    // run completes; only then does the first run store.
    const key = 'late/plan.txt';
    const path = `/buckets/${tenant}/${key}`;
    const activities = createIngestActivities({
      cfg: { ...p.cfg, worker: { ...p.cfg.worker, faultPauseExtractMs: 0 } },
      pool: p.pool,
      s3: p.s3,
    });
    const parsed = parseStorageEvent({ event_type: 'create', path, mime_type: 'text/plain' });
    if (parsed.kind !== 'event') throw new Error(parsed.kind);
    const input: IngestFileInput = { event: parsed.event, tier: 'small', version: 'first', source: 'test' };
    const env = new MockActivityEnvironment({
      workflowExecution: { workflowId: `test-late-store-${tenant}`, runId: 'run-first' },
      attempt: 1,
    });

    await p.putObject(tenant, key, text('the OLD plan'), 'text/plain');
    const file = (await env.run(activities.registerFile, input)) as RegisteredFile;
    const extraction = (await env.run(activities.extractText, input, file)) as ExtractionResult;
    const chunking = (await env.run(activities.chunkText, input, file, extraction)) as ChunkingResult;

    const { started } = await create(key, text('the NEW plan'));
    await expect(resultOf(started)).resolves.toMatchObject({ status: 'completed' });
    expect(await contentOf(path)).toContain('the NEW plan');

    const stored = await env.run(activities.storeChunks, input, file, extraction, chunking);
    expect(stored).toMatchObject({ resourcesStored: 0, superseded: expect.stringMatching(/overwritten/) });
    const content = await contentOf(path);
    expect(content).toContain('the NEW plan');
    expect(content).not.toContain('the OLD plan');
    expect(await filesUnder('late')).toMatchObject([{ path, status: 'completed' }]);
  }, 60_000);

  it('a delete event handled after the object was re-created (and ingested) keeps the rows', async () => {
    const key = 'again/memo.txt';
    const { path, started: first } = await create(key, text('the memo before the delete'));
    await expect(resultOf(first)).resolves.toMatchObject({ status: 'completed' });
    await deleteObject(key);
    const { started: second } = await create(key, text('the memo uploaded again'));
    await expect(resultOf(second)).resolves.toMatchObject({ status: 'completed' });

    // The delete's event comes last (events of different runs are not ordered).
    await p.publish({ event_type: 'delete', path });
    const deleted = await resultOf(await nthStarted('delete', path));
    expect(deleted).toMatchObject({ status: 'superseded', reason: expect.stringMatching(/exists again/) });
    expect(await filesUnder('again')).toMatchObject([{ path, status: 'completed' }]);
    expect(await contentOf(path)).toContain('the memo uploaded again');
  }, 60_000);
});
