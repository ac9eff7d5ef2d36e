/**
 * resourceAffinity (`p8fs dreaming process --task affinity [--use-llm]`): edges between a tenant's related
 * resources in resources.graph_paths, on the p8fs-llm task queue. planAffinity picks the resources whose
 * current vector has no edges computed from it yet (at most P8FS_AFFINITY_RESOURCES_PER_RUN), then pages
 * of them are linked one activity each (10 resources in basic mode; one in LLM mode, where each candidate
 * pair is one model call, at most maxModelCalls per run). The history holds ids and counts only. A run
 * again finds nothing to link; the resources past a bound wait for the next run.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { AffinityActivities } from '../activities/insight/affinity.js';
import type { AffinityInput, AffinityOutcome } from '../domain/insight/affinity.js';
import { activityRetry } from './failures.js';

const retry = activityRetry('2 seconds', '2 minutes');
const quick = proxyActivities<AffinityActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '2 hours',
  retry,
});
const link = proxyActivities<AffinityActivities>({
  startToCloseTimeout: '20 minutes',
  scheduleToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute', // as dreams and moments: llm.generate heartbeats while it waits on the model
  retry,
});

const BASIC_PAGE = 10;

function positive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0))
    throw ApplicationFailure.nonRetryable(
      `resourceAffinity: ${name} must be a whole number above 0, got ${value}`,
      'InvalidInputError',
    );
}

export async function resourceAffinity(input: AffinityInput): Promise<AffinityOutcome> {
  const { tenantId } = input;
  if (typeof tenantId !== 'string' || tenantId === '')
    throw ApplicationFailure.nonRetryable('resourceAffinity: tenantId is missing', 'InvalidInputError');
  positive('maxResources', input.maxResources);
  positive('maxModelCalls', input.maxModelCalls);
  if (input.threshold !== undefined && !(input.threshold >= -1 && input.threshold <= 1))
    throw ApplicationFailure.nonRetryable(
      `resourceAffinity: threshold must be a cosine similarity from -1 to 1, got ${input.threshold}`,
      'InvalidInputError',
    );
  const mode = input.useLlm ? 'llm' : 'basic';
  const plan = await quick.planAffinity(input);
  const outcome: AffinityOutcome = {
    status: 'completed',
    tenantId,
    mode,
    provider: plan.provider,
    linked: 0,
    edgesAdded: 0,
    edgesHeld: 0,
    modelCalls: 0,
    generatedBy: 'none',
    remaining: plan.remaining,
  };
  if (plan.resourceIds.length === 0)
    return {
      ...outcome,
      status: 'skipped',
      reason: `no resource of ${tenantId} has a ${plan.provider} vector without edges computed from it`,
    };
  const size = mode === 'llm' ? 1 : BASIC_PAGE;
  for (let start = 0; start < plan.resourceIds.length; start += size) {
    const page = await link.linkAffinityPage({
      tenantId,
      resourceIds: plan.resourceIds.slice(start, start + size),
      mode,
      provider: plan.provider,
      threshold: plan.threshold,
      maxModelCalls: plan.maxModelCalls - outcome.modelCalls,
    });
    outcome.linked += page.linked;
    outcome.edgesAdded += page.edgesAdded;
    outcome.edgesHeld += page.edgesHeld;
    outcome.modelCalls += page.modelCalls;
    if (page.generatedBy !== 'none') outcome.generatedBy = page.generatedBy;
    if (page.deferred > 0) {
      outcome.remaining += page.deferred + Math.max(0, plan.resourceIds.length - start - size);
      break;
    }
  }
  return outcome;
}
