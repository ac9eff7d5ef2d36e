/**
 * dreamAnalysis: one tenant's recent sessions and resources → a validated DreamModel in `dreams`.
 * direct: one activity calls the model. batch: an OpenAI Batch whose wait happens here, on durable
 * timers between polls, so a worker may restart (or the batch take hours) without losing anything;
 * requests of an expired or failed batch, or with an invalid answer, are resubmitted once.
 * dreamBatch: many tenants — direct: child workflows in a sliding window; batch: one Batch for all.
 * History holds ids, keys and counts only: the texts are in S3 and PostgreSQL.
 */
import {
  ApplicationFailure,
  executeChild,
  log,
  patched,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { DreamActivities } from '../activities/insight/dream-activities.js';
import { tenantFairnessKey } from '../domain/fairness.js';
import {
  type BatchPoll,
  type DreamAnalysisInput,
  type DreamBatchInput,
  type DreamBatchOutcome,
  type DreamMode,
  type DreamOutcome,
  type DreamSummary,
  type PreparedDream,
  TERMINAL_BATCH_STATES,
} from '../domain/insight/dream-analysis.js';
import { activityRetry, describeFailure } from './failures.js';

const retry = activityRetry('2 seconds', '5 minutes');

// Reads, writes and batch calls: short attempts, retried for hours through an outage.
const steps = proxyActivities<DreamActivities>({
  startToCloseTimeout: '5 minutes',
  scheduleToCloseTimeout: '6 hours',
  retry,
});

// The model call: long attempts with a heartbeat, so a dead worker is noticed within a minute.
const model = proxyActivities<DreamActivities>({
  startToCloseTimeout: '30 minutes',
  scheduleToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry,
});

const NOTHING = 'no sessions or resources in the window';
/** dreamBatch's children carry their tenant's fairness key (added after dreamBatch histories were recorded). */
const TENANT_FAIRNESS_PATCH = 'dream-batch-tenant-fairness';

interface BatchRun {
  stored: DreamSummary[];
  failed: Array<{ item: PreparedDream; reason: string }>;
  batchIds: string[];
}

/** Submits, waits on durable timers, collects; what did not come back valid goes once more. */
async function runBatch(items: PreparedDream[]): Promise<BatchRun> {
  const run: BatchRun = { stored: [], failed: [], batchIds: [] };
  let pending = items;
  const reasons = new Map<string, string>();
  for (let round = 1; round <= 2 && pending.length > 0; round++) {
    const submitted = await steps.submitDreamBatch({ items: pending, round });
    run.batchIds.push(submitted.batchId);
    log.info('dream batch waiting', { batchId: submitted.batchId, requests: pending.length, round });
    const started = Date.now();
    let poll: BatchPoll;
    for (;;) {
      await sleep(submitted.pollSeconds * 1000);
      poll = await steps.pollDreamBatch(submitted.batchId);
      if (TERMINAL_BATCH_STATES.includes(poll.status)) break;
      if (Date.now() - started > submitted.maxWaitSeconds * 1000) break;
    }
    log.info('dream batch ended', {
      batchId: poll.batchId,
      status: poll.status,
      completed: poll.completed,
      failed: poll.failed,
    });
    if (!TERMINAL_BATCH_STATES.includes(poll.status)) {
      for (const item of pending)
        reasons.set(
          item.analysisId,
          `batch ${poll.batchId} still ${poll.status} after ${submitted.maxWaitSeconds} s (P8FS_DREAM_BATCH_MAX_WAIT_HOURS)`,
        );
      continue;
    }
    const collected = await steps.collectDreamBatch({ poll, items: pending });
    run.stored.push(...collected.stored);
    for (const f of collected.failed) reasons.set(f.analysisId, f.reason);
    const failedIds = new Set(collected.failed.map((f) => f.analysisId));
    pending = pending.filter((item) => failedIds.has(item.analysisId));
    if (pending.length > 0 && round === 1)
      log.info('resubmitting dream requests', { requests: pending.length, batchId: poll.batchId });
  }
  run.failed = pending.map((item) => ({ item, reason: reasons.get(item.analysisId) ?? 'no answer' }));
  if (run.failed.length > 0) {
    for (const f of run.failed) await steps.failDreamJobs({ jobIds: [f.item.jobId], message: f.reason });
  }
  return run;
}

export async function dreamAnalysis(input: DreamAnalysisInput): Promise<DreamOutcome> {
  const mode: DreamMode = input.mode ?? 'direct';
  if (mode !== 'direct' && mode !== 'batch') {
    throw ApplicationFailure.nonRetryable(
      `mode must be direct or batch, got ${JSON.stringify(mode)}`,
      'InvalidInputError',
    );
  }
  if (typeof input.tenantId !== 'string' || input.tenantId === '') {
    throw ApplicationFailure.nonRetryable('tenantId must be a non-empty string', 'InvalidInputError');
  }
  const until = new Date(workflowInfo().startTime).toISOString();
  const prepared = await steps.prepareDream({
    tenantId: input.tenantId,
    mode,
    until,
    ...(input.windowHours !== undefined ? { windowHours: input.windowHours } : {}),
  });
  log.info('dreamAnalysis prepared', {
    tenantId: input.tenantId,
    mode,
    sessions: prepared.sessions,
    resources: prepared.resources,
    tokens: prepared.tokens,
  });
  if (prepared.sessions + prepared.resources === 0) {
    await steps.skipDream(prepared, NOTHING);
    return { status: 'skipped', mode, tenantId: input.tenantId, jobId: prepared.jobId, reason: NOTHING };
  }
  if (mode === 'direct') {
    try {
      const dream = await model.analyzeDreamDirect(prepared);
      return { status: 'completed', mode, dream, sessions: prepared.sessions, resources: prepared.resources };
    } catch (error) {
      const failure = describeFailure(error);
      await steps.failDreamJobs({
        jobIds: [prepared.jobId],
        message: `${failure.errorType}: ${failure.message}`,
      });
      throw ApplicationFailure.nonRetryable(
        `dream analysis of ${input.tenantId} failed: ${failure.message}`,
        failure.errorType,
      );
    }
  }
  const run = await runBatch([prepared]);
  const dream = run.stored[0];
  if (!dream) {
    const reason = run.failed[0]?.reason ?? 'no answer';
    throw ApplicationFailure.nonRetryable(
      `dream analysis of ${input.tenantId} failed in batch mode: ${reason}`,
      'DreamBatchFailedError',
    );
  }
  return {
    status: 'completed',
    mode,
    dream,
    sessions: prepared.sessions,
    resources: prepared.resources,
    batchId: run.batchIds.at(-1) as string,
  };
}

export async function dreamBatch(input: DreamBatchInput = {}): Promise<DreamBatchOutcome> {
  const mode: DreamMode = input.mode ?? 'direct';
  const until = new Date(workflowInfo().startTime).toISOString();
  const window = input.windowHours !== undefined ? { windowHours: input.windowHours } : {};
  const { tenants, concurrency } = await steps.listDreamTenants({
    until,
    ...window,
    ...(input.tenantIds ? { tenantIds: input.tenantIds } : {}),
  });
  const outcome: DreamBatchOutcome = {
    mode,
    tenants: tenants.length,
    completed: 0,
    skipped: 0,
    failed: [],
    batchIds: [],
  };
  log.info('dreamBatch started', { mode, tenants: tenants.length });
  if (mode === 'direct') {
    // A sliding window of children: a new tenant starts as soon as one finishes.
    const queue = [...tenants];
    const parent = workflowInfo().workflowId;
    const worker = async () => {
      for (let tenantId = queue.shift(); tenantId !== undefined; tenantId = queue.shift()) {
        try {
          const result = await executeChild(dreamAnalysis, {
            workflowId: `${parent}/${tenantId}`,
            // Each tenant's child under its own fairness key, as every other start for a tenant
            // (src/temporal/starts.ts). Behind a patch: histories recorded before it replay unchanged.
            ...(patched(TENANT_FAIRNESS_PATCH)
              ? { priority: { fairnessKey: tenantFairnessKey(tenantId) } }
              : {}),
            args: [{ tenantId, mode: 'direct', ...window }],
          });
          if (result.status === 'completed') outcome.completed++;
          else outcome.skipped++;
        } catch (error) {
          outcome.failed.push({ tenantId, reason: describeFailure(error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tenants.length)) }, worker));
    return outcome;
  }
  const prepared: PreparedDream[] = [];
  for (const tenantId of tenants) {
    const item = await steps.prepareDream({ tenantId, mode, until, ...window });
    if (item.sessions + item.resources === 0) {
      await steps.skipDream(item, NOTHING);
      outcome.skipped++;
    } else prepared.push(item);
  }
  if (prepared.length === 0) return outcome;
  const run = await runBatch(prepared);
  outcome.completed = run.stored.length;
  outcome.failed = run.failed.map((f) => ({ tenantId: f.item.tenantId, reason: f.reason }));
  outcome.batchIds = run.batchIds;
  return outcome;
}
