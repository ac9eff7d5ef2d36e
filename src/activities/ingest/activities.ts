/**
 * The ingestion activities: register → extract → chunk → store, plus delete, rename and failure records.
 * Every one is idempotent (deterministic ids, derived objects overwritten at fixed keys, rows replaced),
 * so Temporal may retry any of them after a crash without duplicating anything. Big data moves through
 * S3 (the derived bucket); the workflow only ever sees keys and counts.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { deletePrefix, downloadToFile, getJson, headObject, putJson } from '../../clients/object-store.js';
import type { Config } from '../../config/config.js';
import { type Chunk, chunkDocument } from '../../domain/chunking.js';
import type { ExtractedDocument } from '../../domain/content.js';
import { MissingObjectError, UnsupportedFileTypeError } from '../../domain/errors.js';
import { fileIdFor, P8FS_NAMESPACE, uuidV5 } from '../../domain/ids.js';
import {
  type ChunkingResult,
  derivedPrefix,
  type ExtractionResult,
  type IngestFileInput,
  type RegisteredFile,
  type StoreResult,
} from '../../domain/ingest.js';
import { describeUnsupported } from '../../domain/provider-catalog.js';
import { extractFile, type ProviderContext, pickProvider } from '../../providers/index.js';
import { createWorkDir } from '../work-dirs.js';
import {
  deleteFileRows,
  recordFailure,
  renameFileRows,
  replaceResources,
  upsertFile,
  upsertRunningJob,
} from './file-records.js';

export interface IngestDeps {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
}

/** Heartbeats at most every `everyMs`, so a long download reports progress without flooding the server. */
function throttledHeartbeat(everyMs = 2000): (details: unknown) => void {
  let last = 0;
  return (details) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    Context.current().heartbeat(details);
  };
}

/**
 * What a provider gets from the running activity: Temporal's cancellation signal, a throttled heartbeat
 * tagged with the step, and the activity logger (which adds workflow and activity ids to every line).
 */
function providerContext(): ProviderContext {
  const { cancellationSignal, log } = Context.current();
  const heartbeat = throttledHeartbeat();
  return {
    signal: cancellationSignal,
    heartbeat: (details) => heartbeat({ step: 'extract', progress: details }),
    log,
    config: {},
  };
}

/**
 * The temp file's name: the real file's base name, so parser errors name what the user uploaded. Path
 * separators and control characters are dropped, and a name that could leave the folder ("..") or is
 * too long for the file system falls back to something safe (keeping the extension where it can).
 */
function safeBaseName(fileName: string): string {
  const base = (fileName.split(/[/\\]/).pop() ?? '').replace(/\p{Cc}/gu, '').trim();
  if (!base || base === '.' || base === '..') return 'source';
  // Most file systems cap a name at 255 bytes; a multi-byte name may reach that well before 255 characters.
  if (Buffer.byteLength(base) <= 200) return base;
  const ext = /\.[^.]{1,16}$/.exec(base)?.[0] ?? '';
  return `source${ext}`;
}

/** The workflow this activity runs for (ingest activities only ever run inside a workflow). */
function currentWorkflow(): { workflowId: string; runId: string } {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('ingest activities must run inside a workflow');
  return execution;
}

function jobIdFor(workflowId: string): string {
  return uuidV5(`job:${workflowId}`, P8FS_NAMESPACE);
}

