/**
 * The extraction process: forked by extraction-sandbox.ts with a V8 heap ceiling, it runs one provider
 * `extract` at a time and writes the ExtractedDocument as JSON to the path it was given; over IPC it sends
 * only progress, log lines and a summary, so the worker never holds a document in its own memory. It
 * imports providers and domain code only (no Temporal, no clients), and exits when the worker is gone.
 */

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { ExtractedDocument } from '../../domain/content.js';
import { errorText } from '../../domain/errors.js';
import { extractFile, type ProviderContext, type ProviderLog } from '../../providers/index.js';
import type { ChildMessage, ExtractionSummary, ExtractJob, ParentMessage } from './extraction-sandbox.js';

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
});

const HEARTBEAT_EVERY_MS = 250;

async function run(job: ExtractJob): Promise<void> {
  current = job.id;
  let lastBeat = 0;
  const logAt =
    (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) =>
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
  try {
    const document = await extractFile(job.provider, job.file, ctx);
    const summary = await writeDocument(document, job.outputPath);
    send({ type: 'done', id: job.id, summary });
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const code = (err as { code?: unknown }).code;
    send({
      type: 'failed',
      id: job.id,
      error: {
        name: err.name,
        message: err.message,
        ...(err.stack ? { stack: err.stack } : {}),
        ...(typeof code === 'string' ? { code } : {}),
      },
    });
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
  };
}

send({ type: 'ready' });
