/**
 * The worker's application metrics, recorded where the activities run: an activity inbound interceptor
 * times every attempt (p8fs_worker_step_duration_seconds) and, from the arguments and results of the
 * activities that finish a file or an LLM job, counts files completed and failed (by tier and provider),
 * observes their size, pages and chunks, and counts LLM jobs by type and status.
 *
 * Counted from results, after the activity's transaction committed: a store or failure that was
 * superseded (its object changed meanwhile) wrote nothing and counts nothing. An activity that committed
 * but whose completion never reached Temporal (the worker died in between) runs again and counts again:
 * these are operational figures, the database is the record.
 */
import type { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  Next,
  WorkerOptions,
} from '@temporalio/worker';
import type {
  ExtractionResult,
  FailureRecord,
  IngestFileInput,
  RegisteredFile,
  SmallFileResult,
  StoreResult,
} from '../domain/ingest.js';
import { workerMetrics } from '../telemetry/metrics.js';

type Outcome = 'completed' | 'failed' | 'cancelled';

/** What a finished activity tells the metrics: its type, arguments and result. */
interface Finished {
  step: string;
  args: readonly unknown[];
  result: unknown;
}

/** The provider a failed file's type maps to (registerFile's choice, made again from the event). */
async function providerOfFailed(input: IngestFileInput): Promise<string> {
  // Loaded on first need: only storage workers record file failures, and they hold the providers already.
  const { pickProvider, UNKNOWN_TYPE_PROVIDER } = await import('../providers/index.js');
  return pickProvider(input.event.mimeType, input.event.fileName) ?? UNKNOWN_TYPE_PROVIDER;
}

/** Files and LLM jobs finished by this activity, into the worker metrics. */
export async function recordFinished({ step, args, result }: Finished): Promise<void> {
  const m = workerMetrics();
  switch (step) {
    case 'storeChunks': {
      const [input, file, extraction] = args as [IngestFileInput, RegisteredFile, ExtractionResult];
      const stored = result as StoreResult;
      if (stored.superseded !== undefined) return;
      const labels = { tier: input.tier, provider: extraction.provider };
      m.filesCompleted.inc(labels);
      m.fileBytes.observe(labels, file.size);
      m.fileChunks.observe({ provider: extraction.provider }, stored.resourcesStored);
      if (extraction.pageCount !== undefined && extraction.pageCount > 0)
        m.filePages.observe({ provider: extraction.provider }, extraction.pageCount);
      return;
    }
    case 'ingestSmallFile': {
      // One activity did what storeChunks finishes in the steps; a file sent on to the steps counts there.
      const [input] = args as [IngestFileInput];
      const small = result as SmallFileResult;
      if (small.path !== 'one-activity' || small.superseded !== undefined) return;
      const labels = { tier: input.tier, provider: small.provider };
      m.filesCompleted.inc(labels);
      m.fileBytes.observe(labels, small.file.size);
      m.fileChunks.observe({ provider: small.provider }, small.resourcesStored);
      if (small.pageCount !== undefined && small.pageCount > 0)
        m.filePages.observe({ provider: small.provider }, small.pageCount);
      return;
    }
    case 'recordIngestFailure': {
      const [input] = args as [IngestFileInput];
      if ((result as FailureRecord).superseded !== undefined) return;
      m.filesFailed.inc({ tier: input.tier, provider: await providerOfFailed(input) });
      return;
    }
    case 'analyzeDreamDirect':
      m.llmJobs.inc({ type: 'dream_analysis', status: 'completed' });
      return;
    case 'skipDream':
      m.llmJobs.inc({ type: 'dream_analysis', status: 'skipped' });
      return;
    case 'collectDreamBatch': {
      // The failed ones are resubmitted, or end in failDreamJobs: counted there.
      const stored = (result as { stored: unknown[] }).stored.length;
      if (stored > 0) m.llmJobs.inc({ type: 'dream_analysis', status: 'completed' }, stored);
      return;
    }
    case 'failDreamJobs': {
      const [input] = args as [{ jobIds: string[] }];
      m.llmJobs.inc({ type: 'dream_analysis', status: 'failed' }, input.jobIds.length);
      return;
    }
    case 'storeMoments':
      m.llmJobs.inc({ type: 'build_moments', status: 'completed' });
      return;
    case 'recordMomentsFailure':
      m.llmJobs.inc({ type: 'build_moments', status: 'failed' });
      return;
  }
}

function outcomeOf(error: unknown, ctx: Context): Outcome {
  return error instanceof CancelledFailure || ctx.cancellationSignal.aborted ? 'cancelled' : 'failed';
}

class MetricsActivityInbound implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    const { activityType: step, taskQueue } = this.ctx.info;
    const stop = workerMetrics().stepDuration.startTimer({ step, task_queue: taskQueue });
    let result: unknown;
    try {
      result = await next(input);
    } catch (error) {
      stop({ outcome: outcomeOf(error, this.ctx) });
      throw error;
    }
    stop({ outcome: 'completed' });
    // A metric must never fail the activity it describes.
    await recordFinished({ step, args: input.args, result }).catch((error: unknown) =>
      this.ctx.log.warn('could not record metrics of a finished activity', { step, error: String(error) }),
    );
    return result;
  }
}

/** The activity interceptor factory of the worker metrics. */
export function metricsActivityInterceptor(ctx: Context): ActivityInterceptors {
  return { inbound: new MetricsActivityInbound(ctx) };
}

/**
 * Worker options with the metrics interceptor first (outermost, so it times the whole attempt) before
 * the activity interceptors `options` already has (tracing's).
 */
export function withActivityMetrics<T extends Pick<WorkerOptions, 'interceptors'>>(options: T): T {
  return {
    ...options,
    interceptors: {
      ...options.interceptors,
      activity: [metricsActivityInterceptor, ...(options.interceptors?.activity ?? [])],
    },
  };
}
