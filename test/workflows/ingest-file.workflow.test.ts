/**
 * `ingestFile` against a real Temporal dev server with mocked activities: which activities run, in what
 * order, with which arguments and options, and what the workflow returns or fails with. The server is a
 * private one from the installed `temporal` binary (TestWorkflowEnvironment.createLocal, existing-path);
 * the workflow code is bundled once for the file and shared by every worker.
 */
import { randomBytes } from 'node:crypto';
import { type Info as ActivityInfo, Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestActivities } from '../../src/activities/ingest/activities.js';
import { CorruptFileError, MissingObjectError, PermanentStorageError } from '../../src/domain/errors.js';
import type {
  ChunkingResult,
  ExtractionResult,
  IngestFileInput,
  IngestOutcome,
  RegisteredFile,
  StoreResult,
} from '../../src/domain/ingest.js';
import { parseStorageEvent } from '../../src/domain/storage-event.js';
import type { Tier } from '../../src/domain/tiers.js';
import { startIngestFile } from '../../src/temporal/starts.js';
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

const createInput = (tier: Tier = 'small') =>
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
    expect(mock.names()).toEqual(['renameFile', 'registerFile', 'extractText', 'chunkText', 'storeChunks']);
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
