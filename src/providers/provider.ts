/**
 * The shape every content provider has: a descriptor with the data the catalog chooses by
 * (src/domain/provider-catalog.ts) and an `extract` that reads one local file. Providers get everything
 * from the outside world through `ctx`, so the same code runs in an activity, a test or a bench.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ExtractedDocument, ExtractedSection } from '../domain/content.js';
import type { ProviderDescriptor } from '../domain/provider-catalog.js';
import { DEFAULT_LIMITS, type ExtractionLimits } from './limits.js';
import type { MediaConfig } from './media/settings.js';

export type { ExtractionLimits, LimitName } from './limits.js';

/** A downloaded file: where it is now, and what it was called where it came from. */
export interface SourceFile {
  /** Local path to read (a temp file in activities). */
  path: string;
  /** The real file name ("report.pdf"): for messages and for formats told apart by extension. */
  name: string;
  mimeType?: string;
  size: number;
}

export interface ProviderLog {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/**
 * Settings providers read, chunking aside. OCR and transcription settings are added here as fields when
 * a provider needs them.
 */
export interface ProviderConfig {
  /** What one file may expand to (src/providers/limits.ts); workers set them per storage tier. */
  limits: ExtractionLimits;
  /**
   * A folder where container formats (ZIP, EML) write the files they hold, listed in the document's
   * `members`. Absent: containers list their members but write none (tests, tools).
   */
  memberDir?: string;
  /** Outside tools (ffmpeg, tesseract, pdftoppm) and transcription; absent: media/settings.ts defaults. */
  media?: MediaConfig;
}

export interface ProviderContext {
  /** Aborted when the work is cancelled: long loops check it and stop with its reason. */
  signal: AbortSignal;
  /** Liveness and progress ("{ page: 3, of: 8 }"); callers throttle it, so providers may call it often. */
  heartbeat(details?: unknown): void;
  log: ProviderLog;
  config: ProviderConfig;
}

/**
 * Where a section stream can start again: a byte offset in the file at a section boundary, plus whatever
 * the provider must carry across it (a heading path, a CSV header, a page number). Small and plain JSON:
 * it travels in Temporal heartbeat details, and a retry after a dead worker passes it back as `from`.
 */
export interface StreamCheckpoint {
  /** Bytes of the file consumed before the boundary (also the progress figure). */
  byte: number;
  state?: Record<string, unknown>;
}

/**
 * One section of a stream. `checkpoint`, when given, is the position right after this section: a stream
 * started `from` it yields exactly the sections that follow this one. Sections without one cannot be
 * resumed after (the consumer resumes from an earlier checkpoint and reads them again).
 */
export interface StreamItem {
  section: ExtractedSection;
  checkpoint?: StreamCheckpoint;
}

/** What a streamed extraction reports at its end (the document's metadata and page count, if any). */
export interface StreamSummary {
  pageCount?: number;
  metadata?: Record<string, unknown>;
}

export interface ContentProvider extends ProviderDescriptor {
  /** Bumped when the provider's output changes for the same input, so stored extractions can be told apart. */
  readonly version: string;
  extract(file: SourceFile, ctx: ProviderContext): Promise<ExtractedDocument>;
  /**
   * Optional streaming form of `extract`, for files too large to hold (src/activities/ingest/streaming.ts):
   * the same sections in the same order, read incrementally in bounded memory (no section longer than a
   * bounded number of characters), starting at `from` when given. The generator's return value is the
   * summary. Limits apply as in `extract`; the extracted-character limit counts from the file's start
   * (`from.byte` is not text, so providers count characters in their checkpoint state where they need to).
   */
  streamSections?(
    file: SourceFile,
    ctx: ProviderContext,
    from?: StreamCheckpoint,
  ): AsyncGenerator<StreamItem, StreamSummary | undefined, undefined>;
  /**
   * Whether `streamSections` can read this file (absent: every file it is chosen for). The structured
   * provider streams JSON Lines but not a JSON or YAML document, which is one value.
   */
  canStream?(file: Pick<SourceFile, 'name' | 'mimeType'>): boolean;
}

const silent: ProviderLog = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A context for work outside Temporal (tests, benches): never aborted unless given a signal, quiet, with
 * the small tier's default limits.
 */
export function localContext(overrides: Partial<ProviderContext> = {}): ProviderContext {
  return {
    signal: new AbortController().signal,
    heartbeat: () => undefined,
    log: silent,
    config: { limits: DEFAULT_LIMITS },
    ...overrides,
  };
}

/** A local file as a SourceFile, named after its own base name. */
export async function localFile(path: string, mimeType?: string): Promise<SourceFile> {
  const { size } = await stat(path);
  return { path, name: basename(path), size, ...(mimeType ? { mimeType } : {}) };
}

/**
 * The file's bytes, read under the signal. An aborted read fails with the signal's reason (Temporal's
 * CancelledFailure in activities) rather than fs's generic AbortError, like every other abort check.
 */
export async function readSourceFile(file: SourceFile, signal: AbortSignal): Promise<Buffer> {
  try {
    return await readFile(file.path, { signal });
  } catch (err) {
    signal.throwIfAborted();
    throw err;
  }
}
