/**
 * ingestSmallFile: a small file's register → download → extract → chunk → store in one activity.
 *
 * The four steps cost four activity round trips through Temporal and, per file, HEAD + GET of the source,
 * PUT + GET of extracted.json, PUT + GET of chunks.jsonl and the HEAD check at store time. For a small
 * file that overhead is most of the work (issue 15: 0.63× the no-op ceiling). Here the document stays in
 * the activity's work folder (written there by the extraction process, so its memory ceiling holds), the
 * chunks stay in memory, and S3 sees HEAD (register) + GET (download) + HEAD (the check under the file's
 * lock at store time, needed: the object may be deleted or overwritten meanwhile). Nothing reads the
 * derived objects of a finished file, so none are written.
 *
 * The same shared pipeline as the steps does the work (pipeline.ts): the same rows, the same lock, claim
 * and etag checks, the same logs. A retry runs the whole activity again: registering is an upsert, the
 * store replaces the file's rows, and the etag is the one the first attempt registered (kept in the job).
 */
import { readFile, rm } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import type { Config } from '../../config/config.js';
import type { Chunk } from '../../domain/chunking.js';
import type { ExtractedDocument } from '../../domain/content.js';
import type { IngestFileInput, RegisteredFile, SmallFileResult } from '../../domain/ingest.js';
import { createWorkDir } from '../work-dirs.js';
import type { IngestPipeline } from './pipeline.js';
import { providerVersionOf, streams } from './streaming.js';

/** The shared pipeline's functions that this path runs in sequence (pipeline.ts). */
export type SmallFileSteps = Pick<
  IngestPipeline,
  'register' | 'download' | 'extractWhole' | 'chunkSections' | 'storeWhole'
>;

/**
 * Why a registered file takes the four steps instead, or undefined when it is for this path. Decided
 * here, from S3's size (HEAD) and the worker's configuration, and handed to the workflow as a result, so
 * the workflow's choice is deterministic without it reading configuration.
 */
export function stepsReason(cfg: Config, file: RegisteredFile, fileName: string): string | undefined {
  const max = cfg.worker.singleActivityMaxBytes;
  if (max === 0) return 'the one-activity path is off (P8FS_SINGLE_ACTIVITY_MAX_BYTES=0)';
  if (file.size > max)
    return `${file.size} bytes is above P8FS_SINGLE_ACTIVITY_MAX_BYTES (${max}): extracted, chunked and stored in steps`;
  if (streams(cfg, file.provider, { name: fileName, size: file.size, mimeType: file.mimeType }))
    return 'streamed (P8FS_STREAM_MIN_BYTES): extracted, chunked and stored as a resumable stream';
  // The chaos-testing aids hold or fail the extractText step by name: with them set, files take that step.
  if (cfg.worker.faultPauseExtractMs > 0 || cfg.worker.faultFailExtractAttempts > 0)
    return 'fault injection on extractText is set (P8FS_FAULT_PAUSE_EXTRACT_MS / P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS)';
  return undefined;
}

export async function ingestSmallFile(
  cfg: Config,
  steps: SmallFileSteps,
  input: IngestFileInput,
): Promise<SmallFileResult> {
  const { log, cancellationSignal: signal, info } = Context.current();
  const file = await steps.register(input, { pinEarlierEtag: info.attempt > 1 });
  const reason = stepsReason(cfg, file, input.event.fileName);
  if (reason !== undefined) {
    log.debug('registered; the file takes the steps', { path: input.event.path, reason });
    return { path: 'steps', file, reason };
  }
  const workDir = await createWorkDir();
  try {
    const { source, sha256 } = await steps.download(input, file, workDir);
    Context.current().heartbeat({ step: 'extract', bytes: source.size });
    const { extracted, memberFiles } = await steps.extractWhole(input, file, source, workDir, source.size);
    // The document is at most a small file's text (the same whole read chunkText does from S3).
    const document = JSON.parse(await readFile(extracted.path, 'utf8')) as ExtractedDocument;
    await rm(extracted.path, { force: true });
    signal.throwIfAborted();
    const chunks: Chunk[] = [];
    const tokenCount = await steps.chunkSections(
      document.sections,
      (chunk) => {
        chunks.push(chunk);
      },
      () => ({ step: 'chunk', chunks: chunks.length }),
    );
    const providerVersion = providerVersionOf(extracted.provider);
    const stored = await steps.storeWhole(
      input,
      file,
      {
        provider: extracted.provider,
        pageCount: extracted.pageCount,
        contentHash: sha256,
        ...(providerVersion ? { providerVersion } : {}),
      },
      chunks,
      chunks.length,
      false,
    );
    return {
      path: 'one-activity',
      file,
      provider: extracted.provider,
      ...(extracted.pageCount !== undefined ? { pageCount: extracted.pageCount } : {}),
      chunkCount: chunks.length,
      tokenCount,
      resourcesStored: stored.resourcesStored,
      resourcesReplaced: stored.resourcesReplaced,
      ...(memberFiles > 0 ? { memberFiles } : {}),
      ...(stored.superseded !== undefined ? { superseded: stored.superseded } : {}),
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
