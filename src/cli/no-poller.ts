/**
 * A `--wait` on a task queue no worker polls would wait forever in silence. Shortly after the start this
 * asks Temporal which workers poll the queue (DescribeTaskQueue) and, when none does within a few
 * seconds, says so with the command that starts one; it says again once one appears. Temporal lists a
 * poller for a few minutes after its last poll, so a worker stopped a moment ago still counts: this is
 * for the first run where none was ever started, not a health check (`p8fs status` is).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Config } from '../config/config.js';
import type { Tier } from '../domain/tiers.js';
import { llmTaskQueue, taskQueueFor, userInsightTaskQueue } from '../temporal/names.js';
import { describeQueueSide } from '../temporal/queue-stats.js';

/** A task queue, and the command that starts a worker polling it. */
export interface WatchedQueue {
  name: string;
  command: string;
}

export function storageQueue(cfg: Config, tier: Tier): WatchedQueue {
  return { name: taskQueueFor(cfg, tier), command: `p8fs storage-worker --tier ${tier}` };
}

export function dreamingQueue(cfg: Config): WatchedQueue {
  return { name: llmTaskQueue(cfg), command: 'p8fs dreaming-worker' };
}

export function userInsightQueue(cfg: Config): WatchedQueue {
  return { name: userInsightTaskQueue(cfg), command: 'p8fs user-insight-worker' };
}

export function noPollerWarning(queue: WatchedQueue): string {
  return `warning: no worker polls task queue ${queue.name}, so nothing runs until one does: start one with \`p8fs stack up\` (local) or \`${queue.command}\``;
}

export interface PollerTiming {
  /** Between two looks until the first poller (or the warning). */
  checkMs: number;
  /** How long after the start a queue without pollers is worth a warning. */
  warnAfterMs: number;
  /** Between two looks once warned. */
  recheckMs: number;
}

const TIMING: PollerTiming = { checkMs: 1000, warnAfterMs: 3000, recheckMs: 5000 };

export interface PollerWatch {
  /** Ends the watch (the wait is over); resolves once it has stopped looking. */
  stop(): Promise<void>;
}

async function watchOne(
  client: Client,
  namespace: string,
  queue: WatchedQueue,
  say: (line: string) => void,
  timing: PollerTiming,
  signal: AbortSignal,
): Promise<void> {
  const started = Date.now();
  let warned = false;
  while (!signal.aborted) {
    await sleep(warned ? timing.recheckMs : timing.checkMs, undefined, { signal, ref: false });
    // A failed look (Temporal busy or gone) says nothing either way; the wait itself reports real errors.
    const side = await describeQueueSide(client, namespace, queue.name, 'workflow', false).catch(
      () => undefined,
    );
    if (signal.aborted || side === undefined) continue;
    if (side.pollers > 0) {
      if (warned) say(`a worker polls ${queue.name} now`);
      return;
    }
    if (!warned && Date.now() - started >= timing.warnAfterMs) {
      say(noPollerWarning(queue));
      warned = true;
    }
  }
}

/** Starts watching `queues` (each once) for pollers; call stop() when the wait ends. */
export function watchForPollers(
  client: Client,
  namespace: string,
  queues: WatchedQueue[],
  say: (line: string) => void,
  timing: PollerTiming = TIMING,
): PollerWatch {
  const controller = new AbortController();
  const unique = [...new Map(queues.map((queue) => [queue.name, queue])).values()];
  const watching = Promise.all(
    unique.map((queue) =>
      // Rejects only with the abort of stop(): nothing to report.
      watchOne(client, namespace, queue, say, timing, controller.signal).catch(() => undefined),
    ),
  );
  return {
    async stop() {
      controller.abort();
      await watching;
    },
  };
}
