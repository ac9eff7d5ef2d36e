/**
 * Replay of real resourceAffinity histories (test/histories/affinity/*.json, recorded on the test stack by
 * `P8FS_RECORD_HISTORIES=1 npx vitest run test/integration/affinity.test.ts`): basic mode (the plan, one
 * page of 4 resources) and --use-llm --relink (the plan, one page per resource). A change to the workflow
 * that issues other commands for these histories fails here; never re-record to make a failing replay
 * pass: use patched().
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { bundleWorkflows, historyFromJson, installQuietRuntime } from '../support/workflow-env.js';

interface HistoryJson {
  events: Array<{
    eventType: string;
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  }>;
}

function load(name: string): HistoryJson {
  return JSON.parse(
    readFileSync(join(projectRoot(), 'test', 'histories', 'affinity', `${name}.json`), 'utf8'),
  );
}

const scheduled = (json: HistoryJson) =>
  json.events.flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : [],
  );

describe('saved resourceAffinity histories', () => {
  it('basic: planned, linked one page of resources, completed', () => {
    const json = load('affinity-basic');
    expect(scheduled(json)).toEqual(['planAffinity', 'linkAffinityPage']);
    expect(json.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('llm: planned, linked one resource per page (4), completed', () => {
    const json = load('affinity-llm');
    expect(scheduled(json)).toEqual(['planAffinity', ...Array(4).fill('linkAffinityPage')]);
    expect(json.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('both replay against the current workflow code without a nondeterminism error', async () => {
    installQuietRuntime();
    const workflowBundle = await bundleWorkflows();
    for (const name of ['affinity-basic', 'affinity-llm'])
      await expect(
        Worker.runReplayHistory({ workflowBundle }, historyFromJson(load(name)), name),
      ).resolves.toBeUndefined();
  }, 120_000);
});
