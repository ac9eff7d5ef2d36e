/**
 * `p8fs ingest --wait`: follows each file's workflow to its end, with its steps as they happen, and the
 * table at the end. Reads only: a workflow still running at the deadline is left running and named.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../config/config.js';
import type { IngestOutcome } from '../domain/ingest.js';
import type { BuildMomentsOutcome } from '../domain/insight/build-moments.js';
import type { Tier } from '../domain/tiers.js';
import { dreamingQueue, storageQueue, watchForPollers } from './no-poller.js';
import { followActivities } from './workflow-progress.js';

export interface IngestRow {
  file: string;
  path: string;
  /** uploaded, then started/completed/failed/superseded/not started/running, or why it was not routed. */
  status: string;
  tier?: string;
  workflowId?: string;
  /** A transcript: buildMoments on the LLM queue instead of ingestFile. */
  moments?: boolean;
  /** How its storage event was delivered. */
  delivery?: string;
  chunks?: number;
  seconds?: number;
  reason?: string;
}

/** How long a workflow may take to appear once its event is on the stream (the bridge's routing). */
const START_WAIT_MS = 60_000;

async function waitForStart(client: Client, workflowId: string, deadline: number): Promise<boolean> {
  const until = Math.min(deadline, Date.now() + START_WAIT_MS);
  while (Date.now() < until) {
    try {
      await client.workflow.getHandle(workflowId).describe();
      return true;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      await sleep(200);
    }
  }
  return false;
}

function failureText(error: unknown): string {
  const cause = error instanceof WorkflowFailedError ? (error.cause ?? error) : error;
  return (cause as Error)?.message ?? String(cause);
}

async function followOne(
  cfg: Config,
  client: Client,
  row: IngestRow,
  deadline: number,
  say: (line: string) => void,
): Promise<void> {
  const workflowId = row.workflowId;
  if (!workflowId) return;
  const waitStarted = Date.now();
  if (!(await waitForStart(client, workflowId, deadline))) {
    row.status = 'not started';
    row.reason = `no workflow ${workflowId} after ${Math.round((Date.now() - waitStarted) / 1000)} s: is a bridge consuming ${cfg.nats.eventsStream}? (\`p8fs status\`)`;
    say(`✗ ${row.file}: ${row.reason}`);
    return;
  }
  row.status = 'running';
  const handle = client.workflow.getHandle(workflowId);
  let done = false;
  const following = followActivities(
    handle,
    (step) => {
      if (step.state === 'started') return;
      const attempt = step.state === 'retrying' ? ` (attempt ${step.attempt})` : '';
      say(`  ${row.file}: ${step.activity} ${step.state}${attempt}${step.detail ? `: ${step.detail}` : ''}`);
    },
    () => done,
  );
  const remaining = deadline - Date.now();
  const timedOut = Symbol('timed out');
  try {
    const result = await Promise.race([
      handle.result() as Promise<IngestOutcome | BuildMomentsOutcome>,
      sleep(Math.max(0, remaining), timedOut, { ref: false }),
    ]);
    if (result === timedOut) {
      row.reason = `still running at the --timeout; follow it with: temporal workflow describe --workflow-id '${workflowId}'`;
    } else if ('moments' in result) {
      row.status = result.status;
      row.reason = `${result.moments} moments`;
    } else {
      row.status = result.status;
      if (result.status === 'completed') row.chunks = result.chunkCount;
      if (result.status === 'failed') row.reason = `${result.errorType}: ${result.message}`;
      if (result.status === 'superseded') row.reason = result.reason;
    }
  } catch (error) {
    row.status = 'failed';
    row.reason = failureText(error);
  } finally {
    done = true;
    await following.catch(() => undefined);
  }
  const description = await handle.describe().catch(() => undefined);
  if (description?.closeTime) {
    row.seconds = (description.closeTime.getTime() - description.startTime.getTime()) / 1000;
  }
  const mark = row.status === 'completed' ? '✓' : '✗';
  say(
    `${mark} ${row.file}: ${row.status}${row.chunks !== undefined ? `, ${row.chunks} chunks` : ''}${row.reason ? ` (${row.reason})` : ''}`,
  );
}

/** Follows every routed row at once until each ends or `timeoutSeconds` pass. */
export async function followIngests(
  cfg: Config,
  client: Client,
  rows: IngestRow[],
  timeoutSeconds: number,
  say: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const routed = rows.filter((r) => r.workflowId);
  say(`following ${routed.length} workflow(s) (at most ${timeoutSeconds} s)`);
  const queues = routed.map((r) => (r.moments ? dreamingQueue(cfg) : storageQueue(cfg, r.tier as Tier)));
  const watch = watchForPollers(client, cfg.temporal.namespace, queues, say);
  try {
    await Promise.all(rows.map((row) => followOne(cfg, client, row, deadline, say)));
  } finally {
    await watch.stop();
  }
}

export function printIngestTable(rows: IngestRow[]): void {
  const header = ['file', 'tier', 'status', 'chunks', 'seconds', 'reason'];
  const body = rows.map((r) => [
    r.file,
    r.moments ? 'llm' : (r.tier ?? '-'),
    r.status,
    r.chunks?.toString() ?? '-',
    r.seconds?.toFixed(1) ?? '-',
    r.reason ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const cells of body) console.log(line(cells));
}
