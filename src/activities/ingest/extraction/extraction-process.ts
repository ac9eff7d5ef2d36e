/**
 * One extraction process: child.ts forked with a V8 heap ceiling (`--max-old-space-size`), its last lines
 * of output kept for the error that reports its death. It runs one job at a time; pool.ts keeps it between
 * files, run-job.ts and stream.ts give it jobs.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildMessage } from './protocol.js';

/** The extraction process died without being asked to (not a limit, not a cancellation): retried. */
export class ExtractionProcessError extends Error {
  override readonly name = 'ExtractionProcessError';
}

/** What V8 prints when the heap ceiling is reached: the child was stopped by its limit, not a crash. */
export const HEAP_EXHAUSTED = /heap out of memory|Reached heap limit|Allocation failed - JavaScript heap/i;

const OUTPUT_LINES = 40;

function childCommand(): { modulePath: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  // Built: dist/…/child.js beside this file. From source (tsx, vitest): the .ts sibling, loaded through
  // tsx like the worker itself.
  const fromSource = here.endsWith('.ts');
  const modulePath = join(dirname(here), `child.${fromSource ? 'ts' : 'js'}`);
  const execArgv = process.execArgv.filter(
    (arg) => !/^--(max-old-space-size|max_old_space_size|inspect|inspect-brk|cpu-prof|heap-prof)\b/.test(arg),
  );
  if (fromSource && !execArgv.some((arg) => arg.includes('tsx'))) {
    const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    execArgv.push('--import', loader);
  }
  return { modulePath, execArgv };
}

export class ExtractionProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  jobs = 0;
  idleTimer: NodeJS.Timeout | undefined;
  private readonly output: string[] = [];
  private partial = '';
  private lastJobId = 0;

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

  /** A fresh id for a job sent to this process: messages of an earlier job are told apart by it. */
  newJobId(): number {
    this.lastJobId += 1;
    return this.lastJobId;
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

  /** The retryable error of a process that ended during a job without being stopped. */
  endedError(fileName: string): ExtractionProcessError {
    return new ExtractionProcessError(
      `extraction of ${fileName} failed: its process ended with ${this.exitText()}${this.lastOutput()}`,
    );
  }

  private keep(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = (lines.pop() ?? '').slice(-2000);
    this.output.push(...lines.map((l) => l.slice(0, 2000)));
    if (this.output.length > OUTPUT_LINES) this.output.splice(0, this.output.length - OUTPUT_LINES);
  }
}
