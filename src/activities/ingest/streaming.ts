/**
 * Huge files in bounded memory, resumable. For a provider that can stream (ContentProvider.streamSections)
 * and a file of at least P8FS_STREAM_MIN_BYTES, extractText does extract → chunk → store as one stream:
 *
 * - the provider runs in an extraction process (extraction/stream.ts) and hands sections over in small
 *   batches; the worker chunks them as they come (SectionChunker) and upserts the chunks in batches of
 *   STORE_BATCH rows, each batch one transaction under the file's lock, with deterministic ids (file id +
 *   ordinal), after checking the claim and that S3 still holds the registered object;
 * - the sections go to S3 as JSON Lines parts (`<prefix>/extracted/part-NNNNNN.jsonl`, plus a manifest),
 *   written as the stream goes;
 * - every heartbeat carries a checkpoint, taken after a batch is stored at the latest point where a chunk
 *   ended at the start of a section: the provider's position before that section, the chunker's state
 *   (ordinal, character offset, overlap), and the counts so far. A retry after a dead worker reads it from
 *   `activityInfo().heartbeatDetails` and continues there, never from byte 0 of the extraction (the file is
 *   downloaded again, which is only I/O, for its content hash);
 * - chunkText then passes the counts on, and storeChunks finishes: removes rows of the file that this
 *   version did not write and completes the file (src/db/files/store.ts finishStreamedStore).
 *
 * Memory: the worker holds two batches of sections, the chunker's current section and chunk, one store
 * batch and the sections not yet in a part (bounded by PART_BYTES and the time between checkpoints).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { ensureBucket } from '../../clients/object-store.js';
import type { Config } from '../../config/config.js';
import {
  type LockWait,
  type StreamBatchInput,
  type Superseded,
  storeStreamBatch,
} from '../../db/files/index.js';
import { type Chunk, type ChunkerState, SectionChunker } from '../../domain/chunking.js';
import { cleanText } from '../../domain/clean-text.js';
import type { ExtractedSection } from '../../domain/content.js';
import {
  derivedPrefix,
  type ExtractionResult,
  type IngestFileInput,
  type RegisteredFile,
} from '../../domain/ingest.js';
import { PROVIDERS, type ProviderContext, type SourceFile } from '../../providers/index.js';
import type { StreamCheckpoint } from '../../providers/provider.js';
import type { ExtractionPool } from './extraction/pool.js';
import { type StreamPeak, streamInSandbox } from './extraction/stream.js';

/** Rows per store transaction. */
const STORE_BATCH = 500;
/** A part of the extracted sections is written once this many bytes wait (and at checkpoints). */
const PART_BYTES = 8 * 1024 * 1024;
/** A checkpoint is taken at most this often (after a stored batch). */
const CHECKPOINT_EVERY_MS = 1000;
const HEARTBEAT_EVERY_MS = 1000;

/** The durable position a retry continues from (plain JSON, a few KB at most: the overlap's text). */
export interface StreamResume {
  /** What the checkpoint belongs to: a retry of another version, provider or chunk size starts over. */
  version: string;
  etag?: string;
  provider: string;
  maxTokens: number;
  overlapTokens: number;
  /** The provider's position before the first section to read again. */
  source: StreamCheckpoint;
  chunker: ChunkerState;
  tokens: number;
  characters: number;
  replaced: number;
  /** Parts of extracted sections written before this point. */
  parts: number;
}

/** Heartbeat details of a streamed extraction: progress, and the checkpoint a retry resumes from. */
export interface StreamProgress {
  step: 'stream';
  /** Bytes of the file read up to the last section handed over. */
  bytes: number;
  of: number;
  /** Chunks stored so far, and the next chunk's ordinal. */
  chunks: number;
  ordinal: number;
  /** The byte this attempt started from (0 for a fresh start). */
  resumedFrom: number;
  resume?: StreamResume;
}

