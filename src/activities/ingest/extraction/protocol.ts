/**
 * The messages between the worker and its extraction process (child.ts), over Node's IPC channel as JSON,
 * and the errors they carry: a child's error comes back as the same class, so Temporal sees the same type
 * and makes the same retry decision as if the provider had run in the worker.
 */
import type { ExtractedMember } from '../../../domain/content.js';
import { NON_RETRYABLE_ERRORS } from '../../../domain/errors.js';
import type { ProviderConfig, ProviderContext, SourceFile } from '../../../providers/index.js';
import type { StreamCheckpoint, StreamItem, StreamSummary } from '../../../providers/provider.js';

/** What the worker asks of its extraction process. */
export interface ExtractJob {
  type: 'extract';
  id: number;
  provider: string;
  file: SourceFile;
  config: ProviderConfig;
  /** Where the child writes the ExtractedDocument as JSON. */
  outputPath: string;
}

/**
 * A streamed extraction (stream.ts): the provider's `streamSections` from `from`, its items sent back in
 * batches; the child sends batch n+2 only after the worker acknowledged batch n, so at most two batches
 * are ever in flight and memory stays bounded however large the file.
 */
export interface StreamJob {
  type: 'stream';
  id: number;
  provider: string;
  file: SourceFile;
  config: ProviderConfig;
  from?: StreamCheckpoint;
}

export type ParentMessage = ExtractJob | StreamJob | { type: 'ack'; id: number; seq: number };

/** What the extraction reports back instead of the document: counts, and where the JSON is. */
export interface ExtractionSummary {
  provider: string;
  pageCount?: number;
  sectionCount: number;
  /** Characters of text over all sections. */
  characters: number;
  /** Bytes of the JSON file written. */
  bytes: number;
  /** Files the document holds (ZIP members, attachments), written into the job's memberDir. */
  members?: ExtractedMember[];
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'heartbeat'; id: number; details: unknown }
  | { type: 'log'; id: number; level: LogLevel; message: string; meta?: unknown }
  | { type: 'items'; id: number; seq: number; items: StreamItem[] }
  | { type: 'streamed'; id: number; summary: StreamSummary }
  | { type: 'done'; id: number; summary: ExtractionSummary }
  | { type: 'failed'; id: number; error: SerializedError };

/** An error as the child sends it: IPC carries JSON, not classes. */
export function serializeError(error: unknown): SerializedError {
  const err = error instanceof Error ? error : new Error(String(error));
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    ...(err.stack ? { stack: err.stack } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

const NON_RETRYABLE = new Map<string, new (message: string) => Error>(
  NON_RETRYABLE_ERRORS.map((ErrorClass) => [new ErrorClass('').name, ErrorClass]),
);

/** The child's error as the same class here, so Temporal sees the same type (and retry decision). */
export function revive(error: SerializedError): Error {
  const ErrorClass = NON_RETRYABLE.get(error.name);
  const revived = ErrorClass ? new ErrorClass(error.message) : new Error(error.message);
  if (!ErrorClass) revived.name = error.name;
  if (error.stack) revived.stack = error.stack;
  if (error.code) (revived as { code?: string }).code = error.code;
  return revived;
}

/** A child's log line, written to the activity's log. */
export function logFromChild(ctx: ProviderContext, message: Extract<ChildMessage, { type: 'log' }>): void {
  const meta = typeof message.meta === 'object' && message.meta !== null ? message.meta : undefined;
  ctx.log[message.level](message.message, meta as Record<string, unknown> | undefined);
}
