/**
 * Replay of a real insightsBatch history (test/histories/insights/insights-batch-two-tenants.json, recorded
 * on the test stack by `P8FS_RECORD_HISTORIES=1 npx vitest run test/integration/insights-batch.test.ts`):
 * the tenants listed, then per tenant a tenantMoments child and a userSummary child, two tenants at once.
 * A change to the workflow that issues other commands for this history fails here; never re-record to
 * make a failing replay pass: use patched().
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { bundleWorkflows, historyFromJson, installQuietRuntime } from '../support/workflow-env.js';

const FILE = join(projectRoot(), 'test', 'histories', 'insights', 'insights-batch-two-tenants.json');
const json = JSON.parse(readFileSync(FILE, 'utf8')) as {
  events: Array<{
    eventType: string;
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
    startChildWorkflowExecutionInitiatedEventAttributes?: {
      workflowId: string;
      workflowType: { name: string };
      priority?: { fairnessKey?: string };
    };
  }>;
};

/** The recorded run's own id: children are named `<parent>/<task>/<tenant>`, and replay must match them. */
function recordedWorkflowId(): string {
  const child = json.events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  const id = child?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '';
  return id.slice(0, id.indexOf('/moments/'));
}

describe('saved insightsBatch history', () => {
  it('listed the tenants, then ran moments and the summary of each as children keyed by tenant', () => {
    const activities = json.events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes
        ? [e.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
    expect(activities).toEqual(['listInsightTenants']);
    const children = json.events.flatMap((e) =>
      e.startChildWorkflowExecutionInitiatedEventAttributes
        ? [e.startChildWorkflowExecutionInitiatedEventAttributes]
        : [],
    );
    expect(children.map((c) => c.workflowType.name).sort()).toEqual([
      'tenantMoments',
      'tenantMoments',
      'userSummary',
      'userSummary',
    ]);
    expect(new Set(children.map((c) => c.priority?.fairnessKey)).size).toBe(2);
    expect(json.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('replays against the current workflow code without a nondeterminism error', async () => {
    installQuietRuntime();
    const workflowBundle = await bundleWorkflows();
    const history = historyFromJson(json);
    await expect(
      Worker.runReplayHistory({ workflowBundle }, history, recordedWorkflowId()),
    ).resolves.toBeUndefined();
  }, 120_000);
});