/** Whether a file is streamed rather than extracted whole. */
export function streams(
  cfg: Config,
  providerName: string,
  file: Pick<SourceFile, 'name' | 'mimeType' | 'size'>,
): boolean {
  const provider = PROVIDERS.find((p) => p.name === providerName);
  if (provider?.streamSections === undefined || file.size < cfg.worker.streamMinBytes) return false;
  return provider.canStream?.(file) ?? true;
}

export function providerVersionOf(providerName: string): string | undefined {
  return PROVIDERS.find((p) => p.name === providerName)?.version;
}

/**
 * The checkpoint an earlier attempt of this activity left in its last heartbeat, if it belongs to this
 * file version, provider and chunk size.
 */
export function previousCheckpoint(
  cfg: Config,
  input: IngestFileInput,
  file: RegisteredFile,
): StreamResume | undefined {
  const details = Context.current().info.heartbeatDetails as Partial<StreamProgress> | undefined;
  const resume = details?.resume;
  if (!resume || typeof resume !== 'object') return undefined;
  const matches =
    resume.version === input.version &&
    resume.etag === file.etag &&
    resume.provider === file.provider &&
    resume.maxTokens === cfg.chunking.maxTokens &&
    resume.overlapTokens === cfg.chunking.overlapTokens &&
    typeof resume.source?.byte === 'number' &&
    typeof resume.chunker?.emitted === 'number';
  return matches ? resume : undefined;
}

export interface StreamDeps {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
  extractionPool: ExtractionPool;
}

export interface StreamRequest {
  input: IngestFileInput;
  file: RegisteredFile;
  source: SourceFile;
  contentHash: string;
  ctx: ProviderContext;
  /** The tier's extraction process ceiling. */
  memoryMb: number;
  memoryVariable: string;
  resume: StreamResume | undefined;
  /** Under the file's lock: whether S3 still holds the registered object. */
  check: () => Promise<Superseded | undefined>;
  wait: LockWait;
}

function partKey(prefix: string, part: number): string {
  return `${prefix}/extracted/part-${String(part).padStart(6, '0')}.jsonl`;
}

/** Section text and heading as PostgreSQL can store them (see domain/clean-text.ts). */
function clean(section: ExtractedSection): ExtractedSection {
  const text = cleanText(section.text);
  const heading = section.heading === undefined ? undefined : cleanText(section.heading);
  return text === section.text && heading === section.heading ? section : { ...section, text, heading };
}

