/**
 * Extraction in a separate process, so no single file can take the worker down. A provider that meets a
 * file expanding to gigabytes (past the limits the providers check themselves, or through a door they
 * do not watch) fills the memory of a child process, not the worker's:
 *
 * - the child (extraction-child.ts) runs with a V8 heap ceiling (`--max-old-space-size`), and the worker
 *   polls its resident memory (VmRSS in /proc/<pid>/status) every 100 ms and SIGKILLs it above the
 *   ceiling, which also catches memory outside the V8 heap (buffers, typed arrays);
 * - a child stopped that way is a non-retryable LimitExceededError naming the ceiling, its variable and
 *   the file; a child that dies otherwise is a retryable error with its exit code or signal;
 * - the child writes the ExtractedDocument to a JSON file and sends only a summary, heartbeats (which the
 *   worker passes on to Temporal) and log lines over IPC; a cancelled activity kills its child.
 *
 * Children are kept between files (a pool per memory ceiling, started lazily, at most one per activity
 * running at once, replaced when one is killed, retired when idle or bloated), so a small file pays an
 * IPC round trip and a file write rather than a process start.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ExtractedMember } from '../../domain/content.js';
import { LimitExceededError, NON_RETRYABLE_ERRORS } from '../../domain/errors.js';
import type { ProviderConfig, ProviderContext, SourceFile } from '../../providers/index.js';
import type { StreamCheckpoint, StreamItem, StreamSummary } from '../../providers/provider.js';

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
 * A streamed extraction (extraction-stream.ts): the provider's `streamSections` from `from`, its items sent
 * back in batches; the child sends batch n+2 only after the worker acknowledged batch n, so at most two
 * batches are ever in flight and memory stays bounded however large the file.
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

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'heartbeat'; id: number; details: unknown }
  | {
      type: 'log';
      id: number;
      level: 'debug' | 'info' | 'warn' | 'error';
      message: string;
      meta?: unknown;
    }
  | { type: 'items'; id: number; seq: number; items: StreamItem[] }
  | { type: 'streamed'; id: number; summary: StreamSummary }
  | { type: 'done'; id: number; summary: ExtractionSummary }
  | { type: 'failed'; id: number; error: SerializedError };

export interface SandboxOptions {
  /** RSS and V8 heap ceiling of the extraction process, MiB. */
  memoryMb: number;
  /** The variable that set memoryMb, named in the error (P8FS_EXTRACT_MEMORY_MB). */
  memoryVariable?: string;
  /** Where the ExtractedDocument is written as JSON (a file in the activity's work folder). */
  outputPath: string;
  /** How often the RSS watchdog looks, ms. */
  pollMs?: number;
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

/** The extraction process died without being asked to (not a limit, not a cancellation): retried. */
export class ExtractionProcessError extends Error {
  override readonly name = 'ExtractionProcessError';
}

const POLL_MS = 100;
const HEARTBEAT_EVERY_MS = 5000;
/** An idle process is stopped after this long, giving its memory back. */
const IDLE_MS = 60_000;
/** A process that ends a file holding more than this share of its ceiling is retired, not reused. */
const RETIRE_SHARE = 0.5;
/** Processes are replaced after this many files, so slow leaks in libraries cannot add up. */
const MAX_JOBS = 500;
const OUTPUT_LINES = 40;

function childCommand(): { modulePath: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  // Built: dist/…/extraction-child.js beside this file. From source (tsx, vitest): the .ts sibling,
  // loaded through tsx like the worker itself.
  const fromSource = here.endsWith('.ts');
  const modulePath = join(dirname(here), `extraction-child.${fromSource ? 'ts' : 'js'}`);
  const execArgv = process.execArgv.filter(
    (arg) => !/^--(max-old-space-size|max_old_space_size|inspect|inspect-brk|cpu-prof|heap-prof)\b/.test(arg),
  );
  if (fromSource && !execArgv.some((arg) => arg.includes('tsx'))) {
    const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    execArgv.push('--import', loader);
  }
  return { modulePath, execArgv };
}

interface ProcStatus {
  rssKb: number;
  hwmKb: number;
}

/** VmRSS and VmHWM (peak) of a process, from /proc; undefined where there is no /proc or it is gone. */
export function readProcStatus(pid: number): ProcStatus | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
    const hwmKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
    return Number.isFinite(rssKb) ? { rssKb, hwmKb: Number.isFinite(hwmKb) ? hwmKb : rssKb } : undefined;
  } catch {
    return undefined;
  }
}

/** Resets a process's peak RSS (VmHWM) to its current RSS, so the peak of one file can be read. */
export function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Older kernels or no /proc: the peak then covers the process's whole life.
  }
}

