/**
 * The ingestion activities: register → extract → chunk → store, plus delete, rename and failure records.
 * Every one is idempotent (deterministic ids, derived objects overwritten at fixed keys, rows replaced),
 * so Temporal may retry any of them after a crash without duplicating anything. Big data moves through
 * S3 (the derived bucket); the workflow only ever sees keys and counts.
 */

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { deletePrefix, downloadToFile, getJson, headObject, putFile } from '../../clients/object-store.js';
import type { Config } from '../../config/config.js';
import { type Chunk, chunkSteps } from '../../domain/chunking.js';
import { cleanText } from '../../domain/clean-text.js';
import type { ExtractedDocument, ExtractedSection } from '../../domain/content.js';
import { errorText, MissingObjectError } from '../../domain/errors.js';
import { fileIdFor, P8FS_NAMESPACE, uuidV5 } from '../../domain/ids.js';
import {
  type ChunkingResult,
  derivedPrefix,
  type ExtractionResult,
  type FailureRecord,
  type IngestFileInput,
  type RegisteredFile,
  type SmallFileResult,
  type StoreResult,
} from '../../domain/ingest.js';
import { isTranscriptObject } from '../../domain/insight/build-moments.js';
import { describeUnsupported } from '../../domain/provider-catalog.js';
import { boundedMimeType, type StorageEvent } from '../../domain/storage-event.js';
import {
  type ProviderConfig,
  type ProviderContext,
  pickProvider,
  type SourceFile,
  UNKNOWN_TYPE_PROVIDER,
} from '../../providers/index.js';
import { createWorkDir } from '../work-dirs.js';
import { JsonLinesWriter, readJsonValues } from './derived-objects.js';
import { ExtractionPool } from './extraction/pool.js';
import { extractInSandbox, type SandboxExtraction } from './extraction/run-job.js';
import {
  deleteFileRows,
  finishStreamedStore,
  type LockWait,
  recordFailure,
  registeredEtagOf,
  renameFileRows,
  replaceResources,
  type Superseded,
  upsertFile,
  upsertRunningJob,
  withFileLocks,
} from './file-records.js';
import { ingestSmallFile } from './ingest-small.js';
import { createMemberEventPublisher, ingestMembers, type MemberEventPublisher } from './member-files.js';
import { withStorageErrorsClassified } from './storage-errors.js';
import { previousCheckpoint, providerVersionOf, streamFile, streams } from './streaming.js';

