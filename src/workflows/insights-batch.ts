/**
 * insightsBatch (the `insights` schedule, `p8fs schedule apply`): for every tenant active in the window
 * (or the tenants given), the moments task (tenantMoments) and then the user summary (userSummary), each
 * a child workflow on this workflow's task queue (p8fs-user-insight). Tenants run in a sliding window of
 * P8FS_DREAM_CONCURRENT_TENANTS; every child carries its tenant as Temporal's fairness key, as every
 * start for a tenant does (src/temporal/starts.ts), so one tenant's big night cannot starve the others on
 * a server with fairness on. Each tenant gets at most maxModelCallsPerTenant model calls per run: the
 * summary one, the moments task the rest (what it cannot build waits, uncited, for the next run). One
 * tenant's failure is recorded and the others go on. Then resource affinity (resourceAffinity, basic mode:
 * vectors only, no model calls) links the tenant's new resources, a child on p8fs-llm where the
 * embedding provider is. Runs recorded before affinity joined (no 'insights-affinity' marker) replay
 * without it.
 */
import { executeChild, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { InsightTenantActivities } from '../activities/insight/insight-tenants.js';
import { tenantFairnessKey } from '../domain/fairness.js';
import type {
  InsightsBatchInput,
  InsightsBatchOutcome,
  TenantInsightResult,
} from '../domain/insight/insights-batch.js';
import { MOMENTS_DEFAULTS } from '../domain/insight/tenant-moments.js';
import { resourceAffinity } from './affinity.js';
import { activityRetry, describeFailure } from './failures.js';
import { tenantMoments } from './tenant-moments.js';
import { userSummary } from './user-summary.js';

const steps = proxyActivities<InsightTenantActivities>({
  startToCloseTimeout: '2 minutes',
  retry: activityRetry('2 seconds', '1 minute'),
});

/** What one run does per tenant, in order (affinity last, from the insights-affinity patch on). */
const TASKS = ['moments', 'user-summary'];
const AFFINITY_PATCH = 'insights-affinity';
/** The user summary's one model call, taken from the tenant's cap before the moments task gets the rest. */
const SUMMARY_CALLS = 1;

export async function insightsBatch(input: InsightsBatchInput = {}): Promise<InsightsBatchOutcome> {
  const lookbackHours = input.lookbackHours ?? MOMENTS_DEFAULTS.lookbackHours;
  const withAffinity = patched(AFFINITY_PATCH);
  const listed = await steps.listInsightTenants({
    until: workflowInfo().startTime.toISOString(),
    lookbackHours,
    ...(input.tenantIds ? { tenantIds: input.tenantIds } : {}),
  });
  const cap = input.maxModelCallsPerTenant ?? listed.maxModelCallsPerTenant;
  const momentCalls = Math.max(1, cap - SUMMARY_CALLS);
  const parent = workflowInfo().workflowId;
  const outcome: InsightsBatchOutcome = {
    tenants: listed.tenants.length,
    completed: 0,
    failed: 0,
    tasks: withAffinity ? [...TASKS, 'affinity'] : TASKS,
    results: [],
  };
  log.info('insightsBatch started', { tenants: listed.tenants.length, cap });
  const runTenant = async (tenantId: string): Promise<TenantInsightResult> => {
    const priority = { fairnessKey: tenantFairnessKey(tenantId) };
    const result: TenantInsightResult = { tenantId, moments: 0, modelCalls: 0, deferred: 0, summary: false };
    try {
      const moments = await executeChild(tenantMoments, {
        workflowId: `${parent}/moments/${tenantId}`,
        priority,
        args: [{ tenantId, lookbackHours, maxModelCalls: momentCalls }],
      });
      result.moments = moments.moments;
      result.modelCalls = moments.modelCalls;
      result.deferred = moments.deferred;
      await executeChild(userSummary, {
        workflowId: `${parent}/user-summary/${tenantId}`,
        priority,
        args: [{ tenantId }],
      });
      result.summary = true;
      result.modelCalls += SUMMARY_CALLS;
      if (withAffinity) {
        if (!listed.llmTaskQueue) throw new Error('listInsightTenants named no p8fs-llm task queue');
        const affinity = await executeChild(resourceAffinity, {
          workflowId: `${parent}/affinity/${tenantId}`,
          taskQueue: listed.llmTaskQueue,
          priority,
          args: [{ tenantId }],
        });
        result.linked = affinity.linked;
      }
    } catch (error) {
      result.failed = describeFailure(error).message;
    }
    return result;
  };
  // A sliding window: a new tenant starts as soon as one finishes.
  const queue = [...listed.tenants];
  const lane = async () => {
    for (let tenantId = queue.shift(); tenantId !== undefined; tenantId = queue.shift()) {
      const result = await runTenant(tenantId);
      outcome.results.push(result);
      if (result.failed) outcome.failed++;
      else outcome.completed++;
    }
  };
  const lanes = Math.max(1, Math.min(listed.concurrency, listed.tenants.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  outcome.results.sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
  log.info('insightsBatch completed', { ...outcome, results: outcome.results.length });
  return outcome;
}
