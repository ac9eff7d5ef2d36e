/**
 * The embed step of `ingestFile` (behind the patch 'embed-after-store') against a real Temporal dev server
 * with mocked activities: it runs after the store only when the store's worker says `embed`, on the
 * tier's `-embed` task queue with its own budget; its result is in the outcome; a failure (a rejected
 * key) records the reason and still completes the file; no embed flag, no step (histories before it).
 */
import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbedActivities } from '../../src/activities/embed/activities.js';
import type { IngestActivities } from '../../src/activities/ingest/activities.js';
import type { EmbedResult } from '../../src/domain/embedding.js';
import { EmbeddingAuthError } from '../../src/domain/errors.js';
import type { IngestFileInput, IngestOutcome, RegisteredFile } from '../../src/domain/ingest.js';
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

function inputFor(tier: Tier): IngestFileInput {
  const parsed = parseStorageEvent({
    event_type: 'create',
    path: '/buckets/acme/uploads/report.md',
    size: 2048,
    mime_type: 'text/markdown',
  });
  if (parsed.kind !== 'event') throw new Error(parsed.reason);
  return { event: parsed.event, tier, version: 'v1', source: 'workflow-test' };
}

const file: RegisteredFile = {
  fileId: '11111111-1111-5111-8111-111111111111',
  jobId: '22222222-2222-5222-8222-222222222222',
  size: 2048,
  mimeType: 'text/markdown',
  provider: 'markdown',
};

const embedded: EmbedResult = { status: 'done', provider: 'all-MiniLM-L6-v2', embedded: 3, kept: 1, rows: 4 };

interface Seen {
  calls: string[];
  embedQueue?: string;
  embedHeartbeatTimeoutMs?: number;
  failure?: unknown;
}

/** One ingestFile on fresh queues: the steps' activities on its queue, the embed ones on `-embed`. */
async function runIngest(
  input: IngestFileInput,
  options: { embed?: boolean; embedFile?: () => Promise<EmbedResult> },
): Promise<{ outcome: IngestOutcome; seen: Seen }> {
  const seen: Seen = { calls: [] };
  const taskQueue = `wf-embed-${input.tier}-${randomBytes(4).toString('hex')}`;
  const flag = options.embed === undefined ? {} : { embed: options.embed };
  const ingest: Partial<IngestActivities> = {
    ingestSmallFile: async () => {
      seen.calls.push('ingestSmallFile');
      return {
        path: 'one-activity',
        file,
        provider: 'markdown',
        chunkCount: 4,
        tokenCount: 900,
        resourcesStored: 4,
        resourcesReplaced: 0,
        ...flag,
      };
    },
    registerFile: async () => {
      seen.calls.push('registerFile');
      return file;
    },
    extractText: async () => {
      seen.calls.push('extractText');
      return { extractedKey: 'k', provider: 'markdown', sectionCount: 2, characters: 10, contentHash: 'h' };
    },
    chunkText: async () => {
      seen.calls.push('chunkText');
      return { chunksKey: 'c', chunkCount: 4, tokenCount: 900 };
    },
    storeChunks: async () => {
      seen.calls.push('storeChunks');
      return { resourcesStored: 4, resourcesReplaced: 0, ...flag };
    },
  };
  const embed: Partial<EmbedActivities> = {
    embedFile: async (target) => {
      seen.calls.push('embedFile');
      seen.embedQueue = Context.current().info.taskQueue;
      seen.embedHeartbeatTimeoutMs = Context.current().info.heartbeatTimeoutMs;
      expect(target).toEqual({ tenantId: 'acme', fileId: file.fileId, path: input.event.path });
      return options.embedFile ? options.embedFile() : embedded;
    },
    recordEmbedFailure: async (failure) => {
      seen.calls.push('recordEmbedFailure');
      seen.failure = failure;
    },
  };
  const workers = await Promise.all([
    Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: ingest }),
    Worker.create({ connection: env.nativeConnection, taskQueue: `${taskQueue}-embed`, activities: embed }),
  ]);
  const [main, embedder] = workers as [Worker, Worker];
  const outcome = await embedder.runUntil(
    main.runUntil(async () => {
      const handle = await startIngestFile(env.client, input, {
        taskQueue,
        workflowId: `embed-step-${randomBytes(4).toString('hex')}`,
      });
      return handle.result();
    }),
  );
  return { outcome, seen };
}

describe('ingestFile: the embed step after the store', () => {
  it('a small file in one activity: embedFile on the -embed queue, its result in the outcome', async () => {
    const { outcome, seen } = await runIngest(inputFor('small'), { embed: true });
    expect(seen.calls).toEqual(['ingestSmallFile', 'embedFile']);
    expect(seen.embedQueue).toMatch(/^wf-embed-small-[0-9a-f]+-embed$/);
    expect(seen.embedHeartbeatTimeoutMs).toBe(60_000);
    expect(outcome).toMatchObject({ status: 'completed', chunkCount: 4, embeddings: embedded });
  });

  it('the four steps: embedFile after storeChunks', async () => {
    const { outcome, seen } = await runIngest(inputFor('medium'), { embed: true });
    expect(seen.calls).toEqual(['registerFile', 'extractText', 'chunkText', 'storeChunks', 'embedFile']);
    expect(outcome).toMatchObject({ status: 'completed', embeddings: embedded });
  });

  it('a rejected key: the reason is recorded and the file still completes with its text', async () => {
    const { outcome, seen } = await runIngest(inputFor('small'), {
      embed: true,
      embedFile: async () => {
        throw new EmbeddingAuthError('the embedding API refused the key (401): set P8FS_EMBEDDING_API_KEY');
      },
    });
    expect(seen.calls).toEqual(['ingestSmallFile', 'embedFile', 'recordEmbedFailure']);
    expect(seen.failure).toMatchObject({ errorType: 'EmbeddingAuthError', fileId: file.fileId });
    expect(outcome).toMatchObject({
      status: 'completed',
      embeddings: { status: 'failed', failed: expect.stringMatching(/^EmbeddingAuthError: .*401/) },
    });
  });

  it('no embed flag (embedding off, or a result recorded before the step): no step', async () => {
    const { outcome, seen } = await runIngest(inputFor('small'), {});
    expect(seen.calls).toEqual(['ingestSmallFile']);
    expect(outcome).not.toHaveProperty('embeddings');
  });
});
