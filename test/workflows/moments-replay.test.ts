/**
 * Replay of a real tenantMoments history (test/histories/moments/tenant-moments-capped.json, recorded on
 * the test stack by `P8FS_RECORD_HISTORIES=1 npx vitest run test/integration/tenant-moments.test.ts`):
 * the plan, three sources built one model call each, the fourth planned and deferred by the model call
 * cap. A change to the workflow that issues other commands for this history fails here; never re-record
 * to make a failing replay pass: use patched().
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { bundleWorkflows, historyFromJson, installQuietRuntime } from '../support/workflow-env.js';

const FILE = join(projectRoot(), 'test', 'histories', 'moments', 'tenant-moments-capped.json');
const json = JSON.parse(readFileSync(FILE, 'utf8')) as {
  events: Array<{
    eventType: string;
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  }>;
};

describe('saved tenantMoments history', () => {
  it('planned, built three sources (plan, one model call, store each), deferred the fourth, completed', () => {
    const scheduled = json.events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes
        ? [e.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
    const source = ['planMoments', 'buildMomentGroup', 'storeMoments'];
    expect(scheduled).toEqual(['planTenantMoments', ...source, ...source, ...source, 'planMoments']);
    expect(json.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('replays against the current workflow code without a nondeterminism error', async () => {
    installQuietRuntime();
    const workflowBundle = await bundleWorkflows();
    const history = historyFromJson(json);
    await expect(
      Worker.runReplayHistory({ workflowBundle }, history, 'tenant-moments-capped'),
    ).resolves.toBeUndefined();
  }, 120_000);
});
