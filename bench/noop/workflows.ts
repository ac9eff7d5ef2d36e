/**
 * The end-to-end bench's ceiling (bench/e2e.bench.ts): a workflow that runs `activities` no-op activities
 * one after another (and `localActivities` local ones, if the product uses any), as ingestFile runs its
 * steps, so its rate is what Temporal and one worker allow with that many round trips and no work.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { NoopActivities } from './activities.js';

export interface NoopChainInput {
  activities: number;
  localActivities: number;
}

const remote = proxyActivities<NoopActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<NoopActivities>({ startToCloseTimeout: '1 minute' });

export async function noopChain(input: NoopChainInput): Promise<number> {
  let steps = 0;
  for (let i = 0; i < input.localActivities; i++) steps += (await local.noop(i)) >= 0 ? 1 : 0;
  for (let i = 0; i < input.activities; i++) steps += (await remote.noop(i)) >= 0 ? 1 : 0;
  return steps;
}
