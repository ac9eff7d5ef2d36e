/**
 * What the ingest activities take from the running activity's context: the workflow they run for, their
 * job id, throttled heartbeats, how they wait for a file's lock, how a provider sees the activity, and
 * cooperative pauses in long CPU work.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { LockWait } from '../../db/files/index.js';
import { P8FS_NAMESPACE, uuidV5 } from '../../domain/ids.js';
import type { ProviderConfig, ProviderContext } from '../../providers/index.js';

/** Heartbeats at most every `everyMs`, so a long download reports progress without flooding the server. */
export function throttledHeartbeat(everyMs = 2000): (details: unknown) => void {
  let last = 0;
  return (details) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    Context.current().heartbeat(details);
  };
}

/**
 * What a provider gets from the running activity: Temporal's cancellation signal, a throttled heartbeat
 * tagged with the step, and the activity logger (which adds workflow and activity ids to every line).
 */
export function providerContext(config: ProviderConfig): ProviderContext {
  const { cancellationSignal, log } = Context.current();
  const heartbeat = throttledHeartbeat();
  return {
    signal: cancellationSignal,
    heartbeat: (details) => heartbeat({ step: 'extract', progress: details }),
    log,
    config,
  };
}

/** The workflow this activity runs for (ingest activities only ever run inside a workflow). */
export function currentWorkflow(): { workflowId: string; runId: string } {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('ingest activities must run inside a workflow');
  return execution;
}

export function jobIdFor(workflowId: string): string {
  return uuidV5(`job:${workflowId}`, P8FS_NAMESPACE);
}

/** How an activity waits for a file's lock: heartbeating, and stopping when it is cancelled. */
export function lockWait(): LockWait {
  const { cancellationSignal } = Context.current();
  const heartbeat = throttledHeartbeat(1000);
  return { signal: cancellationSignal, onWait: () => heartbeat({ step: 'wait-for-file-lock' }) };
}

/**
 * Long CPU work in slices: call it often; about every `sliceMs` it heartbeats, lets the event loop run
 * (so heartbeats, cancellation and other activities' I/O get through) and throws if the activity was
 * cancelled. The slice is a small fraction of the smallest heartbeat timeout (15 s).
 */
export function cooperativePause(details: () => unknown, sliceMs = 100): () => Promise<void> | undefined {
  const { cancellationSignal: signal } = Context.current();
  const heartbeat = throttledHeartbeat(1000);
  let sliceStart = Date.now();
  return () => {
    if (Date.now() - sliceStart < sliceMs) return undefined;
    return (async () => {
      heartbeat(details());
      await yieldToEventLoop();
      signal.throwIfAborted();
      sliceStart = Date.now();
    })();
  };
}
