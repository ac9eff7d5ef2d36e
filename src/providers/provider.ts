/**
 * The shape every content provider has: a descriptor with the data the catalog chooses by
 * (src/domain/provider-catalog.ts) and an `extract` that reads one local file. Providers get everything
 * from the outside world through `ctx`, so the same code runs in an activity, a test or a bench.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ExtractedDocument } from '../domain/content.js';
import type { ProviderDescriptor } from '../domain/provider-catalog.js';
import { DEFAULT_LIMITS, type ExtractionLimits } from './limits.js';

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
}

export interface ProviderContext {
  /** Aborted when the work is cancelled: long loops check it and stop with its reason. */
  signal: AbortSignal;
  /** Liveness and progress ("{ page: 3, of: 8 }"); callers throttle it, so providers may call it often. */
  heartbeat(details?: unknown): void;
  log: ProviderLog;
  config: ProviderConfig;
}

export interface ContentProvider extends ProviderDescriptor {
  /** Bumped when the provider's output changes for the same input, so stored extractions can be told apart. */
  readonly version: string;
  extract(file: SourceFile, ctx: ProviderContext): Promise<ExtractedDocument>;
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
