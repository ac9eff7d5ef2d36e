/**
 * embedBackfill: one tenant's chunks, then its moments, that lack a vector of the configured provider
 * (stored before embedding existed, while it was off, when the step failed, or under another provider
 * after a model change) get one. `p8fs embed backfill --tenant T` starts it.
 *
 * The rows are walked in id order with a cursor: planEmbedPages cuts the next pages as id ranges (ids
 * only), and embedRange activities embed them, WINDOW at a time, on the small tier's `-embed` queue (the
 * storage workers' embedding slots, where the model is loaded). Every PAGES_PER_RUN pages the run
 * continues as new with its cursor and totals, so the history stays short however many rows there are.
 * A page that fails after its retries is counted and skipped; running the backfill again picks its rows
 * up, since it reads only rows still lacking a vector. The `progress` query answers at any time.
 */
import {
  continueAsNew,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { EmbedActivities } from '../activities/embed/activities.js';
import type {
  EmbedBackfillInput,
  EmbedBackfillProgress,
  EmbedBackfillState,
  EmbedRange,
} from '../domain/embedding.js';
import { activityRetry, failureReason } from './failures.js';

export const DEFAULT_PAGE_SIZE = 256;
export const DEFAULT_WINDOW = 2;
export const DEFAULT_PAGES_PER_RUN = 200;

export const backfillProgressQuery = defineQuery<EmbedBackfillProgress>('progress');

const retry = activityRetry('2 seconds', '1 minute');

/** The small tier's embedding queue, named after this run's own (`{prefix}-storage-small`). */
function embedQueue(): string {
  return `${workflowInfo().taskQueue}-embed`;
}

export async function embedBackfill(input: EmbedBackfillInput): Promise<EmbedBackfillProgress> {
  const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
  const window = Math.max(1, input.window ?? DEFAULT_WINDOW);
  const pagesPerRun = Math.max(1, input.pagesPerRun ?? DEFAULT_PAGES_PER_RUN);
  const state: EmbedBackfillState = input.state ?? {
    kind: 'resources',
    afterId: null,
    pages: 0,
    embedded: 0,
    failedPages: 0,
    startedAt: new Date(Date.now()).toISOString(),
  };
  const act = proxyActivities<EmbedActivities>({
    taskQueue: embedQueue(),
    startToCloseTimeout: '30 minutes',
    scheduleToCloseTimeout: '6 hours',
    heartbeatTimeout: '1 minute',
    retry,
    // Behind the embeddings of files people are uploading now (interactive 2, batches 4).
    priority: { priorityKey: 5 },
  });
  let provider: string | null = input.provider ?? null;
  let inFlight = 0;
  let done = false;
  const progress = (): EmbedBackfillProgress => ({
    tenantId: input.tenantId,
    provider,
    ...state,
    inFlight,
    done,
  });
  setHandler(backfillProgressQuery, progress);

  let pagesThisRun = 0;
  for (;;) {
    const plan = await act.planEmbedPages({
      tenantId: input.tenantId,
      ...(input.provider !== undefined ? { provider: input.provider } : {}),
      kind: state.kind,
      afterId: state.afterId,
      limit: pageSize,
      pages: window * 4,
    });
    provider = plan.provider;
    if (plan.ranges.length === 0) {
      if (state.kind === 'moments') break;
      // The chunks are done: the moments next, from their first id.
      state.kind = 'moments';
      state.afterId = null;
      continue;
    }
    await inWindow(plan.ranges, window, async (range) => {
      inFlight += 1;
      try {
        const page = await act.embedRange({
          tenantId: input.tenantId,
          ...(input.provider !== undefined ? { provider: input.provider } : {}),
          kind: state.kind,
          ...range,
        });
        state.embedded += page.embedded;
      } catch (error) {
        if (isCancellation(error)) throw error;
        state.failedPages += 1;
        log.warn('backfill page failed: skipped (a later backfill embeds its rows)', {
          tenantId: input.tenantId,
          kind: state.kind,
          ...range,
          reason: failureReason(error),
        });
      } finally {
        inFlight -= 1;
        state.pages += 1;
      }
    });
    state.afterId = (plan.ranges.at(-1) as EmbedRange).untilId;
    pagesThisRun += plan.ranges.length;
    if (pagesThisRun >= pagesPerRun) await continueAsNew<typeof embedBackfill>({ ...input, state });
  }
  done = true;
  log.info('embedBackfill completed', { tenantId: input.tenantId, provider, ...state });
  return progress();
}

/** Runs `work` over `items`, at most `size` at once, starting the next as soon as one ends. */
async function inWindow<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, lane));
}