export function createIngestActivities({ cfg, pool, s3 }: IngestDeps) {
  const derivedBucket = cfg.s3.derivedBucket;

  return {
    /** HEADs the object, picks the content provider, upserts the files row (processing) and the job row. */
    async registerFile(input: IngestFileInput): Promise<RegisteredFile> {
      const { event } = input;
      const workflow = currentWorkflow();
      const fileId = fileIdFor(event.tenantId, event.path);
      const jobId = jobIdFor(workflow.workflowId);
      const head = await headObject(s3, event.bucket, event.key);
      if (!head) throw new MissingObjectError(`object s3://${event.bucket}/${event.key} does not exist`);
      const mimeType =
        head.contentType && head.contentType !== 'application/octet-stream'
          ? head.contentType
          : event.mimeType;
      await upsertRunningJob(pool, {
        jobId,
        tenantId: event.tenantId,
        workflowId: workflow.workflowId,
        runId: workflow.runId,
        payload: { event, tier: input.tier, version: input.version, source: input.source },
      });
      await upsertFile(pool, {
        fileId,
        event,
        size: head.size,
        mimeType,
        version: input.version,
        status: 'processing',
      });
      const provider = pickProvider(mimeType, event.fileName);
      if (!provider) {
        const reason = describeUnsupported(mimeType, event.fileName);
        Context.current().log.info('unsupported file', { path: event.path, mimeType, reason });
        throw new UnsupportedFileTypeError(reason);
      }
      Context.current().log.debug('file registered', { path: event.path, fileId, provider, size: head.size });
      return {
        fileId,
        jobId,
        size: head.size,
        mimeType,
        provider,
        lastModified: head.lastModified?.toISOString(),
      };
    },

    /** Streams the object to a temp file, extracts its text and writes the ExtractedDocument to S3. */
    async extractText(input: IngestFileInput, file: RegisteredFile): Promise<ExtractionResult> {
      const { event } = input;
      const { cancellationSignal: signal, log } = Context.current();
      const heartbeat = throttledHeartbeat();
      const workDir = await createWorkDir();
      try {
        await pauseForFaultInjection(cfg.worker.faultPauseExtractMs, signal);
        const localPath = join(workDir, safeBaseName(event.fileName));
        const downloaded = await downloadToFile(
          s3,
          event.bucket,
          event.key,
          localPath,
          (bytes) => heartbeat({ step: 'download', bytes, of: file.size }),
          signal,
        );
        Context.current().heartbeat({ step: 'extract', bytes: downloaded.bytes });
        const source = {
          path: localPath,
          name: event.fileName,
          size: downloaded.bytes,
          ...(file.mimeType ? { mimeType: file.mimeType } : {}),
        };
        const document = await extractFile(file.provider, source, providerContext());
        const extractedKey = `${derivedPrefix(event.tenantId, file.fileId, input.version)}/extracted.json`;
        await putJson(s3, derivedBucket, extractedKey, document);
        log.info('file extracted', {
          path: event.path,
          provider: document.provider,
          bytes: downloaded.bytes,
          pageCount: document.pageCount,
          sections: document.sections.length,
        });
        return {
          extractedKey,
          provider: document.provider,
          pageCount: document.pageCount,
          sectionCount: document.sections.length,
          characters: document.sections.reduce((n, s) => n + s.text.length, 0),
          contentHash: downloaded.sha256,
        };
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },

    /** Reads the extracted document from S3, chunks it token-aware and writes the chunks to S3. */
    async chunkText(
      input: IngestFileInput,
      file: RegisteredFile,
      extraction: ExtractionResult,
    ): Promise<ChunkingResult> {
      const document = await getJson<ExtractedDocument>(s3, derivedBucket, extraction.extractedKey);
      const chunks = chunkDocument(document, cfg.chunking);
      const chunksKey = `${derivedPrefix(input.event.tenantId, file.fileId, input.version)}/chunks.json`;
      await putJson(s3, derivedBucket, chunksKey, chunks);
      return {
        chunksKey,
        chunkCount: chunks.length,
        tokenCount: chunks.reduce((n, c) => n + c.tokenCount, 0),
      };
    },

    /** Replaces the file's resources with the chunks in one transaction and completes file and job rows. */
    async storeChunks(
      input: IngestFileInput,
      file: RegisteredFile,
      extraction: ExtractionResult,
      chunking: ChunkingResult,
    ): Promise<StoreResult> {
      const chunks = await getJson<Chunk[]>(s3, derivedBucket, chunking.chunksKey);
      const stored = await replaceResources(pool, {
        fileId: file.fileId,
        jobId: file.jobId,
        event: input.event,
        chunks,
        provider: extraction.provider,
        pageCount: extraction.pageCount,
        contentHash: extraction.contentHash,
        version: input.version,
        resourceTimestamp: file.lastModified,
      });
      return { resourcesStored: stored.inserted, resourcesReplaced: stored.replaced };
    },

    /** Delete event: removes the file row (resources cascade) and its derived objects. */
    async deleteFile(input: IngestFileInput): Promise<{ fileId: string; resourcesDeleted: number }> {
      const fileId = fileIdFor(input.event.tenantId, input.event.path);
      const resourcesDeleted = await deleteFileRows(pool, fileId);
      await deletePrefix(s3, derivedBucket, `${input.event.tenantId}/${fileId}/`);
      return { fileId, resourcesDeleted };
    },

    /** Rename event: moves rows to the new path; `moved: undefined` when the old path was never stored. */
    async renameFile(
      input: IngestFileInput,
    ): Promise<{ fileId: string; fromFileId: string; moved: number | undefined }> {
      const { event } = input;
      const fromPath = event.oldPath ?? event.path;
      const result = await renameFileRows(pool, { tenantId: event.tenantId, path: fromPath }, event);
      return {
        fileId: fileIdFor(event.tenantId, event.path),
        fromFileId: fileIdFor(event.tenantId, fromPath),
        moved: result?.moved,
      };
    },

    /** Non-retryable failure: files.status = failed, job failed, one errors row. */
    async recordIngestFailure(
      input: IngestFileInput,
      failure: { errorType: string; message: string; stack?: string },
    ): Promise<{ fileId: string }> {
      const { workflowId } = currentWorkflow();
      const fileId = fileIdFor(input.event.tenantId, input.event.path);
      await recordFailure(pool, {
        fileId,
        jobId: jobIdFor(workflowId),
        event: input.event,
        version: input.version,
        workflowId,
        ...failure,
      });
      return { fileId };
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;

/**
 * Chaos testing aid: cfg.worker.faultPauseExtractMs (P8FS_FAULT_PAUSE_EXTRACT_MS) holds each extraction
 * (heartbeating) so a test can kill the worker mid-activity; 0 in normal runs. A cancellation ends the
 * pause with the cancellation, as it would end a real download.
 */
async function pauseForFaultInjection(pauseMs: number, signal: AbortSignal): Promise<void> {
  const until = Date.now() + pauseMs;
  while (Date.now() < until && !signal.aborted) {
    Context.current().heartbeat({ step: 'fault-injection-pause' });
    await sleep(Math.min(500, until - Date.now()), undefined, { signal }).catch(() => undefined);
  }
  signal.throwIfAborted();
}
