/**
 * Extraction in a separate process, so no single file can take the worker down. A provider that meets a
 * file expanding to gigabytes (past the limits the providers check themselves, or through a door they
 * do not watch) fills the memory of a child process, not the worker's:
 *
 * - the child (child.ts) runs with a V8 heap ceiling, and the worker's watchdog (memory-watch.ts) kills
 *   it when its resident memory crosses the same ceiling;
 * - a child stopped that way is a non-retryable LimitExceededError naming the ceiling, its variable and
 *   the file; a child that dies otherwise is a retryable error with its exit code or signal;
 * - the child writes the ExtractedDocument to a JSON file and sends only a summary, heartbeats (which the
 *   worker passes on to Temporal) and log lines over IPC; a cancelled activity kills its child.
 *
 * The processes come from the worker's pool (pool.ts), kept between files.
 */
import type { ProviderContext, SourceFile } from '../../../providers/index.js';
import { type ExtractionProcess, HEAP_EXHAUSTED } from './extraction-process.js';
import { type MemoryCeiling, memoryLimitError, watchMemory } from './memory-watch.js';
import type { ExtractionPool } from './pool.js';
import { resetPeak } from './proc-status.js';
import {
  type ChildMessage,
  type ExtractionSummary,
  type ExtractJob,
  logFromChild,
  revive,
} from './protocol.js';

export interface SandboxOptions extends MemoryCeiling {
  /** Where the ExtractedDocument is written as JSON (a file in the activity's work folder). */
  outputPath: string;
}

export interface SandboxExtraction extends ExtractionSummary {
  /** The ExtractedDocument as JSON: options.outputPath. */
  path: string;
  /** Peak resident memory of the extraction process during this file, MiB (no /proc: undefined). */
  peakRssMb?: number;
  durationMs: number;
  /** This file started a new extraction process (the first one, or after one was killed or retired). */
  forked: boolean;
}

const HEARTBEAT_EVERY_MS = 5000;

/**
 * Extracts `file` with the named provider in one of `pool`'s extraction processes, like extractFile (same
 * limits, same errors), but the ExtractedDocument goes to `options.outputPath` as JSON and only its
 * summary comes back. A file that makes the process use more than `options.memoryMb` MiB is stopped
 * there with a LimitExceededError; cancelling `ctx.signal` kills the process and rejects with the
 * signal's reason.
 */
export async function extractInSandbox(
  pool: ExtractionPool,
  providerName: string,
  file: SourceFile,
  ctx: ProviderContext,
  options: SandboxOptions,
): Promise<SandboxExtraction> {
  const { signal } = ctx;
  signal.throwIfAborted();
  const started = Date.now();
  const { process: proc, forked } = pool.acquire(options.memoryMb);
  let reusable = false;
  try {
    // A process starting on a busy machine can take longer than the heartbeat timeout (seen: 40 s on two
    // loaded cores); without a heartbeat meanwhile the activity would time out and retry for ever.
    const starting = setInterval(
      () => ctx.heartbeat({ sandbox: 'starting', seconds: Math.round((Date.now() - started) / 1000) }),
      HEARTBEAT_EVERY_MS,
    );
    try {
      await abortable(proc.ready, signal, () => proc.kill());
    } finally {
      clearInterval(starting);
    }
    proc.jobs += 1;
    const outcome = await runJob(proc, providerName, file, ctx, options);
    reusable = outcome.reusable;
    if ('error' in outcome) throw outcome.error;
    return {
      ...outcome.summary,
      path: options.outputPath,
      ...(outcome.peakKb !== undefined ? { peakRssMb: Math.round(outcome.peakKb / 1024) } : {}),
      durationMs: Date.now() - started,
      forked,
    };
  } finally {
    pool.release(proc, reusable);
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason);
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

type JobResult = { reusable: boolean; summary: ExtractionSummary } | { reusable: boolean; error: unknown };
type JobOutcome = JobResult & { peakKb?: number | undefined };

function runJob(
  proc: ExtractionProcess,
  providerName: string,
  file: SourceFile,
  ctx: ProviderContext,
  options: SandboxOptions,
): Promise<JobOutcome> {
  const { signal } = ctx;
  const id = proc.newJobId();
  const started = Date.now();
  resetPeak(proc.pid);

  return new Promise<JobOutcome>((resolve) => {
    let lastProgress: unknown;
    let settled = false;

    const watch = watchMemory(proc, options);
    // The worker's own heartbeat while the child works: liveness for a step that cannot report progress
    // (mammoth converting a large document), carrying the last progress the child did report.
    const beat = setInterval(
      () =>
        ctx.heartbeat(
          lastProgress ?? { sandbox: 'extracting', seconds: Math.round((Date.now() - started) / 1000) },
        ),
      HEARTBEAT_EVERY_MS,
    );

    const finish = (outcome: JobResult) => {
      if (settled) return;
      settled = true;
      watch.stop();
      clearInterval(beat);
      signal.removeEventListener('abort', onAbort);
      proc.child.off('message', onMessage);
      proc.child.off('close', onExit);
      resolve({ ...outcome, peakKb: watch.peakKb });
    };
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'ready' || message.id !== id) return;
      switch (message.type) {
        case 'heartbeat':
          lastProgress = message.details;
          ctx.heartbeat(message.details);
          break;
        case 'log':
          logFromChild(ctx, message);
          break;
        case 'done':
          watch.sample();
          finish({ reusable: true, summary: message.summary });
          break;
        case 'failed':
          watch.sample();
          finish({ reusable: true, error: revive(message.error) });
          break;
      }
    };
    const onExit = () => {
      if (signal.aborted) {
        finish({ reusable: false, error: signal.reason });
        return;
      }
      const { stoppedAtKb, peakKb } = watch;
      const heap = HEAP_EXHAUSTED.test(proc.outputText());
      if (stoppedAtKb !== undefined || heap) {
        const byHeap = heap && stoppedAtKb === undefined;
        ctx.log.warn('extraction stopped at its memory ceiling', {
          file: file.name,
          provider: providerName,
          memoryMb: options.memoryMb,
          ...(stoppedAtKb !== undefined ? { rssMb: Math.round(stoppedAtKb / 1024) } : {}),
          ...(peakKb !== undefined ? { peakRssMb: Math.round(peakKb / 1024) } : {}),
          by: byHeap ? 'v8-heap-limit' : 'rss-watchdog',
          pid: proc.pid,
          seconds: (Date.now() - started) / 1000,
        });
        const what = byHeap ? ' (its JavaScript heap)' : '';
        finish({ reusable: false, error: memoryLimitError(file.name, options, what) });
        return;
      }
      finish({ reusable: false, error: proc.endedError(file.name) });
    };
    const onAbort = () => {
      proc.kill();
      finish({ reusable: false, error: signal.reason });
    };

    proc.child.on('message', onMessage);
    proc.child.once('close', onExit);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const job: ExtractJob = {
      type: 'extract',
      id,
      provider: providerName,
      file,
      config: ctx.config,
      outputPath: options.outputPath,
    };
    proc.child.send(job, (error) => {
      if (error && !proc.alive) return; // the exit handler reports it
      if (error) finish({ reusable: false, error });
    });
  });
}
