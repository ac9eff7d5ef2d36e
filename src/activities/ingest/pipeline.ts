/**
 * The ingest pipeline both paths share: the four steps (steps.ts) and the one small-file activity
 * (ingest-small.ts) register, download, extract, chunk and store through these same functions, so they
 * write the same rows under the same lock, claim and etag checks, and log the same lines.
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { deletePrefix, downloadToFile } from '../../clients/object-store.js';
import type { Config } from '../../config/config.js';
import { replaceResources } from '../../db/files/index.js';
import { type Chunk, chunkSteps } from '../../domain/chunking.js';
import { cleanText } from '../../domain/clean-text.js';
import type { ExtractedSection } from '../../domain/content.js';
import { errorText } from '../../domain/errors.js';
import {
  derivedPrefix,
  type ExtractionResult,
  type IngestFileInput,
  type RegisteredFile,
  type StoreResult,
} from '../../domain/ingest.js';
import type { SourceFile } from '../../providers/index.js';
import {
  cooperativePause,
  currentWorkflow,
  lockWait,
  providerContext,
  throttledHeartbeat,
} from './activity-context.js';
import { ExtractionPool } from './extraction/pool.js';
import { extractInSandbox, type SandboxExtraction } from './extraction/run-job.js';
import { createMemberEventPublisher, ingestMembers, type MemberEventPublisher } from './member-files.js';
import { createRegistration } from './register.js';
import { providerVersionOf } from './streaming.js';

export interface IngestDeps {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
  /** Where member files' storage events go (ZIP members, attachments); connected on first use if absent. */
  memberEvents?: MemberEventPublisher;
  /** The worker's extraction processes; a pool of these activities' own if absent. */
  extractionPool?: ExtractionPool;
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

/** Section texts and headings as PostgreSQL can store them (see domain/clean-text.ts). */
function* cleanSections(sections: ExtractedSection[]): Generator<ExtractedSection> {
  for (const section of sections) {
    const text = cleanText(section.text);
    const heading = section.heading === undefined ? undefined : cleanText(section.heading);
    yield text === section.text && heading === section.heading ? section : { ...section, text, heading };
  }
}

export type IngestPipeline = ReturnType<typeof createIngestPipeline>;

export function createIngestPipeline({
  cfg,
  pool,
  s3,
  memberEvents,
  extractionPool = new ExtractionPool(),
}: IngestDeps) {
  const derivedBucket = cfg.s3.derivedBucket;
  let memberPublisher = memberEvents;
  const { register, registeredObjectCheck, watchObject } = createRegistration({ pool, s3 });

  /**
   * Downloads the object into `workDir` under its own base name, heartbeating its progress (with the
   * streamed file's checkpoint `resume`, which every heartbeat of a retry must keep).
   */
  async function download(
    input: IngestFileInput,
    file: RegisteredFile,
    workDir: string,
    resume?: unknown,
  ): Promise<{ source: SourceFile; sha256: string }> {
    const { event } = input;
    const heartbeat = throttledHeartbeat();
    const path = join(workDir, safeBaseName(event.fileName));
    const downloaded = await downloadToFile(
      s3,
      event.bucket,
      event.key,
      path,
      (bytes) => heartbeat({ step: 'download', bytes, of: file.size, ...(resume ? { resume } : {}) }),
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
    const watch = watchObject(input.event, async () => file.etag);
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
      check: watch.check,
      wait: lockWait(),
      onBatch: (rows) => heartbeat({ step: 'store', rows, of: chunkCount }),
    });
    if ('superseded' in stored) {
      log.info('store superseded: nothing written', { path: input.event.path, reason: stored.superseded });
      if (watch.changed() && derived) await dropDerived(input, file.fileId);
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
    register,
    download,
    extractWhole,
    chunkSections,
    storeWhole,
    dropDerived,
    registeredObjectCheck,
    watchObject,
    /** The extraction processes, for the streamed path (streaming.ts). */
    extractionPool,
  };
}