export interface IngestDeps {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
  /** Where member files' storage events go (ZIP members, attachments); connected on first use if absent. */
  memberEvents?: MemberEventPublisher;
  /** The worker's extraction processes; a pool of these activities' own if absent. */
  extractionPool?: ExtractionPool;
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
function providerContext(config: ProviderConfig): ProviderContext {
  const { cancellationSignal, log } = Context.current();
  const heartbeat = throttledHeartbeat();
  return {
    signal: cancellationSignal,
    heartbeat: (details) => heartbeat({ step: 'extract', progress: details }),
    log,
    config,
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

/** How an activity waits for a file's lock: heartbeating, and stopping when it is cancelled. */
function lockWait(): LockWait {
  const { cancellationSignal } = Context.current();
  const heartbeat = throttledHeartbeat(1000);
  return { signal: cancellationSignal, onWait: () => heartbeat({ step: 'wait-for-file-lock' }) };
}

/**
 * Long CPU work in slices: call it often; about every `sliceMs` it heartbeats, lets the event loop run
 * (so heartbeats, cancellation and other activities' I/O get through) and throws if the activity was
 * cancelled. The slice is a small fraction of the smallest heartbeat timeout (15 s).
 */
function cooperativePause(details: () => unknown, sliceMs = 100): () => Promise<void> | undefined {
  const { cancellationSignal: signal } = Context.current();
  const heartbeat = throttledHeartbeat(1000);
  let sliceStart = Date.now();
  return () => {
    if (Date.now() - sliceStart < sliceMs) return undefined;
    return (async () => {
      heartbeat(details());
      await yieldToEventLoop();
      signal.throwIfAborted();
      sliceStart = Date.now();
    })();
  };
}

/** The old object of a rename: its key from the event, or from the old path for events without one. */
function oldObjectOf(event: StorageEvent): { bucket: string; key: string } {
  if (event.oldKey !== undefined) return { bucket: event.bucket, key: event.oldKey };
  const prefix = `/buckets/${event.bucket}/`;
  const oldPath = event.oldPath ?? event.path;
  return { bucket: event.bucket, key: oldPath.startsWith(prefix) ? oldPath.slice(prefix.length) : oldPath };
}

/** Section texts and headings as PostgreSQL can store them (see domain/clean-text.ts). */
function* cleanSections(sections: ExtractedSection[]): Generator<ExtractedSection> {
  for (const section of sections) {
    const text = cleanText(section.text);
    const heading = section.heading === undefined ? undefined : cleanText(section.heading);
    yield text === section.text && heading === section.heading ? section : { ...section, text, heading };
  }
}

/**
 * The ingest activities, each throwing S3 and PostgreSQL failures that no retry can fix as
 * PermanentStorageError (non-retryable; see storage-errors.ts), so such a file fails at once.
 */
export function createIngestActivities(deps: IngestDeps) {
  return withStorageErrorsClassified(ingestActivities(deps));
}

function ingestActivities({
  cfg,
  pool,
  s3,
  memberEvents,
  extractionPool = new ExtractionPool(),
}: IngestDeps) {
  const derivedBucket = cfg.s3.derivedBucket;
  let memberPublisher = memberEvents;

  /**
   * Under a file's lock: does S3 still hold the object this run registered? Gone, or other bytes (a
   * newer upload, whose own run stores it), means this run is superseded.
   */
  async function registeredObjectCheck(
    event: StorageEvent,
    registeredEtag: string | undefined,
  ): Promise<Superseded | undefined> {
    const where = `s3://${event.bucket}/${event.key}`;
    const head = await headObject(s3, event.bucket, event.key);
    if (!head)
      return { reason: `${where} no longer exists (deleted or renamed meanwhile)`, objectGone: true };
    if (registeredEtag !== undefined && head.etag !== undefined && head.etag !== registeredEtag) {
      return {
        reason: `${where} was overwritten meanwhile (etag ${head.etag}, this run read ${registeredEtag}); the newer upload's run stores it`,
        objectGone: false,
      };
    }
    return undefined;
  }

  /** registerFile's work, shared with ingestSmallFile (see registerFile). */
  async function register(
    input: IngestFileInput,
    options: { pinEarlierEtag?: boolean } = {},
  ): Promise<RegisteredFile> {
    const { event } = input;
    const workflow = currentWorkflow();
    const fileId = fileIdFor(event.tenantId, event.path);
    const jobId = jobIdFor(workflow.workflowId);
    const { head, mimeType } = await withFileLocks(pool, [fileId], lockWait(), async (client) => {
      const found = await headObject(s3, event.bucket, event.key);
      if (!found) throw new MissingObjectError(`object s3://${event.bucket}/${event.key} does not exist`);
      // The stored Content-Type is the uploader's word and may be anything (2 KB of it, control
      // characters): only a bounded, well-formed type reaches the files row and the provider choice.
      const stored = boundedMimeType(found.contentType);
      // A retry of the one-activity path checks S3 against what its first attempt registered (kept in
      // the job row), as the four steps check against registerFile's recorded result.
      const earlier = options.pinEarlierEtag ? await registeredEtagOf(client, jobId) : undefined;
      const registered = earlier !== undefined ? { ...found, etag: earlier } : found;
      const type = stored && stored !== 'application/octet-stream' ? stored : event.mimeType;
      await upsertRunningJob(client, {
        jobId,
        tenantId: event.tenantId,
        workflowId: workflow.workflowId,
        runId: workflow.runId,
        payload: {
          event,
          tier: input.tier,
          version: input.version,
          source: input.source,
          registeredEtag: registered.etag,
        },
      });
      await upsertFile(client, {
        fileId,
        event,
        size: found.size,
        mimeType: type,
        version: input.version,
        status: 'processing',
      });
      return { head: registered, mimeType: type };
    });
    let provider = pickProvider(mimeType, event.fileName);
    if (!provider) {
      // No provider reads it: the file is still completed, with one resource that describes it.
      const reason = describeUnsupported(mimeType, event.fileName);
      Context.current().log.info('no content provider: storing a metadata resource', {
        path: event.path,
        mimeType,
        reason,
      });
      provider = UNKNOWN_TYPE_PROVIDER;
    }
    Context.current().log.debug('file registered', { path: event.path, fileId, provider, size: head.size });
    return {
      fileId,
      jobId,
      size: head.size,
      mimeType,
      provider,
      lastModified: head.lastModified?.toISOString(),
      ...(head.etag !== undefined ? { etag: head.etag } : {}),
    };
  }

  /** Downloads the object into `workDir` under its own base name (heartbeating), for extractWhole. */
  async function download(
    input: IngestFileInput,
    file: RegisteredFile,
    workDir: string,
  ): Promise<{ source: SourceFile; sha256: string }> {
    const { event } = input;
    const heartbeat = throttledHeartbeat();
    const path = join(workDir, safeBaseName(event.fileName));
    const downloaded = await downloadToFile(
      s3,
      event.bucket,
      event.key,
      path,
      (bytes) => heartbeat({ step: 'download', bytes, of: file.size }),
      Context.current().cancellationSignal,
    );
    const source = {
      path,
      name: event.fileName,
      size: downloaded.bytes,
      ...(file.mimeType ? { mimeType: file.mimeType } : {}),
    };
    return { source, sha256: downloaded.sha256 };
  }

  /**
   * Extracts a downloaded file whole in an extraction process with the tier's limits and memory ceiling
   * (extraction/run-job.ts): the document goes to a JSON file beside the download, never into this
   * process. ZIP members and attachments become files of their own (member-files.ts).
   */
  async function extractWhole(
    input: IngestFileInput,
    file: RegisteredFile,
    source: SourceFile,
    workDir: string,
    bytes: number,
  ): Promise<{ extracted: SandboxExtraction; memberFiles: number }> {
    const { event } = input;
    const { cancellationSignal: signal, log } = Context.current();
    const heartbeat = throttledHeartbeat();
    const limits = cfg.limits[input.tier];
    const memberDir = join(workDir, 'members');
    const extracted = await extractInSandbox(
      extractionPool,
      file.provider,
      source,
      providerContext({ limits: limits.extraction, media: cfg.media, memberDir }),
      {
        memoryMb: limits.memoryMb,
        memoryVariable: limits.memoryVariable,
        outputPath: `${source.path}.extracted.json`,
      },
    );
    memberPublisher ??= createMemberEventPublisher(cfg);
    const memberFiles = await ingestMembers(s3, memberPublisher, {
      event,
      version: input.version,
      members: extracted.members ?? [],
      memberDir,
      limits: limits.extraction,
      signal,
      onProgress: (done) => heartbeat({ step: 'member-files', done, of: extracted.members?.length }),
    });
    log.info('file extracted', {
      path: event.path,
      provider: extracted.provider,
      bytes,
      pageCount: extracted.pageCount,
      sections: extracted.sectionCount,
      extractMs: extracted.durationMs,
      extractPeakRssMb: extracted.peakRssMb,
    });
    return { extracted, memberFiles };
  }

  /**
   * Cuts a document's sections into chunks, token-aware, handing each to `write`; in slices (see
   * cooperativePause), so a document of hundreds of megabytes heartbeats all along. Returns the tokens.
   */
  async function chunkSections(
    sections: ExtractedSection[],
    write: (chunk: Chunk) => Promise<void> | void,
    progress: () => unknown,
  ): Promise<number> {
    let tokenCount = 0;
    const pause = cooperativePause(progress);
    for (const step of chunkSteps(cleanSections(sections), cfg.chunking)) {
      if (step) {
        tokenCount += step.tokenCount;
        await write(step);
      }
      const paused = pause();
      if (paused) await paused;
    }
    return tokenCount;
  }

  /**
   * A whole (not streamed) store: replaces the file's resources with `chunks` in one transaction under the
   * file's lock, after claiming the file for this attempt and checking S3 still holds the registered
   * object (see storeChunks). `derived`: the run wrote derived objects, removed when it is superseded.
   */
  async function storeWhole(
    input: IngestFileInput,
    file: RegisteredFile,
    extraction: Pick<ExtractionResult, 'provider' | 'providerVersion' | 'pageCount' | 'contentHash'>,
    chunks: Iterable<Chunk> | AsyncIterable<Chunk>,
    chunkCount: number,
    derived: boolean,
  ): Promise<StoreResult> {
    const { info, log } = Context.current();
    const workflow = currentWorkflow();
    const heartbeat = throttledHeartbeat(1000);
    let objectChanged = false;
    const stored = await replaceResources(pool, {
      fileId: file.fileId,
      jobId: file.jobId,
      event: input.event,
      chunks,
      provider: extraction.provider,
      providerVersion: extraction.providerVersion ?? providerVersionOf(extraction.provider),
      pageCount: extraction.pageCount,
      contentHash: extraction.contentHash,
      version: input.version,
      resourceTimestamp: file.lastModified,
      ...(file.etag !== undefined ? { sourceEtag: file.etag } : {}),
      claim: { runId: workflow.runId, attempt: info.attempt },
      check: async () => {
        const superseded = await registeredObjectCheck(input.event, file.etag);
        if (superseded) objectChanged = true;
        return superseded;
      },
      wait: lockWait(),
      onBatch: (rows) => heartbeat({ step: 'store', rows, of: chunkCount }),
    });
    if ('superseded' in stored) {
      log.info('store superseded: nothing written', { path: input.event.path, reason: stored.superseded });
      if (objectChanged && derived) await dropDerived(input, file.fileId);
      return { resourcesStored: 0, resourcesReplaced: 0, superseded: stored.superseded };
    }
    return { resourcesStored: stored.inserted, resourcesReplaced: stored.replaced };
  }

  /** A superseded version's derived objects serve nobody: removed, best effort. */
  async function dropDerived(input: IngestFileInput, fileId: string): Promise<void> {
    const prefix = `${derivedPrefix(input.event.tenantId, fileId, input.version)}/`;
    await deletePrefix(s3, derivedBucket, prefix).catch((error: unknown) => {
      Context.current().log.warn('could not remove derived objects', { prefix, error: errorText(error) });
    });
  }

  return {
    /**
     * HEADs the object, picks the content provider, upserts the files row (processing) and the job row,
     * under the file's lock (so a store or delete of another event of the file sees either all of it or
     * none). The etag read here is what later steps check S3 against.
     */
    registerFile: (input: IngestFileInput): Promise<RegisteredFile> => register(input),

    /**
     * A small file in one activity: register → download → extract → chunk → store, with no derived
     * objects in S3 (ingest-small.ts). A file not for this path is only registered, and the workflow goes
     * on with the steps.
     */
    ingestSmallFile: (input: IngestFileInput): Promise<SmallFileResult> =>
      ingestSmallFile({ cfg, register, download, extractWhole, chunkSections, storeWhole }, input),

    /** Streams the object to a temp file, extracts its text and writes the ExtractedDocument to S3. */
    async extractText(input: IngestFileInput, file: RegisteredFile): Promise<ExtractionResult> {
      const { event } = input;
      const { cancellationSignal: signal } = Context.current();
      const heartbeat = throttledHeartbeat();
      const workDir = await createWorkDir();
      try {
        await pauseForFaultInjection(cfg.worker.faultPauseExtractMs, signal);
        failForFaultInjection(cfg.worker.faultFailExtractAttempts);
        const localPath = join(workDir, safeBaseName(event.fileName));
        // A retry of a streamed file keeps the checkpoint in every heartbeat, the download's too.
        const resume = previousCheckpoint(cfg, input, file);
        const downloaded = await downloadToFile(
          s3,
          event.bucket,
          event.key,
          localPath,
          (bytes) => heartbeat({ step: 'download', bytes, of: file.size, ...(resume ? { resume } : {}) }),
          signal,
        );
        Context.current().heartbeat({ step: 'extract', bytes: downloaded.bytes });
        const source = {
          path: localPath,
          name: event.fileName,
          size: downloaded.bytes,
          ...(file.mimeType ? { mimeType: file.mimeType } : {}),
        };
        const limits = cfg.limits[input.tier];
        if (streams(cfg, file.provider, source)) {
          // Huge text-like files: extracted, chunked and stored as one resumable stream (streaming.ts).
          return await streamFile(
            { cfg, pool, s3, extractionPool },
            {
              input,
              file,
              source,
              contentHash: downloaded.sha256,
              ctx: providerContext({
                limits: limits.extraction,
                media: cfg.media,
                memberDir: join(workDir, 'members'),
              }),
              memoryMb: limits.memoryMb,
              memoryVariable: limits.memoryVariable,
              resume,
              check: () => registeredObjectCheck(event, file.etag),
              wait: lockWait(),
            },
          );
        }
        // Extracted whole to a JSON file beside the download (extractWhole), and from there to S3.
        const { extracted, memberFiles } = await extractWhole(input, file, source, workDir, downloaded.bytes);
        const extractedKey = `${derivedPrefix(event.tenantId, file.fileId, input.version)}/extracted.json`;
        await putFile(s3, derivedBucket, extractedKey, extracted.path);
        return {
          extractedKey,
          provider: extracted.provider,
          pageCount: extracted.pageCount,
          sectionCount: extracted.sectionCount,
          characters: extracted.characters,
          contentHash: downloaded.sha256,
          ...(providerVersionOf(extracted.provider)
            ? { providerVersion: providerVersionOf(extracted.provider) }
            : {}),
          ...(memberFiles > 0 ? { memberFiles } : {}),
        };
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },

    /**
     * Reads the extracted document from S3, chunks it token-aware and writes the chunks to S3 as JSON
     * Lines. Chunking runs in slices (see cooperativePause) and the chunks are uploaded in parts while
     * later ones are still being cut, so a document of hundreds of megabytes heartbeats all along.
     */
    async chunkText(
      input: IngestFileInput,
      file: RegisteredFile,
      extraction: ExtractionResult,
    ): Promise<ChunkingResult> {
      const { cancellationSignal: signal } = Context.current();
      if (extraction.streamed) {
        // Chunked (and stored) while it was extracted: only the counts go on.
        const { chunkCount, tokenCount } = extraction.streamed;
        return { chunksKey: extraction.extractedKey, chunkCount, tokenCount };
      }
      const document = await getJson<ExtractedDocument>(s3, derivedBucket, extraction.extractedKey);
      Context.current().heartbeat({ step: 'chunk', sections: document.sections.length });
      const chunksKey = `${derivedPrefix(input.event.tenantId, file.fileId, input.version)}/chunks.jsonl`;
      const writer = new JsonLinesWriter(s3, derivedBucket, chunksKey, { signal });
      let tokenCount = 0;
      try {
        tokenCount = await chunkSections(
          document.sections,
          (chunk) => writer.write(chunk),
          () => ({ step: 'chunk', chunks: writer.lines, bytes: writer.bytes }),
        );
        await writer.close();
      } catch (error) {
        await writer.abort();
        throw error;
      }
      return { chunksKey, chunkCount: writer.lines, tokenCount };
    },

    /**
     * Replaces the file's resources with the chunks in one transaction and completes file and job rows.
     * The chunks stream from S3 into insert batches, heartbeating after each. Under the file's lock it
     * first claims the file for this attempt and checks that S3 still holds the registered object; an
     * earlier attempt that wakes up late, or a run whose object was deleted, renamed or overwritten
     * meanwhile, writes nothing and reports `superseded`.
     */
    async storeChunks(
      input: IngestFileInput,
      file: RegisteredFile,
      extraction: ExtractionResult,
      chunking: ChunkingResult,
    ): Promise<StoreResult> {
      const { info, cancellationSignal: signal, log } = Context.current();
      const workflow = currentWorkflow();
      let objectChanged = false;
      const check = async () => {
        const superseded = await registeredObjectCheck(input.event, file.etag);
        if (superseded) objectChanged = true;
        return superseded;
      };
      if (extraction.streamed) {
        // The chunks are stored already (streaming.ts): remove what this version did not write, complete.
        const finished = await finishStreamedStore(pool, {
          fileId: file.fileId,
          jobId: file.jobId,
          event: input.event,
          version: input.version,
          provider: extraction.provider,
          chunkCount: extraction.streamed.chunkCount,
          pageCount: extraction.pageCount,
          contentHash: extraction.contentHash,
          ...(file.etag !== undefined ? { sourceEtag: file.etag } : {}),
          claim: { runId: workflow.runId, attempt: info.attempt },
          check,
          wait: lockWait(),
        });
        if ('superseded' in finished) {
          log.info('store superseded: not completed', {
            path: input.event.path,
            reason: finished.superseded,
          });
          if (objectChanged) await dropDerived(input, file.fileId);
          return { resourcesStored: 0, resourcesReplaced: 0, superseded: finished.superseded };
        }
        return {
          resourcesStored: extraction.streamed.chunkCount,
          resourcesReplaced: extraction.streamed.resourcesReplaced + finished.removed,
        };
      }
      return storeWhole(
        input,
        file,
        extraction,
        readJsonValues<Chunk>(s3, derivedBucket, chunking.chunksKey, signal),
        chunking.chunkCount,
        true,
      );
    },

    /**
     * Delete event: removes the file row (resources cascade) and its derived objects, under the file's
     * lock and only if the object is really gone from S3. An object at the path again was re-created
     * after the delete: its own create run owns the rows, and this delete is superseded.
     */
    async deleteFile(
      input: IngestFileInput,
    ): Promise<{ fileId: string; resourcesDeleted: number; superseded?: string }> {
      const { event } = input;
      const fileId = fileIdFor(event.tenantId, event.path);
      const result = await deleteFileRows(pool, {
        fileId,
        wait: lockWait(),
        check: async () => {
          const head = await headObject(s3, event.bucket, event.key);
          if (!head) return undefined;
          return `s3://${event.bucket}/${event.key} exists again (etag ${head.etag ?? 'unknown'}): it was re-created after the delete, and its own create run owns the rows`;
        },
        // Under the lock, so a create run of a re-created object (which waits for it) never loses its own.
        afterDelete: async (client) => {
          await deletePrefix(s3, derivedBucket, `${event.tenantId}/${fileId}/`);
          // A deleted transcript takes the moments built from it along (they have no files row).
          if (isTranscriptObject(event)) {
            await client.query(
              "DELETE FROM moments WHERE tenant_id = $1 AND metadata->>'transcript_uri' = $2",
              [event.tenantId, `s3://${event.bucket}/${event.key}`],
            );
          }
        },
      });
      if ('superseded' in result) {
        Context.current().log.info('delete superseded', { path: event.path, reason: result.superseded });
        return { fileId, resourcesDeleted: 0, superseded: result.superseded };
      }
      return { fileId, resourcesDeleted: result.deleted };
    },

    /**
     * Rename event: moves rows to the new path when they are known to hold the renamed object (see
     * renameFileRows); otherwise removes the old path's rows if its object is gone and returns
     * `moved: undefined`, and the workflow ingests the new path in full.
     */
    async renameFile(
      input: IngestFileInput,
    ): Promise<{ fileId: string; fromFileId: string; moved: number | undefined }> {
      const { event } = input;
      const fromPath = event.oldPath ?? event.path;
      const fromFileId = fileIdFor(event.tenantId, fromPath);
      const old = oldObjectOf(event);
      const result = await renameFileRows(pool, { tenantId: event.tenantId, path: fromPath }, event, {
        wait: lockWait(),
        objects: async () => {
          const [oldHead, newHead] = await Promise.all([
            headObject(s3, old.bucket, old.key),
            headObject(s3, event.bucket, event.key),
          ]);
          return {
            oldExists: oldHead !== undefined,
            newExists: newHead !== undefined,
            ...(newHead?.etag !== undefined ? { newEtag: newHead.etag } : {}),
          };
        },
        afterOldRemoved: async (_client, removedFileId) => {
          await deletePrefix(s3, derivedBucket, `${event.tenantId}/${removedFileId}/`);
        },
      });
      if (result.kind === 'ingest') {
        Context.current().log.info('rename: ingesting the new path in full', {
          from: fromPath,
          to: event.path,
          reason: result.reason,
        });
      }
      return {
        fileId: fileIdFor(event.tenantId, event.path),
        fromFileId,
        moved: result.kind === 'moved' ? result.moved : undefined,
      };
    },

    /**
     * Non-retryable failure: files.status = failed, job failed, one errors row; under the file's lock and
     * only if S3 still holds the object this run registered. A failure because the object was deleted,
     * renamed or overwritten meanwhile records nothing (`superseded`): the later event's run owns the rows.
     */
    async recordIngestFailure(
      input: IngestFileInput,
      failure: { errorType: string; message: string; stack?: string },
    ): Promise<FailureRecord> {
      const { workflowId } = currentWorkflow();
      const fileId = fileIdFor(input.event.tenantId, input.event.path);
      let objectChanged = false;
      const result = await recordFailure(pool, {
        fileId,
        jobId: jobIdFor(workflowId),
        event: input.event,
        version: input.version,
        workflowId,
        ...failure,
        wait: lockWait(),
        check: async (client) => {
          const superseded = await registeredObjectCheck(
            input.event,
            await registeredEtagOf(client, jobIdFor(workflowId)),
          );
          if (superseded) objectChanged = true;
          return superseded;
        },
      });
      if ('superseded' in result) {
        Context.current().log.info('failure not recorded: superseded', {
          path: input.event.path,
          failure: `${failure.errorType}: ${failure.message}`,
          reason: result.superseded,
        });
        if (objectChanged) await dropDerived(input, fileId);
        return { fileId, superseded: result.superseded };
      }
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
/**
 * Chaos testing aid: cfg.worker.faultFailExtractAttempts (P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS) makes the
 * first N attempts of each extraction fail retryably, as an unreachable dependency would. 0 in normal runs.
 */
function failForFaultInjection(attempts: number): void {
  const { attempt } = Context.current().info;
  if (attempt <= attempts) {
    throw new Error(
      `fault injection: extractText fails on attempt ${attempt} of the first ${attempts} (P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS)`,
    );
  }
}

async function pauseForFaultInjection(pauseMs: number, signal: AbortSignal): Promise<void> {
  const until = Date.now() + pauseMs;
  while (Date.now() < until && !signal.aborted) {
    Context.current().heartbeat({ step: 'fault-injection-pause' });
    await sleep(Math.min(500, until - Date.now()), undefined, { signal }).catch(() => undefined);
  }
  signal.throwIfAborted();
}
