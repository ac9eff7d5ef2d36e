/**
 * How the self-test stops early (its --timeout or a signal) without leaving work behind silently: what it
 * has set in motion is tracked as Progress, and settleInterrupted terminates the workflow it started or
 * prints the workflow id, its task queue and the commands that stop it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { RouteResult } from '../../bridge/route-event.js';
import type { Config } from '../../config/config.js';
import { redactSecrets } from '../../config/redact.js';
import { errorText } from '../../domain/errors.js';
import { ingestFileHandle } from '../../temporal/starts.js';
import type { SelfTestOptions } from './options.js';

/** How long an interrupted self-test waits for a start already sent to Temporal to be answered. */
const ROUTING_SETTLE_MS = 12_000;
/** Bound on each clean-up step (closing a connection to a server that went away must not hang). */
export const CLEANUP_STEP_MS = 5000;

export function step(text: string): void {
  console.log(`[self-test] ${text}`);
}

/** What the self-test has set in motion so far, for the report when it is interrupted. */
export interface Progress {
  workflowId?: string;
  taskQueue?: string;
  startedHere?: boolean;
  /** The routing of the event (HEAD + start), once it was sent; `routed` is its answer. */
  routing?: Promise<RouteResult>;
  routed?: RouteResult;
  uploaded?: string;
}

export class Interrupted extends Error {
  constructor(readonly by: NodeJS.Signals | 'deadline') {
    super(`interrupted by ${by}`);
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The commands that stop a workflow left running, with the connection this process used. */
export function stopCommands(cfg: Config, workflowId: string): string[] {
  const target = `--workflow-id ${shellQuote(workflowId)} --namespace ${shellQuote(cfg.temporal.namespace)} --address ${shellQuote(cfg.temporal.address)}`;
  return [
    `temporal workflow cancel ${target}`,
    `temporal workflow terminate ${target} --reason ${shellQuote('p8fs self-test interrupted')}`,
  ];
}

/** Resolves with `work`, or rejects with Interrupted as soon as `signal` aborts. */
export function unlessInterrupted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Interrupted(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export async function bounded(what: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([what.catch(() => undefined), sleep(ms, undefined, { ref: false })]);
}

/**
 * After a deadline or a signal: stop the workflow this run started (terminate: the workers are going
 * away, so a cancel would only be seen by the next worker), or say exactly what is left running.
 */
export async function settleInterrupted(
  cfg: Config,
  temporal: Client | undefined,
  progress: Progress,
  options: SelfTestOptions,
  by: NodeJS.Signals | 'deadline',
  started: number,
): Promise<void> {
  const after = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const why = by === 'deadline' ? `the --timeout of ${options.timeoutSeconds} s` : by;
  if (progress.routing && !progress.routed) {
    // The start may already be at Temporal: wait for its answer, so the report is exact.
    await bounded(progress.routing, ROUTING_SETTLE_MS);
  }
  if (!progress.workflowId) {
    step(
      `stopped by ${why} after ${after}: no workflow was started${progress.uploaded ? ` (${progress.uploaded} stays in S3)` : ''}; nothing left running`,
    );
    if (progress.routing && !progress.routed) {
      step(
        `the routing did not answer in time; if it started a workflow, list it with: temporal workflow list --namespace ${shellQuote(cfg.temporal.namespace)} --address ${shellQuote(cfg.temporal.address)} --query ${shellQuote(`TenantId = '${options.tenant}' AND ExecutionStatus = 'Running'`)}`,
      );
    }
    return;
  }
  const where = `workflow ${progress.workflowId} on task queue ${progress.taskQueue}`;
  if (progress.startedHere && !options.keepWorkflow && temporal) {
    try {
      await ingestFileHandle(temporal, progress.workflowId).terminate(`p8fs self-test stopped by ${why}`);
      step(`stopped by ${why} after ${after}: terminated its ${where}; nothing left running`);
      return;
    } catch (error) {
      // It may have ended on its own in the meantime: then there is nothing to stop.
      const status = await ingestFileHandle(temporal, progress.workflowId)
        .describe()
        .then((d) => d.status.name)
        .catch(() => undefined);
      if (status && status !== 'RUNNING') {
        step(
          `stopped by ${why} after ${after}: its ${where} had already ended (${status}); nothing left running`,
        );
        return;
      }
      step(`could not terminate ${where}: ${redactSecrets(errorText(error))}`);
    }
  }
  const reason = progress.startedHere
    ? options.keepWorkflow
      ? '--keep-workflow'
      : 'it could not be terminated'
    : 'it was started before this run (by a bridge or an earlier run), so it is not this run to stop';
  step(`stopped by ${why} after ${after}; left running (${reason}): ${where}`);
  step('it runs on whenever a worker serves that task queue; to stop it:');
  for (const command of stopCommands(cfg, progress.workflowId)) step(`  ${command}`);
}