/** Streams one file through extraction, chunking and batched stores (see the module comment). */
export async function streamFile(deps: StreamDeps, request: StreamRequest): Promise<ExtractionResult> {
  const { cfg, pool, s3 } = deps;
  const { input, file, source, resume } = request;
  const { event } = input;
  const activity = Context.current();
  const { cancellationSignal: signal, log } = activity;
  const workflow = activity.info.workflowExecution;
  const derivedBucket = cfg.s3.derivedBucket;
  const prefix = derivedPrefix(event.tenantId, file.fileId, input.version);
  const providerVersion = providerVersionOf(file.provider);
  const started = Date.now();

  const chunker = new SectionChunker<StreamCheckpoint | null>(cfg.chunking, resume?.chunker);
  let before: StreamCheckpoint | null = resume?.source ?? { byte: 0 };
  let nextSection = resume?.chunker.nextSection ?? 0;
  let tokens = resume?.tokens ?? 0;
  let characters = resume?.characters ?? 0;
  let replaced = resume?.replaced ?? 0;
  let parts = resume?.parts ?? 0;
  let stored = resume?.chunker.emitted ?? 0;
  let bytes = resume?.source.byte ?? 0;
  let committed = resume;
  const resumedFrom = resume?.source.byte ?? 0;
  /** Chunker quiet points with the totals at their moment, newest last (only the newest is kept). */
  let quiet:
    | { state: ChunkerState; before: StreamCheckpoint | null; tokens: number; characters: number }
    | undefined;
  let pending: Chunk[] = [];
  let waiting: { id: number; line: string; chars: number }[] = [];
  let waitingBytes = 0;

  let lastBeat = 0;
  const progress = (): StreamProgress => ({
    step: 'stream',
    bytes,
    of: source.size,
    chunks: stored,
    ordinal: chunker.emitted,
    resumedFrom,
    ...(committed ? { resume: committed } : {}),
  });
  const heartbeat = (force = false) => {
    const now = Date.now();
    if (!force && now - lastBeat < HEARTBEAT_EVERY_MS) return;
    lastBeat = now;
    activity.heartbeat(progress());
  };
  let sliceStart = Date.now();
  const pause = async () => {
    if (Date.now() - sliceStart < 100) return;
    heartbeat();
    await yieldToEventLoop();
    signal.throwIfAborted();
    sliceStart = Date.now();
  };

  if (resume) {
    log.info('resuming streamed extraction from its checkpoint', {
      path: event.path,
      byte: resume.source.byte,
      ordinal: resume.chunker.emitted,
      parts: resume.parts,
    });
  }
  heartbeat(true);

  const batchInput: StreamBatchInput = {
    fileId: file.fileId,
    jobId: file.jobId,
    event,
    version: input.version,
    provider: file.provider,
    ...(providerVersion ? { providerVersion } : {}),
    ...(file.lastModified ? { resourceTimestamp: file.lastModified } : {}),
    ...(workflow ? { claim: { runId: workflow.runId, attempt: activity.info.attempt } } : {}),
    check: request.check,
    wait: request.wait,
  };

  /** Writes the waiting sections with ids below `below` as the next part. */
  const writePart = async (below: number) => {
    const taken = waiting.filter((s) => s.id < below);
    if (taken.length === 0) return;
    waiting = waiting.filter((s) => s.id >= below);
    waitingBytes = waiting.reduce((n, s) => n + s.line.length, 0);
    parts++;
    await ensureBucket(s3, derivedBucket);
    await s3.send(
      new PutObjectCommand({
        Bucket: derivedBucket,
        Key: partKey(prefix, parts),
        Body: `${taken.map((s) => s.line).join('\n')}\n`,
        ContentType: 'application/x-ndjson',
      }),
      { abortSignal: signal },
    );
  };

  let superseded: string | undefined;
  let lastCheckpoint = 0;
  /** Stores the pending chunks; then, now and then, makes the newest quiet point the checkpoint. */
  const flush = async (final = false) => {
    if (pending.length > 0) {
      const batch = pending;
      pending = [];
      const result = await storeStreamBatch(pool, batchInput, batch);
      if ('superseded' in result) {
        superseded = result.superseded;
        return;
      }
      stored += result.stored;
      replaced += result.replaced;
    }
    if (final || !quiet || quiet.before === null || Date.now() - lastCheckpoint < CHECKPOINT_EVERY_MS) return;
    // Everything emitted is stored now, so the newest quiet point is durable once its sections are in S3.
    await writePart(quiet.state.nextSection);
    committed = {
      version: input.version,
      ...(file.etag !== undefined ? { etag: file.etag } : {}),
      provider: file.provider,
      maxTokens: cfg.chunking.maxTokens,
      overlapTokens: cfg.chunking.overlapTokens,
      source: quiet.before,
      chunker: quiet.state,
      tokens: quiet.tokens,
      characters: quiet.characters,
      replaced,
      parts,
    };
    lastCheckpoint = Date.now();
    heartbeat(true);
  };

  const take = (chunk: Chunk | undefined) => {
    if (!chunk) return;
    pending.push(chunk);
    tokens += chunk.tokenCount;
    const point = chunker.quiet;
    if (point && point.state.emitted === chunk.ordinal + 1 && point.state !== quiet?.state) {
      // Taken as the chunk that ended there was emitted: the totals up to it are the current ones, less
      // the characters of the sections from the quiet point on (they are read again after a resume).
      const again = waiting.filter((s) => s.id >= point.state.nextSection).reduce((n, s) => n + s.chars, 0);
      quiet = { state: point.state, before: point.before ?? null, tokens, characters: characters - again };
    }
  };

  const peak: StreamPeak = {};
  const stream = streamInSandbox(
    deps.extractionPool,
    file.provider,
    source,
    { ...request.ctx, heartbeat: () => heartbeat() },
    { memoryMb: request.memoryMb, memoryVariable: request.memoryVariable },
    resume && (resume.source.byte > 0 || resume.source.state) ? resume.source : undefined,
    peak,
  );
  let pageCount: number | undefined;
  try {
    for (let next = await stream.next(); ; next = await stream.next()) {
      if (next.done) {
        pageCount = next.value.pageCount;
        break;
      }
      const { checkpoint } = next.value;
      const section = clean(next.value.section);
      const text = section.text.trim();
      if (text) {
        const line = JSON.stringify(section);
        waiting.push({ id: nextSection, line, chars: text.length });
        waitingBytes += line.length;
        characters += text.length;
        for (const step of chunker.add(section, before)) {
          take(step);
          await pause();
        }
        nextSection++;
      }
      before = checkpoint ?? null;
      if (checkpoint) bytes = checkpoint.byte;
      if (pending.length >= STORE_BATCH) await flush();
      if (superseded) break;
      // Sections that no resume can ask for again go to S3 when enough of them wait.
      if (waitingBytes >= PART_BYTES) await writePart(chunker.oldestPending);
      await pause();
    }
    if (!superseded) {
      for (const step of chunker.finish()) take(step);
      await flush(true);
    }
    if (!superseded) {
      await writePart(Number.POSITIVE_INFINITY);
      await writeManifest(s3, derivedBucket, prefix, {
        provider: file.provider,
        providerVersion,
        parts,
        sections: nextSection,
        characters,
        chunks: chunker.emitted,
      });
      await dropStaleParts(s3, derivedBucket, prefix, parts);
    }
  } finally {
    // Ends the extraction process's job if the loop stopped early (superseded, cancelled, failed).
    await stream.return(undefined as never).catch(() => undefined);
  }
  bytes = superseded ? bytes : source.size;
  heartbeat(true);
  log.info(superseded ? 'streamed extraction stopped: superseded' : 'file extracted as a stream', {
    path: event.path,
    provider: file.provider,
    bytes: source.size,
    resumedFrom,
    sections: nextSection,
    chunks: chunker.emitted,
    parts,
    seconds: (Date.now() - started) / 1000,
    extractPeakRssMb: peak.peakRssMb,
    ...(superseded ? { reason: superseded } : {}),
  });
  return {
    extractedKey: `${prefix}/extracted/manifest.json`,
    provider: file.provider,
    ...(pageCount !== undefined ? { pageCount } : {}),
    sectionCount: nextSection,
    characters,
    contentHash: request.contentHash,
    ...(providerVersion ? { providerVersion } : {}),
    streamed: {
      chunkCount: chunker.emitted,
      tokenCount: tokens,
      resourcesReplaced: replaced,
      ...(superseded ? { superseded } : {}),
    },
  };
}

async function writeManifest(
  s3: S3Client,
  bucket: string,
  prefix: string,
  manifest: Record<string, unknown>,
) {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${prefix}/extracted/manifest.json`,
      Body: JSON.stringify(manifest),
      ContentType: 'application/json',
    }),
  );
}

/** Parts past the last one written (left by an attempt that cut its parts elsewhere before it died). */
async function dropStaleParts(s3: S3Client, bucket: string, prefix: string, parts: number): Promise<void> {
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/extracted/part-` }),
  );
  const stale = (listed.Contents ?? []).flatMap((o) => {
    const n = Number(/part-(\d+)\.jsonl$/.exec(o.Key ?? '')?.[1] ?? 0);
    return n > parts && o.Key ? [{ Key: o.Key }] : [];
  });
  if (stale.length > 0) {
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: stale, Quiet: true } }));
  }
}
