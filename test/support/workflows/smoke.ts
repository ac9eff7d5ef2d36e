// A trivial workflow and activity, only to prove a real worker runs code on the real Temporal server.
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../smoke-activities.js';

const { describeHost } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export async function smokeWorkflow(name: string): Promise<string> {
  const host = await describeHost();
  return `hello ${name} from pid ${host.pid}`;
}
