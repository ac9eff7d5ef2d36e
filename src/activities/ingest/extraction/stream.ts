/**
 * A streamed extraction in an extraction process (see run-job.ts for the process and its memory ceiling,
 * pool.ts for the pool): the provider's `streamSections` runs in the child, and its items arrive here in
 * batches as an async generator. The child sends a batch only while fewer than two are unacknowledged,
 * and a batch is acknowledged when the consumer asks for the item after it, so the items held in this
 * process are bounded by two batches however large the file is and however slowly the consumer goes.
 */
import type { ProviderContext, SourceFile } from '../../../providers/index.js';
import type { StreamCheckpoint, StreamItem, StreamSummary } from '../../../providers/provider.js';
import { HEAP_EXHAUSTED } from './extraction-process.js';
import { type MemoryCeiling, memoryLimitError, watchMemory } from './memory-watch.js';
import type { ExtractionPool } from './pool.js';
import { resetPeak } from './proc-status.js';
import { type ChildMessage, logFromChild, revive, type StreamJob } from './protocol.js';

type Event =
  | { kind: 'items'; seq: number; items: StreamItem[] }
  | { kind: 'done'; summary: StreamSummary }
  | { kind: 'error'; error: unknown };

export interface StreamPeak {
  /** Peak resident memory of the extraction process during the stream, MiB (no /proc: undefined). */
  peakRssMb?: number;
}

/**
 * The items of `providerName`'s streamSections over `file` from `from`, extracted in one of `pool`'s
 * extraction processes under `options.memoryMb` (a LimitExceededError naming the ceiling's variable when
 * crossed). The generator returns the provider's summary; `peak` is filled in as the stream goes.
 * Cancelling `ctx.signal` (or stopping the iteration) kills the process.
 */
export async function* streamInSandbox(
  pool: ExtractionPool,
  providerName: string,
  file: SourceFile,
  ctx: ProviderContext,
  options: MemoryCeiling,
  from: StreamCheckpoint | undefined,
  peak: StreamPeak = {},
): AsyncGenerator<StreamItem, StreamSummary, undefined> {
  const { signal } = ctx;
  signal.throwIfAborted();
  const { process: proc } = pool.acquire(options.memoryMb);
  const id = proc.newJobId();
  const queue: Event[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let reusable = false;
  const push = (event: Event) => {
    queue.push(event);
    wake?.();
  };
  const watch = watchMemory(proc, options, (status) => {
    peak.peakRssMb = Math.max(peak.peakRssMb ?? 0, Math.round(Math.max(status.rssKb, status.hwmKb) / 1024));
  });
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
      case 'log':
        logFromChild(ctx, message);
        break;
      case 'heartbeat':
        ctx.heartbeat(message.details);
        break;
    }
  };
  const onExit = () => {
    if (finished) return;
    if (signal.aborted) return push({ kind: 'error', error: signal.reason });
    if (watch.stoppedAtKb !== undefined || HEAP_EXHAUSTED.test(proc.outputText())) {
      return push({ kind: 'error', error: memoryLimitError(file.name, options) });
    }
    push({ kind: 'error', error: proc.endedError(file.name) });
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
        watch.sample();
        reusable = true;
        return event.summary;
      }
      for (const item of event.items) yield item;
      if (proc.alive) proc.child.send({ type: 'ack', id, seq: event.seq });
    }
  } finally {
    finished = true;
    watch.stop();
    signal.removeEventListener('abort', onAbort);
    proc.child.off('message', onMessage);
    proc.child.off('close', onExit);
    // Stopped early (superseded, cancelled, failed downstream): the child may still be mid-stream.
    pool.release(proc, reusable);
  }
}
