/**
 * Chaos testing aids, as an activity interceptor on extractText (off in normal runs: both settings 0):
 * - cfg.worker.faultPauseExtractMs (P8FS_FAULT_PAUSE_EXTRACT_MS) holds each extraction, heartbeating, so
 *   a test can kill the worker mid-activity; a cancellation ends the pause with the cancellation, as it
 *   would end a real download;
 * - cfg.worker.faultFailExtractAttempts (P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS) makes the first N attempts of
 *   each extraction fail retryably, as an unreachable dependency would.
 * With either set, small files take the steps, so extractText runs (ingest-small.ts, stepsReason).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
  WorkerOptions,
} from '@temporalio/worker';
import type { Config } from '../config/config.js';

/** The activity the aids act on, by the name the workflows call it. */
const FAULTED_ACTIVITY = 'extractText';

export interface FaultSettings {
  pauseMs: number;
  failAttempts: number;
}

async function pauseForFaultInjection(ctx: Context, pauseMs: number): Promise<void> {
  const signal = ctx.cancellationSignal;
  const until = Date.now() + pauseMs;
  while (Date.now() < until && !signal.aborted) {
    ctx.heartbeat({ step: 'fault-injection-pause' });
    await sleep(Math.min(500, until - Date.now()), undefined, { signal }).catch(() => undefined);
  }
  signal.throwIfAborted();
}

function failForFaultInjection(ctx: Context, attempts: number): void {
  const { attempt } = ctx.info;
  if (attempt <= attempts) {
    throw new Error(
      `fault injection: extractText fails on attempt ${attempt} of the first ${attempts} (P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS)`,
    );
  }
}

class FaultInjectionInbound implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly faults: FaultSettings,
  ) {}

  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    if (this.ctx.info.activityType === FAULTED_ACTIVITY) {
      await pauseForFaultInjection(this.ctx, this.faults.pauseMs);
      failForFaultInjection(this.ctx, this.faults.failAttempts);
    }
    return next(input);
  }
}

/** The interceptor factory, or undefined when no fault is configured (the normal case). */
export function faultInjectionInterceptor(
  cfg: Pick<Config, 'worker'>,
): ActivityInterceptorsFactory | undefined {
  const faults = {
    pauseMs: cfg.worker.faultPauseExtractMs,
    failAttempts: cfg.worker.faultFailExtractAttempts,
  };
  if (faults.pauseMs <= 0 && faults.failAttempts <= 0) return undefined;
  return (ctx) => ({ inbound: new FaultInjectionInbound(ctx, faults) });
}

/**
 * Worker options with the fault-injection interceptor last (innermost, right around the activity, where
 * the aids used to run), after the activity interceptors `options` already has (metrics, tracing).
 */
export function withFaultInjection<T extends Pick<WorkerOptions, 'interceptors'>>(
  cfg: Pick<Config, 'worker'>,
  options: T,
): T {
  const interceptor = faultInjectionInterceptor(cfg);
  if (!interceptor) return options;
  return {
    ...options,
    interceptors: {
      ...options.interceptors,
      activity: [...(options.interceptors?.activity ?? []), interceptor],
    },
  };
}