export class ExtractionProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  jobs = 0;
  idleTimer: NodeJS.Timeout | undefined;
  private readonly output: string[] = [];
  private partial = '';

  constructor(readonly memoryMb: number) {
    const { modulePath, execArgv } = childCommand();
    this.child = fork(modulePath, [], {
      execArgv: [...execArgv, `--max-old-space-size=${memoryMb}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.on('data', (chunk: Buffer) => this.keep(chunk));
      // The pipes never keep the worker alive; the process and its channel do only while busy.
      (stream as Socket | null)?.unref?.();
    }
    // A send to a process that just died: its exit is handled below.
    this.child.on('error', () => undefined);
    // 'close', not 'exit': by then the output is read to its end, with the V8 message of a full heap.
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type !== 'ready') return;
        this.child.off('message', onMessage);
        resolve();
      };
      this.child.on('message', onMessage);
      void this.exited.then(() =>
        reject(
          new ExtractionProcessError(
            `the extraction process exited before it was ready (${this.exitText()})${this.lastOutput()}`,
          ),
        ),
      );
    });
    this.ready.catch(() => undefined);
  }

  /** A busy process keeps the worker's event loop alive (a pending extraction is work); an idle one does not. */
  busy(busy: boolean): void {
    const channel = this.child.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (busy) {
      this.child.ref();
      channel?.ref?.();
    } else {
      this.child.unref();
      channel?.unref?.();
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.connected;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  exitText(): string {
    if (this.child.signalCode) return `signal ${this.child.signalCode}`;
    return `exit code ${this.child.exitCode}`;
  }

  /** The process's last lines of output: what a crashing Node.js prints on its way out. */
  outputText(): string {
    return [...this.output, this.partial].join('\n');
  }

  lastOutput(): string {
    const lines = this.outputText()
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const last = lines.filter((l) => !/^\s*at /.test(l)).slice(-2);
    return last.length ? `: ${last.join(' / ')}` : '';
  }

  private keep(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = (lines.pop() ?? '').slice(-2000);
    this.output.push(...lines.map((l) => l.slice(0, 2000)));
    if (this.output.length > OUTPUT_LINES) this.output.splice(0, this.output.length - OUTPUT_LINES);
  }
}

const idle = new Map<number, ExtractionProcess[]>();
const everyProcess = new Set<ExtractionProcess>();
let exitHookInstalled = false;

export function acquire(memoryMb: number): { process: ExtractionProcess; forked: boolean } {
  const pool = idle.get(memoryMb) ?? [];
  while (pool.length > 0) {
    const candidate = pool.pop() as ExtractionProcess;
    clearTimeout(candidate.idleTimer);
    if (candidate.alive) {
      candidate.busy(true);
      return { process: candidate, forked: false };
    }
    everyProcess.delete(candidate);
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Children also leave on their own when the IPC channel closes; this makes it immediate.
    process.once('exit', () => {
      for (const child of everyProcess) child.kill();
    });
  }
  const created = new ExtractionProcess(memoryMb);
  created.busy(true);
  everyProcess.add(created);
  void created.exited.then(() => everyProcess.delete(created));
  return { process: created, forked: true };
}

export function release(proc: ExtractionProcess, reusable: boolean): void {
  const rss = reusable ? readProcStatus(proc.pid) : undefined;
  const bloated = rss !== undefined && rss.rssKb > proc.memoryMb * 1024 * RETIRE_SHARE;
  if (!reusable || !proc.alive || bloated || proc.jobs >= MAX_JOBS) {
    proc.kill();
    return;
  }
  const pool = idle.get(proc.memoryMb) ?? [];
  idle.set(proc.memoryMb, pool);
  proc.busy(false);
  pool.push(proc);
  proc.idleTimer = setTimeout(() => {
    const at = pool.indexOf(proc);
    if (at >= 0) pool.splice(at, 1);
    proc.kill();
  }, IDLE_MS);
  proc.idleTimer.unref();
}

/** Stops every extraction process (idle or busy); for tests and shutdown. */
export function stopExtractionProcesses(): void {
  for (const pool of idle.values()) {
    for (const proc of pool) clearTimeout(proc.idleTimer);
    pool.length = 0;
  }
  for (const proc of everyProcess) proc.kill();
}

/** Process ids of the extraction processes alive now (idle or busy); for tests and diagnostics. */
export function extractionProcessIds(): number[] {
  return [...everyProcess].filter((p) => p.alive).map((p) => p.pid);
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

export const HEAP_EXHAUSTED = /heap out of memory|Reached heap limit|Allocation failed - JavaScript heap/i;
let nextJobId = 1;
/** A fresh id for a job sent to an extraction process. */
export function newJobId(): number {
  return nextJobId++;
}

/**
 * Extracts `file` with the named provider in an extraction process, like extractFile (same limits, same
 * errors), but the ExtractedDocument goes to `options.outputPath` as JSON and only its summary comes
 * back. A file that makes the process use more than `options.memoryMb` MiB is stopped there with a
 * LimitExceededError; cancelling `ctx.signal` kills the process and rejects with the signal's reason.
 */
export async function extractInSandbox(
  providerName: string,
  file: SourceFile,
  ctx: ProviderContext,
  options: SandboxOptions,
): Promise<SandboxExtraction> {
  const { signal } = ctx;
  signal.throwIfAborted();
  const started = Date.now();
  const { process: proc, forked } = acquire(options.memoryMb);
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
    release(proc, reusable);
  }
}

export function abortable<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
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

type JobOutcome =
  | { reusable: boolean; summary: ExtractionSummary; peakKb?: number }
  | { reusable: boolean; error: unknown; peakKb?: number };

function runJob(
  proc: ExtractionProcess,
  providerName: string,
  file: SourceFile,
  ctx: ProviderContext,
  options: SandboxOptions,
): Promise<JobOutcome> {
  const { signal } = ctx;
  const id = newJobId();
  const ceilingKb = options.memoryMb * 1024;
  const memoryVariable = options.memoryVariable ?? 'P8FS_EXTRACT_MEMORY_MB';
  const started = Date.now();
  resetPeak(proc.pid);

  return new Promise<JobOutcome>((resolve) => {
    let peakKb: number | undefined;
    let stoppedAtKb: number | undefined;
    let lastProgress: unknown;
    let settled = false;

    const sample = () => {
      const status = readProcStatus(proc.pid);
      if (!status) return undefined;
      peakKb = Math.max(peakKb ?? 0, status.rssKb, status.hwmKb);
      return status;
    };
    const watchdog = setInterval(() => {
      const status = sample();
      if (status && status.rssKb > ceilingKb && stoppedAtKb === undefined) {
        stoppedAtKb = status.rssKb;
        proc.kill();
      }
    }, options.pollMs ?? POLL_MS);
    // The worker's own heartbeat while the child works: liveness for a step that cannot report progress
    // (mammoth converting a large document), carrying the last progress the child did report.
    const beat = setInterval(
      () =>
        ctx.heartbeat(
          lastProgress ?? { sandbox: 'extracting', seconds: Math.round((Date.now() - started) / 1000) },
        ),
      HEARTBEAT_EVERY_MS,
    );

    const finish = (outcome: JobOutcome) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      clearInterval(beat);
      signal.removeEventListener('abort', onAbort);
      proc.child.off('message', onMessage);
      proc.child.off('close', onExit);
      resolve(outcome);
    };
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'ready' || message.id !== id) return;
      switch (message.type) {
        case 'heartbeat':
          lastProgress = message.details;
          ctx.heartbeat(message.details);
          break;
        case 'log': {
          const meta = typeof message.meta === 'object' && message.meta !== null ? message.meta : undefined;
          ctx.log[message.level](message.message, meta as Record<string, unknown> | undefined);
          break;
        }
        case 'done':
          sample();
          finish({ reusable: true, summary: message.summary, peakKb });
          break;
        case 'failed':
          sample();
          finish({ reusable: true, error: revive(message.error), peakKb });
          break;
      }
    };
    const onExit = () => {
      const rssMb = stoppedAtKb !== undefined ? Math.round(stoppedAtKb / 1024) : undefined;
      const peakMb = peakKb !== undefined ? Math.round(peakKb / 1024) : undefined;
      if (signal.aborted) {
        finish({ reusable: false, error: signal.reason, peakKb });
        return;
      }
      const heap = HEAP_EXHAUSTED.test(proc.outputText());
      if (stoppedAtKb !== undefined || heap) {
        ctx.log.warn('extraction stopped at its memory ceiling', {
          file: file.name,
          provider: providerName,
          memoryMb: options.memoryMb,
          ...(rssMb !== undefined ? { rssMb } : {}),
          ...(peakMb !== undefined ? { peakRssMb: peakMb } : {}),
          by: heap && stoppedAtKb === undefined ? 'v8-heap-limit' : 'rss-watchdog',
          pid: proc.pid,
          seconds: (Date.now() - started) / 1000,
        });
        const what = heap && stoppedAtKb === undefined ? ' (its JavaScript heap)' : '';
        finish({
          reusable: false,
          peakKb,
          error: new LimitExceededError(
            `extraction of ${file.name} used more than ${options.memoryMb} MiB${what} and was stopped (${memoryVariable})`,
          ),
        });
        return;
      }
      finish({
        reusable: false,
        peakKb,
        error: new ExtractionProcessError(
          `extraction of ${file.name} failed: its process ended with ${proc.exitText()}${proc.lastOutput()}`,
        ),
      });
    };
    const onAbort = () => {
      proc.kill();
      finish({ reusable: false, error: signal.reason, peakKb });
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
      if (error) finish({ reusable: false, error, peakKb });
    });
  });
}
