/**
 * A streamed extraction in an extraction process (see extraction-sandbox.ts for the process, its memory
 * ceiling and its pool): the provider's `streamSections` runs in the child, and its items arrive here in
 * batches as an async generator. The child sends a batch only while fewer than two are unacknowledged,
 * and a batch is acknowledged when the consumer asks for the item after it, so the items held in this
 * process are bounded by two batches however large the file is and however slowly the consumer goes.
 */
import { LimitExceededError } from '../../domain/errors.js';
import type { ProviderContext, SourceFile } from '../../providers/index.js';
import type { StreamCheckpoint, StreamItem, StreamSummary } from '../../providers/provider.js';
import {
  acquire,
  type ChildMessage,
  ExtractionProcessError,
  HEAP_EXHAUSTED,
  newJobId,
  readProcStatus,
  release,
  resetPeak,
  revive,
  type SandboxOptions,
  type StreamJob,
} from './extraction-sandbox.js';

type Event =
  | { kind: 'items'; seq: number; items: StreamItem[] }
  | { kind: 'done'; summary: StreamSummary }
  | { kind: 'error'; error: unknown };

export interface StreamPeak {
  /** Peak resident memory of the extraction process during the stream, MiB (no /proc: undefined). */
  peakRssMb?: number;
}

/**
 * The items of `providerName`'s streamSections over `file` from `from`, extracted in an extraction process
 * under `options.memoryMb` (a LimitExceededError naming the ceiling's variable when crossed). The generator
 * returns the provider's summary; `peak` is filled in as the stream goes. Cancelling `ctx.signal` (or
 * stopping the iteration) kills the process.
 */
export async function* streamInSandbox(
  providerName: string,
  file: SourceFile,
  ctx: ProviderContext,
  options: Omit<SandboxOptions, 'outputPath'>,
  from: StreamCheckpoint | undefined,
  peak: StreamPeak = {},
): AsyncGenerator<StreamItem, StreamSummary, undefined> {
  const { signal } = ctx;
  signal.throwIfAborted();
  const { process: proc } = acquire(options.memoryMb);
  const id = newJobId();
  const ceilingKb = options.memoryMb * 1024;
  const memoryVariable = options.memoryVariable ?? 'P8FS_EXTRACT_MEMORY_MB';
  const queue: Event[] = [];
  let wake: (() => void) | undefined;
  let stoppedAtKb: number | undefined;
  let finished = false;
  let reusable = false;
  const push = (event: Event) => {
    queue.push(event);
    wake?.();
  };
  const sample = () => {
    const status = readProcStatus(proc.pid);
    if (status)
      peak.peakRssMb = Math.max(peak.peakRssMb ?? 0, Math.round(Math.max(status.rssKb, status.hwmKb) / 1024));
    return status;
  };
  const watchdog = setInterval(() => {
    const status = sample();
    if (status && status.rssKb > ceilingKb && stoppedAtKb === undefined) {
      stoppedAtKb = status.rssKb;
      proc.kill();
    }
  }, options.pollMs ?? 100);
  const onMessage = (message: ChildMessage) => {
    if (message.type === 'ready' || message.id !== id) return;
    switch (message.type) {
      case 'items':
        push({ kind: 'items', seq: message.seq, items: message.items });
        break;
      case 'streamed':
        push({ kind: 'done', summary: message.summary });
        break;
      case 'failed':
        push({ kind: 'error', error: revive(message.error) });
        break;
      case 'log': {
        const meta = typeof message.meta === 'object' && message.meta !== null ? message.meta : undefined;
        ctx.log[message.level](message.message, meta as Record<string, unknown> | undefined);
        break;
      }
      case 'heartbeat':
        ctx.heartbeat(message.details);
        break;
    }
  };
  const onExit = () => {
    if (finished) return;
    if (signal.aborted) return push({ kind: 'error', error: signal.reason });
    if (stoppedAtKb !== undefined || HEAP_EXHAUSTED.test(proc.outputText())) {
      return push({
        kind: 'error',
        error: new LimitExceededError(
          `extraction of ${file.name} used more than ${options.memoryMb} MiB and was stopped (${memoryVariable})`,
        ),
      });
    }
    push({
      kind: 'error',
      error: new ExtractionProcessError(
        `extraction of ${file.name} failed: its process ended with ${proc.exitText()}${proc.lastOutput()}`,
      ),
    });
  };
  const onAbort = () => {
    proc.kill();
    push({ kind: 'error', error: signal.reason });
  };
  proc.child.on('message', onMessage);
  proc.child.once('close', onExit);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await proc.ready;
    proc.jobs += 1;
    resetPeak(proc.pid);
    const job: StreamJob = {
      type: 'stream',
      id,
      provider: providerName,
      file,
      config: ctx.config,
      ...(from ? { from } : {}),
    };
    proc.child.send(job);
    for (;;) {
      const event = queue.shift();
      if (!event) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      if (event.kind === 'error') {
        // A provider's own failure leaves the process usable; a kill, a crash or a cancellation does not.
        reusable = proc.alive && !signal.aborted;
        throw event.error;
      }
      if (event.kind === 'done') {
        sample();
        reusable = true;
        return event.summary;
      }
      for (const item of event.items) yield item;
      if (proc.alive) proc.child.send({ type: 'ack', id, seq: event.seq });
    }
  } finally {
    finished = true;
    clearInterval(watchdog);
    signal.removeEventListener('abort', onAbort);
    proc.child.off('message', onMessage);
    proc.child.off('close', onExit);
    // Stopped early (superseded, cancelled, failed downstream): the child may still be mid-stream.
    release(proc, reusable);
  }
}
