/**
 * tenantMoments (the moments task, `p8fs dreaming process --task moments`): a tenant's chat sessions and
 * documents of the window that no moment cites yet → moments, on the p8fs-llm task queue. The first
 * activity stages each source as a transcript; then each goes through buildMoments's own activities
 * (plan, one model call per group, store), so every model call is a retryable activity of its own and
 * what is stored is validated against the MomentBuilder shape. Moments are keyed by their source
 * (`session:<id>`, `document:<file id>`) and cite it, so a run again finds nothing new and adds nothing.
 * At most maxModelCalls model calls per run: the sources after that wait for the next run.
 */
import { ApplicationFailure, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { MomentActivities } from '../activities/insight/moment-activities.js';
import type { TenantMomentActivities } from '../activities/insight/tenant-moments.js';
import type { MomentGroupResult } from '../domain/insight/build-moments.js';
import {
  MOMENTS_DEFAULTS,
  type TenantMomentsInput,
  type TenantMomentsOutcome,
} from '../domain/insight/tenant-moments.js';
import { embedStoredMoments, GROUP_WINDOW } from './build-moments.js';
import { activityRetry } from './failures.js';

const retry = activityRetry('2 seconds', '2 minutes');
const quick = proxyActivities<MomentActivities & TenantMomentActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '2 hours',
  retry,
});
const model = proxyActivities<MomentActivities>({
  startToCloseTimeout: '20 minutes',
  scheduleToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry,
});

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw ApplicationFailure.nonRetryable(
      `tenantMoments: ${name} must be above 0, got ${value}`,
      'InvalidInputError',
    );
  return value;
}

export async function tenantMoments(input: TenantMomentsInput): Promise<TenantMomentsOutcome> {
  const { tenantId } = input;
  if (typeof tenantId !== 'string' || tenantId === '')
    throw ApplicationFailure.nonRetryable('tenantMoments: tenantId is missing', 'InvalidInputError');
  const maxModelCalls = positive('maxModelCalls', input.maxModelCalls, MOMENTS_DEFAULTS.maxModelCalls);
  const plan = await quick.planTenantMoments({
    tenantId,
    until: workflowInfo().startTime.toISOString(),
    lookbackHours: positive('lookbackHours', input.lookbackHours, MOMENTS_DEFAULTS.lookbackHours),
    sessionLimit: positive('sessionLimit', input.sessionLimit, MOMENTS_DEFAULTS.sessionLimit),
    resourceLimit: positive('resourceLimit', input.resourceLimit, MOMENTS_DEFAULTS.resourceLimit),
  });
  const outcome: TenantMomentsOutcome = {
    status: 'completed',
    tenantId,
    sessions: plan.sessions,
    resources: plan.resources,
    built: 0,
    moments: 0,
    modelCalls: 0,
    deferred: 0,
    provider: 'none',
    model: 'none',
  };
  if (plan.sources.length === 0) {
    return {
      ...outcome,
      status: 'skipped',
      reason: 'no session or document in the window that no moment cites',
    };
  }
  for (const [i, source] of plan.sources.entries()) {
    const planned = await quick.planMoments({ tenantId, transcript: source.transcript });
    if (outcome.modelCalls + planned.groups.length > maxModelCalls) {
      outcome.deferred = plan.sources.length - i;
      log.info('tenantMoments: model call cap reached', {
        tenantId,
        maxModelCalls,
        deferred: outcome.deferred,
      });
      break;
    }
    const results: MomentGroupResult[] = [];
    for (let start = 0; start < planned.groups.length; start += GROUP_WINDOW) {
      const window = planned.groups.slice(start, start + GROUP_WINDOW);
      results.push(
        ...(await Promise.all(
          window.map((group) =>
            model.buildMomentGroup({
              tenantId,
              transcript: source.transcript,
              transcriptRef: planned.transcriptRef,
              group,
              groupCount: planned.groups.length,
            }),
          ),
        )),
      );
    }
    outcome.modelCalls += planned.groups.length;
    const stored = await quick.storeMoments({
      tenantId,
      transcript: source.transcript,
      transcriptRef: planned.transcriptRef,
      groups: planned.groups.map((group, k) => ({
        ...group,
        resultKey: (results[k] as MomentGroupResult).resultKey,
      })),
      source: 'moments-task',
    });
    outcome.built++;
    outcome.moments += stored.stored;
    // As buildMoments does (behind the same patch): the moments get vectors where the model is loaded.
    const { embeddings } = await embedStoredMoments(tenantId, planned.transcriptRef, stored);
    if (embeddings) {
      outcome.embedded = (outcome.embedded ?? 0) + embeddings.embedded;
      if (embeddings.status === 'failed') outcome.embedFailures = (outcome.embedFailures ?? 0) + 1;
    }
    const last = results.at(-1);
    if (last) {
      outcome.provider = last.provider;
      outcome.model = last.model;
    }
  }
  log.info('tenantMoments completed', { ...outcome });
  return outcome;
}
