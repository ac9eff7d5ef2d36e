/**
 * The dreaming worker's per-tenant tasks other than the dream itself, as `p8fs dreaming process --task`
 * runs them: start the task's workflow for one tenant, wait (saying within seconds when no worker polls
 * its queue), print what it wrote. Moments and the user summary run on the user insight worker's queue
 * (p8fs-user-insight, `p8fs user-insight-worker`).
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config/config.js';
import type { AffinityInput, AffinityOutcome } from '../domain/insight/affinity.js';
import type { TenantMomentsInput, TenantMomentsOutcome } from '../domain/insight/tenant-moments.js';
import type { UserSummaryInput, UserSummaryOutcome } from '../domain/insight/user-summary.js';
import { llmTaskQueue, userInsightTaskQueue, WorkflowTypes } from '../temporal/names.js';
import { startWorkflow } from '../temporal/starts.js';
import type { resourceAffinity } from '../workflows/affinity.js';
import type { tenantMoments } from '../workflows/tenant-moments.js';
import type { userSummary } from '../workflows/user-summary.js';
import { dreamingQueue, userInsightQueue, watchForPollers } from './no-poller.js';

export const TENANT_TASKS = ['dreams', 'moments', 'user-summary', 'affinity'] as const;
export type TenantTask = (typeof TENANT_TASKS)[number];

/** Starts tenantMoments for one tenant (fairness key: the tenant) and waits for its outcome. */
export async function runMomentsTask(
  cfg: Config,
  client: Client,
  input: TenantMomentsInput,
  say: (line: string) => void,
): Promise<TenantMomentsOutcome & { workflowId: string }> {
  const workflowId = `moments/${input.tenantId}/${new Date().toISOString()}`;
  const handle = await startWorkflow<typeof tenantMoments>(
    client,
    WorkflowTypes.tenantMoments,
    input,
    { taskQueue: userInsightTaskQueue(cfg), workflowId },
    {
      tenantId: input.tenantId,
      presentation: {
        staticSummary: `moments from sessions and documents · tenant ${input.tenantId}`,
        memo: { tenantId: input.tenantId, task: 'moments' },
      },
    },
  );
  say(`started tenantMoments ${workflowId} on ${userInsightTaskQueue(cfg)}`);
  const watch = watchForPollers(client, cfg.temporal.namespace, [userInsightQueue(cfg)], say);
  const outcome = await handle.result().finally(() => watch.stop());
  if (outcome.status === 'skipped') {
    say(`skipped: ${outcome.reason}`);
    return { ...outcome, workflowId };
  }
  say(
    `completed: ${outcome.sessions} session(s) and ${outcome.resources} resource(s) new in the window → ${outcome.moments} moment(s) from ${outcome.built} source(s), ${outcome.modelCalls} model call(s) (${outcome.provider}/${outcome.model})`,
  );
  if (outcome.deferred > 0)
    say(
      `  ${outcome.deferred} source(s) left for the next run (cap of ${input.maxModelCalls ?? 'default'} model calls)`,
    );
  say(`  p8fs moments list --tenant ${input.tenantId}`);
  return { ...outcome, workflowId };
}

/** Starts userSummary for one tenant and waits: the p8fs-user-info resource is written. */
export async function runUserSummaryTask(
  cfg: Config,
  client: Client,
  input: UserSummaryInput,
  say: (line: string) => void,
): Promise<UserSummaryOutcome & { workflowId: string }> {
  const workflowId = `user-summary/${input.tenantId}/${new Date().toISOString()}`;
  const handle = await startWorkflow<typeof userSummary>(
    client,
    WorkflowTypes.userSummary,
    input,
    { taskQueue: userInsightTaskQueue(cfg), workflowId },
    {
      tenantId: input.tenantId,
      presentation: {
        staticSummary: `user summary · tenant ${input.tenantId}`,
        memo: { tenantId: input.tenantId, task: 'user-summary' },
      },
    },
  );
  say(`started userSummary ${workflowId} on ${userInsightTaskQueue(cfg)}`);
  const watch = watchForPollers(client, cfg.temporal.namespace, [userInsightQueue(cfg)], say);
  const outcome = await handle.result().finally(() => watch.stop());
  say(
    `completed: p8fs-user-info (resource ${outcome.resourceId}, ${outcome.generatedBy}, ${outcome.provider}/${outcome.model}) from ${outcome.sessions} session(s), ${outcome.moments} moment(s), ${outcome.resources} resource(s), ${outcome.files} file(s)`,
  );
  return { ...outcome, workflowId };
}

/** Starts resourceAffinity for one tenant and waits: edges in the linked resources' graph_paths. */
export async function runAffinityTask(
  cfg: Config,
  client: Client,
  input: AffinityInput,
  say: (line: string) => void,
): Promise<AffinityOutcome & { workflowId: string }> {
  const workflowId = `affinity/${input.tenantId}/${new Date().toISOString()}`;
  const mode = input.useLlm ? 'llm' : 'basic';
  const handle = await startWorkflow<typeof resourceAffinity>(
    client,
    WorkflowTypes.resourceAffinity,
    input,
    { taskQueue: llmTaskQueue(cfg), workflowId },
    {
      tenantId: input.tenantId,
      presentation: {
        staticSummary: `resource affinity (${mode}) · tenant ${input.tenantId}`,
        memo: { tenantId: input.tenantId, task: 'affinity' },
      },
    },
  );
  say(`started resourceAffinity ${workflowId} (${mode}) on ${llmTaskQueue(cfg)}`);
  const watch = watchForPollers(client, cfg.temporal.namespace, [dreamingQueue(cfg)], say);
  const outcome = await handle.result().finally(() => watch.stop());
  if (outcome.status === 'skipped') {
    say(`skipped: ${outcome.reason}`);
    return { ...outcome, workflowId };
  }
  const calls =
    outcome.mode === 'llm' ? `, ${outcome.modelCalls} model call(s) (${outcome.generatedBy})` : '';
  say(
    `completed: ${outcome.linked} resource(s) linked by ${outcome.provider} vectors → ${outcome.edgesAdded} new edge(s), ${outcome.edgesHeld} held${calls}`,
  );
  if (outcome.remaining > 0) say(`  ${outcome.remaining} resource(s) left for the next run`);
  say(`  p8fs related FILE_OR_RESOURCE --tenant ${input.tenantId}`);
  return { ...outcome, workflowId };
}
