/**
 * The extraction process: forked by extraction-process.ts with a V8 heap ceiling, it runs one provider
 * `extract` at a time and writes the ExtractedDocument as JSON to the path it was given; over IPC it sends
 * only progress, log lines and a summary, so the worker never holds a document in its own memory. It
 * imports providers and domain code only (no Temporal, no clients), and exits when the worker is gone.
 */

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { ExtractedDocument } from '../../../domain/content.js';
import { errorText, NonRetryableError, UnsupportedFileTypeError } from '../../../domain/errors.js';
import {
  extractFile,
  PROVIDERS,
  type ProviderConfig,
  type ProviderContext,
  type ProviderLog,
} from '../../../providers/index.js';
import { exhausted, isResourceExhaustion } from '../../../providers/limits.js';
import type { ContentProvider, StreamItem, StreamSummary } from '../../../providers/provider.js';
import {
  type ChildMessage,
  type ExtractionSummary,
  type ExtractJob,
  type LogLevel,
  type ParentMessage,
  type StreamJob,
  serializeError,
} from './protocol.js';

process.title = 'p8fs-extract';

function send(message: ChildMessage): void {
  if (process.connected) process.send?.(message);
}

// Without its worker nothing is left to do: exit rather than linger (a SIGKILLed worker skips every
// cleanup, but its IPC channel still closes).
process.on('disconnect', () => process.exit(0));

let current: number | undefined;
// A stray rejection inside a library (pdfjs cleaning up a destroyed document) must not end the process.
process.on('unhandledRejection', (reason) => {
  if (current !== undefined) {
    send({
      type: 'log',
      id: current,
      level: 'warn',
      message: 'unhandled rejection in extraction',
      meta: { reason: errorText(reason) },
    });
  }
});

process.on('message', (message: ParentMessage) => {
  if (message.type === 'extract') void run(message);
  else if (message.type === 'stream') void runStream(message);
  else if (message.type === 'ack') acknowledged(message.id, message.seq);
});

const HEARTBEAT_EVERY_MS = 250;

function contextFor(job: { id: number; config: ProviderConfig }): ProviderContext {
  let lastBeat = 0;
  const logAt = (level: LogLevel) => (message: string, meta?: Record<string, unknown>) =>
    send({ type: 'log', id: job.id, level, message, ...(meta ? { meta: plain(meta) } : {}) });
  const log: ProviderLog = {
    debug: logAt('debug'),
    info: logAt('info'),
    warn: logAt('warn'),
    error: logAt('error'),
  };
  const ctx: ProviderContext = {
    // Never aborted here: the worker cancels an extraction by killing this process.
    signal: new AbortController().signal,
    heartbeat(details) {
      const now = Date.now();
      if (now - lastBeat < HEARTBEAT_EVERY_MS) return;
      lastBeat = now;
      send({ type: 'heartbeat', id: job.id, details: plain(details) });
    },
    log,
    config: job.config,
  };
  return ctx;
}

function failed(id: number, error: unknown): void {
  send({ type: 'failed', id, error: serializeError(error) });
}

// Streamed jobs: the highest batch the worker acknowledged, and who waits for the next acknowledgement.
const acks = new Map<number, { seq: number; wake?: () => void }>();

function acknowledged(id: number, seq: number): void {
  const entry = acks.get(id);
  if (!entry) return;
  entry.seq = Math.max(entry.seq, seq);
  entry.wake?.();
}

/** Items are sent in batches of about this many characters of text (or STREAM_BATCH_ITEMS items). */
const STREAM_BATCH_CHARS = 512 * 1024;
const STREAM_BATCH_ITEMS = 512;
/** Batches sent but not yet acknowledged before the child waits. */
const STREAM_WINDOW = 2;

async function runStream(job: StreamJob): Promise<void> {
  current = job.id;
  const ctx = contextFor(job);
  const entry: { seq: number; wake?: () => void } = { seq: 0 };
  acks.set(job.id, entry);
  let seq = 0;
  let batch: StreamItem[] = [];
  let chars = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    seq++;
    send({ type: 'items', id: job.id, seq, items: batch });
    batch = [];
    chars = 0;
    while (seq - entry.seq >= STREAM_WINDOW) {
      await new Promise<void>((resolve) => {
        entry.wake = resolve;
      });
      entry.wake = undefined;
    }
  };
  try {
    const provider = PROVIDERS.find((p) => p.name === job.provider) as ContentProvider | undefined;
    if (!provider?.streamSections) {
      throw new UnsupportedFileTypeError(`content provider "${job.provider}" cannot stream`);
    }
    const stream = provider.streamSections(job.file, ctx, job.from);
    let summary: StreamSummary | undefined;
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        summary = next.value ?? undefined;
        break;
      }
      batch.push(next.value);
      chars += next.value.section.text.length;
      if (chars >= STREAM_BATCH_CHARS || batch.length >= STREAM_BATCH_ITEMS) await flush();
    }
    await flush();
    send({ type: 'streamed', id: job.id, summary: summary ?? {} });
  } catch (error) {
    const err =
      !(error instanceof NonRetryableError) && isResourceExhaustion(error)
        ? exhausted(job.file.name, error)
        : error;
    failed(job.id, err);
  } finally {
    acks.delete(job.id);
    current = undefined;
  }
}

async function run(job: ExtractJob): Promise<void> {
  current = job.id;
  const ctx = contextFor(job);
  try {
    const document = await extractFile(job.provider, job.file, ctx);
    const summary = await writeDocument(document, job.outputPath);
    send({ type: 'done', id: job.id, summary });
  } catch (error) {
    failed(job.id, error);
  } finally {
    current = undefined;
  }
}

/** Values as JSON carries them (IPC drops what JSON cannot say). */
function plain(value: unknown): unknown {
  try {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  } catch {
    return String(value);
  }
}

/**
 * Writes the document as JSON.stringify would (same keys, same order), about a MiB at a time, so a large
 * document never becomes one string; a small one is written with one call.
 */
async function writeDocument(document: ExtractedDocument, path: string): Promise<ExtractionSummary> {
  let out: WriteStream | undefined;
  let failure: Promise<never> | undefined;
  let pending = '';
  let bytes = 0;
  const write = async (text: string) => {
    pending += text;
    if (pending.length < 1024 * 1024) return;
    if (!out) {
      const stream = createWriteStream(path);
      failure = new Promise<never>((_, reject) => stream.once('error', reject));
      failure.catch(() => undefined);
      out = stream;
    }
    bytes += Buffer.byteLength(pending);
    const drained = out.write(pending);
    pending = '';
    if (!drained) await Promise.race([once(out, 'drain'), failure]);
  };
  let characters = 0;
  await write(`{"provider":${JSON.stringify(document.provider)}`);
  if (document.pageCount !== undefined) await write(`,"pageCount":${JSON.stringify(document.pageCount)}`);
  await write(',"sections":[');
  for (const [index, section] of document.sections.entries()) {
    characters += section.text.length;
    await write(`${index > 0 ? ',' : ''}${JSON.stringify(section)}`);
  }
  await write(`],"metadata":${JSON.stringify(document.metadata)}}`);
  bytes += Buffer.byteLength(pending);
  if (out) {
    out.end(pending);
    await Promise.race([once(out, 'finish'), failure]);
  } else {
    await writeFile(path, pending);
  }
  return {
    provider: document.provider,
    ...(document.pageCount !== undefined ? { pageCount: document.pageCount } : {}),
    sectionCount: document.sections.length,
    characters,
    bytes,
    ...(document.members?.length ? { members: document.members } : {}),
  };
}

send({ type: 'ready' });
