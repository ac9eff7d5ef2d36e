/**
 * `ingestFile` against a real Temporal dev server with mocked activities: which activities run, in what
 * order, with which arguments and options, and what the workflow returns or fails with. The server is a
 * private one from the installed `temporal` binary (TestWorkflowEnvironment.createLocal, existing-path);
 * the workflow code is bundled once for the file and shared by every worker.
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type Info as ActivityInfo, Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestActivities } from '../../src/activities/ingest/activities.js';
import { CorruptFileError, MissingObjectError, PermanentStorageError } from '../../src/domain/errors.js';
import { fileIdFor } from '../../src/domain/ids.js';
import type {
  ChunkingResult,
  ExtractionResult,
  IngestFileInput,
  IngestOutcome,
  RegisteredFile,
  SmallFileResult,
  StoreResult,
} from '../../src/domain/ingest.js';
import { parseStorageEvent } from '../../src/domain/storage-event.js';
import type { Tier } from '../../src/domain/tiers.js';
import { taskQueueFor } from '../../src/temporal/names.js';
import { startIngestFile } from '../../src/temporal/starts.js';
import { createPipeline, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';
import { bundleWorkflows, createLocalTestEnv } from '../support/workflow-env.js';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([createLocalTestEnv(), bundleWorkflows()]);
});

afterAll(async () => {
  await env?.teardown();
});

// ---- inputs and canned activity results: references and counts, as the real activities return ----

function inputFor(raw: Record<string, unknown>, tier: Tier = 'small'): IngestFileInput {
  const parsed = parseStorageEvent(raw);
  if (parsed.kind !== 'event') throw new Error(`bad test event: ${parsed.reason}`);
  return { event: parsed.event, tier, version: 'v1', source: 'workflow-test' };
}

// The four steps: every medium and large file, and small ones that ingestSmallFile hands on (below).
const createInput = (tier: Tier = 'medium') =>
  inputFor(
    {
      event_type: 'create',
      path: '/buckets/acme/uploads/report.pdf',
      size: 2048,
      mime_type: 'application/pdf',
    },
    tier,
  );

const file: RegisteredFile = {
  fileId: '11111111-1111-5111-8111-111111111111',
  jobId: '22222222-2222-5222-8222-222222222222',
  size: 2048,
  mimeType: 'application/pdf',
  provider: 'pdf',
  lastModified: '2026-01-02T03:04:05.000Z',
};
const extraction: ExtractionResult = {
  extractedKey: `acme/${file.fileId}/v1/extracted.json`,
  provider: 'pdf',
  pageCount: 3,
  sectionCount: 3,
  characters: 5120,
  contentHash: 'a'.repeat(64),
};
const chunking: ChunkingResult = {
  chunksKey: `acme/${file.fileId}/v1/chunks.json`,
  chunkCount: 4,
  tokenCount: 1300,
};
const stored: StoreResult = { resourcesStored: 4, resourcesReplaced: 2 };

const completed: IngestOutcome = {
  status: 'completed',
  fileId: file.fileId,
  provider: 'pdf',
  pageCount: 3,
  chunkCount: 4,
  tokenCount: 1300,
  resourcesReplaced: 2,
};

// ---- mocked activities that record every call with its arguments and activity info ----

type ActivityName = keyof IngestActivities;

interface Call {
  name: ActivityName;
  args: unknown[];
  info: Pick<
    ActivityInfo,
    'attempt' | 'taskQueue' | 'startToCloseTimeoutMs' | 'scheduleToCloseTimeoutMs' | 'heartbeatTimeoutMs'
  >;
}

function mockActivities(overrides: Partial<IngestActivities> = {}): {
  activities: IngestActivities;
  calls: Call[];
  names: () => ActivityName[];
} {
  const defaults: IngestActivities = {
    registerFile: async () => file,
    // By default a small file is registered and handed on to the steps (as one above the bound would be).
    ingestSmallFile: async () => ({ path: 'steps', file, reason: 'test: the steps' }),
    extractText: async () => extraction,
    chunkText: async () => chunking,
    storeChunks: async () => stored,
    deleteFile: async () => ({ fileId: file.fileId, resourcesDeleted: 4 }),
    renameFile: async () => ({ fileId: file.fileId, fromFileId: 'old-file-id', moved: 4 }),
    recordIngestFailure: async () => ({ fileId: file.fileId }),
  };
  const impl: IngestActivities = { ...defaults, ...overrides };
  const calls: Call[] = [];
  const recorded = Object.fromEntries(
    (Object.keys(impl) as ActivityName[]).map((name) => [
      name,
      (...args: unknown[]) => {
        const { attempt, taskQueue, startToCloseTimeoutMs, scheduleToCloseTimeoutMs, heartbeatTimeoutMs } =
          Context.current().info;
        calls.push({
          name,
          args,
          info: { attempt, taskQueue, startToCloseTimeoutMs, scheduleToCloseTimeoutMs, heartbeatTimeoutMs },
        });
        return (impl[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  ) as unknown as IngestActivities;
  return { activities: recorded, calls, names: () => calls.map((c) => c.name) };
}

/** Runs one ingestFile to its end on a worker of its own task queue; resolves to the outcome or rejects. */
async function runIngest(input: IngestFileInput, activities: IngestActivities): Promise<IngestOutcome> {
  const id = randomBytes(4).toString('hex');
  const taskQueue = `wf-test-${input.tier}-${id}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities,
  });
  return worker.runUntil(async () => {
    const handle = await startIngestFile(env.client, input, {
      taskQueue,
      workflowId: `ingest-${input.event.type}/${input.event.tenantId}/${input.event.key}@${id}`,
    });
    return handle.result();
  });
}

describe('ingestFile with mocked activities', () => {
  it('create: register → extract → chunk → store, each given the references of the step before', async () => {
    const mock = mockActivities();
    const input = createInput();
    await expect(runIngest(input, mock.activities)).resolves.toEqual(completed);
    expect(mock.names()).toEqual(['registerFile', 'extractText', 'chunkText', 'storeChunks']);
    expect(mock.calls.map((c) => c.args)).toEqual([
      [input],
      [input, file],
      [input, file, extraction],
      [input, file, extraction, chunking],
    ]);
  });

  it('delete: only deleteFile runs, and the outcome is deleted', async () => {
    const mock = mockActivities();
    const input = inputFor({ event_type: 'delete', path: '/buckets/acme/uploads/report.pdf' });
    await expect(runIngest(input, mock.activities)).resolves.toEqual({
      status: 'deleted',
      fileId: file.fileId,
      resourcesDeleted: 4,
    });
    expect(mock.names()).toEqual(['deleteFile']);
    expect(mock.calls[0]?.args).toEqual([input]);
  });

  const renameEvent = {
    event_type: 'rename',
    old_path: '/buckets/acme/uploads/report.pdf',
    new_path: '/buckets/acme/archive/report.pdf',
    mime_type: 'application/pdf',
  };

  it('rename of a stored file: only renameFile runs, and the outcome is renamed', async () => {
    const mock = mockActivities({
      renameFile: async () => ({ fileId: file.fileId, fromFileId: 'old-file-id', moved: 4 }),
    });
    const input = inputFor(renameEvent);
    await expect(runIngest(input, mock.activities)).resolves.toEqual({
      status: 'renamed',
      fileId: file.fileId,
      fromFileId: 'old-file-id',
      resourcesMoved: 4,
    });
    expect(mock.names()).toEqual(['renameFile']);
  });

  it('rename of a file never stored (moved: undefined): the new path is ingested in full', async () => {
    const mock = mockActivities({
      renameFile: async () => ({ fileId: file.fileId, fromFileId: 'old-file-id', moved: undefined }),
    });
    const input = inputFor(renameEvent);
    await expect(runIngest(input, mock.activities)).resolves.toEqual(completed);
    // A small file: ingestSmallFile registers it (here handing it on to the steps).
    expect(mock.names()).toEqual([
      'renameFile',
      'ingestSmallFile',
      'extractText',
      'chunkText',
      'storeChunks',
    ]);
    expect(mock.calls[1]?.args).toEqual([input]);
    expect(input.event.path).toBe('/buckets/acme/archive/report.pdf');
  });

  const corrupt = 'PDF has no readable cross-reference table';
  it.each([
    ['an Error subclass named CorruptFileError', () => new CorruptFileError(corrupt)],
    [
      'an ApplicationFailure of type CorruptFileError',
      () => ApplicationFailure.create({ type: 'CorruptFileError', message: corrupt }),
    ],
  ])(
    'a non-retryable failure (%s): recorded once, and the run fails naming the path',
    async (_, makeError) => {
      const mock = mockActivities({
        extractText: async () => {
          throw makeError();
        },
      });
      const input = createInput();
      const error = await runIngest(input, mock.activities).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Not retried: the error type is in the retry policy's nonRetryableErrorTypes.
      expect(mock.names()).toEqual(['registerFile', 'extractText', 'recordIngestFailure']);
      const record = mock.calls[2];
      expect(record?.args[0]).toEqual(input);
      expect(record?.args[1]).toMatchObject({ errorType: 'CorruptFileError', message: corrupt });

      expect(error).toBeInstanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause).toMatchObject({
        type: 'CorruptFileError',
        nonRetryable: true,
        message: `/buckets/acme/uploads/report.pdf: ${corrupt}`,
      });
    },
  );

  it('storeChunks superseded (S3 changed under the run): the run completes as superseded, nothing else runs', async () => {
    const reason = 's3://acme/uploads/report.pdf no longer exists (deleted or renamed meanwhile)';
    const mock = mockActivities({
      storeChunks: async () => ({ resourcesStored: 0, resourcesReplaced: 0, superseded: reason }),
    });
    await expect(runIngest(createInput(), mock.activities)).resolves.toEqual({
      status: 'superseded',
      fileId: file.fileId,
      reason,
    });
    expect(mock.names()).toEqual(['registerFile', 'extractText', 'chunkText', 'storeChunks']);
  });

  it('a failure whose record is superseded (the object is gone): the run completes as superseded, not failed', async () => {
    const reason = 's3://acme/uploads/report.pdf no longer exists (deleted or renamed meanwhile)';
    const mock = mockActivities({
      extractText: async () => {
        throw new MissingObjectError('object s3://acme/uploads/report.pdf does not exist');
      },
      recordIngestFailure: async () => ({ fileId: file.fileId, superseded: reason }),
    });
    await expect(runIngest(createInput(), mock.activities)).resolves.toEqual({
      status: 'superseded',
      fileId: file.fileId,
      reason,
    });
    expect(mock.names()).toEqual(['registerFile', 'extractText', 'recordIngestFailure']);
    expect(mock.calls[2]?.args[1]).toMatchObject({ errorType: 'MissingObjectError' });
  });

  it('a delete superseded (the object exists again): the outcome is superseded', async () => {
    const reason = 's3://acme/uploads/report.pdf exists again (etag abc): it was re-created after the delete';
    const mock = mockActivities({
      deleteFile: async () => ({ fileId: file.fileId, resourcesDeleted: 0, superseded: reason }),
    });
    const input = inputFor({ event_type: 'delete', path: '/buckets/acme/uploads/report.pdf' });
    await expect(runIngest(input, mock.activities)).resolves.toEqual({
      status: 'superseded',
      fileId: file.fileId,
      reason,
    });
    expect(mock.names()).toEqual(['deleteFile']);
  });

  it('a permanent storage failure (PermanentStorageError) is not retried: recorded once, the run fails', async () => {
    const message = 'storeChunks: PostgreSQL refused: SQLSTATE 23514: new row violates check constraint';
    const mock = mockActivities({
      storeChunks: async () => {
        throw new PermanentStorageError(message);
      },
    });
    const error = await runIngest(createInput(), mock.activities).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(mock.names()).toEqual([
      'registerFile',
      'extractText',
      'chunkText',
      'storeChunks',
      'recordIngestFailure',
    ]);
    expect(mock.calls[4]?.args[1]).toMatchObject({ errorType: 'PermanentStorageError', message });
    expect((error as WorkflowFailedError).cause).toMatchObject({
      type: 'PermanentStorageError',
      nonRetryable: true,
    });
  });

  it('a retryable failure is retried, and the second attempt completes the file', async () => {
    const mock = mockActivities({
      extractText: async () => {
        if (Context.current().info.attempt === 1) throw new Error('connect ECONNREFUSED 127.0.0.1:28333');
        return extraction;
      },
    });
    await expect(runIngest(createInput(), mock.activities)).resolves.toEqual(completed);
    expect(mock.names()).toEqual(['registerFile', 'extractText', 'extractText', 'chunkText', 'storeChunks']);
    expect(mock.calls.filter((c) => c.name === 'extractText').map((c) => c.info.attempt)).toEqual([1, 2]);
  });
});

describe('ingestFile activity options per tier', () => {
  const minutes = 60_000;
  const hours = 60 * minutes;
  // The budgets in src/workflows/ingest-file.ts: attempt (start-to-close), all attempts
  // (schedule-to-close) and heartbeat timeout.
  it.each([
    ['small', 10 * minutes, 2 * hours, 15_000],
    ['medium', 1 * hours, 6 * hours, 30_000],
    ['large', 6 * hours, 24 * hours, 60_000],
  ] as const)(
    '%s: start-to-close %d ms, schedule-to-close %d ms, heartbeat %d ms',
    async (tier, attempt, all, heartbeat) => {
      const mock = mockActivities();
      await expect(runIngest(createInput(tier), mock.activities)).resolves.toEqual(completed);
      expect(mock.calls).toHaveLength(4);
      for (const call of mock.calls) {
        expect({ activity: call.name, ...call.info }).toEqual({
          activity: call.name,
          attempt: 1,
          taskQueue: expect.stringContaining(`wf-test-${tier}-`),
          startToCloseTimeoutMs: attempt,
          scheduleToCloseTimeoutMs: all,
          heartbeatTimeoutMs: heartbeat,
        });
      }
    },
  );
});

describe('ingestFile on the small tier: one activity (ingestSmallFile), mocked activities', () => {
  const smallInput = () => createInput('small');
  const oneActivity: SmallFileResult = {
    path: 'one-activity',
    file,
    provider: 'pdf',
    pageCount: 3,
    chunkCount: 4,
    tokenCount: 1300,
    resourcesStored: 4,
    resourcesReplaced: 2,
  };

  it('completed: ingestSmallFile alone, and the same outcome as the four steps', async () => {
    const mock = mockActivities({ ingestSmallFile: async () => oneActivity });
    const input = smallInput();
    await expect(runIngest(input, mock.activities)).resolves.toEqual(completed);
    expect(mock.names()).toEqual(['ingestSmallFile']);
    expect(mock.calls[0]?.args).toEqual([input]);
  });

  it('a file not for the one-activity path: registered by ingestSmallFile, then extract → chunk → store', async () => {
    const mock = mockActivities();
    const input = smallInput();
    await expect(runIngest(input, mock.activities)).resolves.toEqual(completed);
    expect(mock.names()).toEqual(['ingestSmallFile', 'extractText', 'chunkText', 'storeChunks']);
    expect(mock.calls.map((c) => c.args)).toEqual([
      [input],
      [input, file],
      [input, file, extraction],
      [input, file, extraction, chunking],
    ]);
  });

  it('a corrupt file: recorded once, the run fails naming the path', async () => {
    const corrupt = 'PDF has no readable cross-reference table';
    const mock = mockActivities({
      ingestSmallFile: async () => {
        throw new CorruptFileError(corrupt);
      },
    });
    const input = smallInput();
    const error = await runIngest(input, mock.activities).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(mock.names()).toEqual(['ingestSmallFile', 'recordIngestFailure']);
    expect(mock.calls[1]?.args).toEqual([input, expect.objectContaining({ errorType: 'CorruptFileError' })]);
    expect((error as WorkflowFailedError).cause).toMatchObject({
      type: 'CorruptFileError',
      nonRetryable: true,
      message: `/buckets/acme/uploads/report.pdf: ${corrupt}`,
    });
  });

  it('superseded at store time: the run completes as superseded', async () => {
    const reason = 's3://acme/uploads/report.pdf no longer exists (deleted or renamed meanwhile)';
    const mock = mockActivities({
      ingestSmallFile: async () => ({
        ...oneActivity,
        resourcesStored: 0,
        resourcesReplaced: 0,
        superseded: reason,
      }),
    });
    await expect(runIngest(smallInput(), mock.activities)).resolves.toEqual({
      status: 'superseded',
      fileId: file.fileId,
      reason,
    });
    expect(mock.names()).toEqual(['ingestSmallFile']);
  });

  it('medium and large files never ask for the one-activity path', async () => {
    for (const tier of ['medium', 'large'] as const) {
      const mock = mockActivities({ ingestSmallFile: async () => oneActivity });
      await expect(runIngest(createInput(tier), mock.activities)).resolves.toEqual(completed);
      expect(mock.names()).toEqual(['registerFile', 'extractText', 'chunkText', 'storeChunks']);
    }
  });
});

// ---- the one-activity path with the real activities and servers (test stack) ----

describe('ingestFile on the small tier with the real activities (real Temporal, SeaweedFS, PostgreSQL)', () => {
  let p: Pipeline;
  const tenant = uniqueTenant('onepath');

  beforeAll(async () => {
    p = await createPipeline('onepath');
    await p.startWorkers(['small']);
  });

  afterAll(async () => {
    await p?.close();
  });

  async function start(key: string) {
    const parsed = parseStorageEvent({ event_type: 'create', path: `/buckets/${tenant}/${key}` });
    if (parsed.kind !== 'event') throw new Error(parsed.reason);
    const input: IngestFileInput = { event: parsed.event, tier: 'small', version: 'v1', source: 'test' };
    const handle = await startIngestFile(p.temporal, input, {
      taskQueue: taskQueueFor(p.cfg, 'small'),
      workflowId: `test-onepath/${key}/${randomBytes(3).toString('hex')}`,
    });
    return { handle, fileId: fileIdFor(tenant, parsed.event.path) };
  }

  async function scheduled(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }) {
    const history = await handle.fetchHistory();
    return (history.events ?? []).flatMap((e) => {
      const name = (e as { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } })
        .activityTaskScheduledEventAttributes?.activityType?.name;
      return name ? [name] : [];
    });
  }

  /** The file's derived objects; none at all when nothing of this pipeline ever wrote the derived bucket. */
  async function derivedKeys(fileId: string): Promise<string[]> {
    const listed = await p.s3
      .send(new ListObjectsV2Command({ Bucket: p.cfg.s3.derivedBucket, Prefix: `${tenant}/${fileId}/` }))
      .catch((error: unknown) => {
        if ((error as { name?: string }).name === 'NoSuchBucket') return { Contents: [] };
        throw error;
      });
    return (listed.Contents ?? []).map((o) => o.Key ?? '');
  }

  it('completed: one activity, the rows of the four steps, no derived objects in S3', async () => {
    const body = `# Notes\n\n${'A sentence about the one-activity path. '.repeat(400)}\n`;
    await p.putObject(tenant, 'uploads/notes.md', body, 'text/markdown');
    const { handle, fileId } = await start('uploads/notes.md');
    const outcome = await handle.result();
    expect(outcome).toMatchObject({
      status: 'completed',
      fileId,
      provider: 'markdown',
      resourcesReplaced: 0,
    });
    if (outcome.status !== 'completed') return;
    expect(outcome.chunkCount).toBeGreaterThan(1);
    expect(await scheduled(handle)).toEqual(['ingestSmallFile']);
    const files = await p.pool.query(
      'SELECT status, provider, chunk_count, content_hash, source_etag, file_size FROM files WHERE id = $1',
      [fileId],
    );
    expect(files.rows[0]).toMatchObject({
      status: 'completed',
      provider: 'markdown',
      chunk_count: outcome.chunkCount,
      file_size: Buffer.byteLength(body),
    });
    expect(files.rows[0]?.content_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(files.rows[0]?.source_etag).toBeTruthy();
    const resources = await p.pool.query<{ ordinal: number }>(
      'SELECT ordinal FROM resources WHERE file_id = $1 ORDER BY ordinal',
      [fileId],
    );
    expect(resources.rows.map((r) => r.ordinal)).toEqual([...Array(outcome.chunkCount).keys()]);
    const jobs = await p.pool.query('SELECT status, result FROM jobs WHERE workflow_id = $1', [
      handle.workflowId,
    ]);
    expect(jobs.rows[0]).toMatchObject({ status: 'completed', result: { chunks: outcome.chunkCount } });
    expect(await derivedKeys(fileId)).toEqual([]);

    // The same file again (a new run of the same version): replaced, not duplicated.
    const again = await start('uploads/notes.md');
    await expect(again.handle.result()).resolves.toMatchObject({
      status: 'completed',
      resourcesReplaced: outcome.chunkCount,
    });
    const count = await p.pool.query('SELECT count(*)::int AS n FROM resources WHERE file_id = $1', [fileId]);
    expect(count.rows[0]?.n).toBe(outcome.chunkCount);
  });

  it('a corrupt file fails with its reason: files row failed, an errors row, the run failed', async () => {
    const corrupt = Buffer.concat([
      Buffer.from('%PDF-1.7\n'),
      Buffer.alloc(4096, 0x41),
      Buffer.from('\n%%EOF'),
    ]);
    await p.putObject(tenant, 'uploads/corrupt.pdf', corrupt, 'application/pdf');
    const { handle, fileId } = await start('uploads/corrupt.pdf');
    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toMatchObject({
      type: 'CorruptFileError',
      nonRetryable: true,
    });
    expect(await scheduled(handle)).toEqual(['ingestSmallFile', 'recordIngestFailure']);
    const files = await p.pool.query<{ status: string; error: string }>(
      'SELECT status, error FROM files WHERE id = $1',
      [fileId],
    );
    expect(files.rows[0]?.status).toBe('failed');
    expect(files.rows[0]?.error).toMatch(/^CorruptFileError: /);
    const errors = await p.pool.query(`SELECT 1 FROM errors WHERE metadata->>'file_id' = $1`, [fileId]);
    expect(errors.rowCount).toBe(1);
  });

  it('deleted while it is chunked: the store writes nothing, the run ends superseded', async () => {
    // About 3 MiB of text (under the 8 MiB bound): a second or more of download, extraction and chunking
    // after the files row appears, time enough to delete the object before the store's check under the
    // lock. Deleted before the download ends, the activity fails (the object is gone) and the failure
    // record finds the object gone: superseded too, one activity later.
    const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi. ';
    const body = words.repeat(Math.ceil((3 * 1024 * 1024) / words.length));
    await p.putObject(tenant, 'uploads/doomed.txt', body, 'text/plain');
    const { handle, fileId } = await start('uploads/doomed.txt');
    // Polled every 10 ms (eventually's 250 ms would eat into the window).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await p.pool.query<{ status: string }>('SELECT status FROM files WHERE id = $1', [fileId]);
      if (r.rows[0]?.status === 'processing') break;
      if (Date.now() > deadline) throw new Error(`files row of ${fileId} never became processing`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: 'uploads/doomed.txt' }));
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'superseded', fileId });
    if (outcome.status === 'superseded') expect(outcome.reason).toContain('no longer exists');
    expect([['ingestSmallFile'], ['ingestSmallFile', 'recordIngestFailure']]).toContainEqual(
      await scheduled(handle),
    );
    const files = await p.pool.query('SELECT 1 FROM files WHERE id = $1', [fileId]);
    expect(files.rowCount).toBe(0);
    const resources = await p.pool.query('SELECT 1 FROM resources WHERE file_id = $1', [fileId]);
    expect(resources.rowCount).toBe(0);
    const jobs = await p.pool.query<{ status: string }>('SELECT status FROM jobs WHERE workflow_id = $1', [
      handle.workflowId,
    ]);
    expect(jobs.rows[0]?.status).toBe('cancelled');
  });
});
