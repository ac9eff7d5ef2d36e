/**
 * `p8fs dream complete` (the seeds' `--completion`): settles dream jobs left pending. A job whose
 * workflow still runs is only reported (the workflow polls and stores by itself). A job whose workflow
 * is gone (terminated, failed, timed out, or never found) is settled from its OpenAI Batch: completed →
 * its output line is validated and stored as the dreams row; failed/expired/cancelled → the job fails
 * with that reason; still running → reported, to be completed by a later run. One report per job.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type pg from 'pg';
import type { BatchOutputLine, OpenAiBatches } from '../activities/insight/dream-batch.js';
import { type DreamItem, storeBatchLine } from '../activities/insight/dream-finish.js';
import { failJobs } from '../activities/insight/dream-store.js';
import { P8FS_NAMESPACE, uuidV5 } from '../domain/ids.js';
import type { BatchPoll } from '../domain/insight/dream-analysis.js';

export interface CompleteDeps {
  pool: pg.Pool;
  s3: S3Client;
  /** The derived bucket, where prepareDream put the packed inputs. */
  bucket: string;
  temporal: Client;
  /** The OpenAI Batch API; undefined when the configured provider is not OpenAI. */
  batches?: OpenAiBatches;
  /** Model name recorded when the output line does not name one. */
  modelName: string;
  pollSeconds: number;
}

export type JobOutcome = 'running' | 'stored' | 'completed' | 'failed' | 'waiting' | 'unchecked';

export interface JobReport {
  jobId: string;
  tenantId: string;
  outcome: JobOutcome;
  /** One line for the terminal. */
  line: string;
}

interface JobRow {
  id: string;
  tenant_id: string;
  status: string;
  openai_batch_id: string | null;
  workflow_id: string;
  queued_at: Date;
  payload: {
    workflowId?: string;
    analysisId?: string;
    inputKey?: string;
    sessions?: number;
    resources?: number;
    windowHours?: number;
    analyzedFrom?: string;
    analyzedTo?: string;
  };
}

interface BatchResult {
  poll: BatchPoll;
  lines?: Map<string, BatchOutputLine>;
}

async function workflowState(temporal: Client, workflowId: string): Promise<string> {
  try {
    return (await temporal.workflow.getHandle(workflowId).describe()).status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw error;
  }
}

/** The job's analysis as prepareDream recorded it (older jobs: derived the way prepareDream derives it). */
function itemOf(job: JobRow, workflowId: string): DreamItem | undefined {
  const p = job.payload;
  if (!p.inputKey) return undefined;
  const analyzedTo = p.analyzedTo ?? job.queued_at.toISOString();
  const windowMs = (p.windowHours ?? 24) * 3600_000;
  return {
    tenantId: job.tenant_id,
    jobId: job.id,
    analysisId: p.analysisId ?? uuidV5(`dream:${workflowId}:${job.tenant_id}`, P8FS_NAMESPACE),
    inputKey: p.inputKey,
    sessions: p.sessions ?? 0,
    resources: p.resources ?? 0,
    analyzedTo,
    analyzedFrom: p.analyzedFrom ?? new Date(new Date(analyzedTo).getTime() - windowMs).toISOString(),
  };
}

export async function completeDreamJobs(deps: CompleteDeps, tenant?: string): Promise<JobReport[]> {
  const { pool, temporal, batches } = deps;
  // pending is the original P8FS's word (migration 0007); queued, our earlier releases' word for it.
  const jobs = await pool.query<JobRow>(
    `SELECT id, tenant_id, status, openai_batch_id, workflow_id, queued_at, payload FROM jobs
      WHERE job_type = 'dream_analysis' AND status IN ('pending', 'queued', 'running')
        AND ($1::text IS NULL OR tenant_id = $1)
      ORDER BY queued_at, id`,
    [tenant ?? null],
  );
  // One Batch may hold many tenants' requests (dreamBatch): read each batch and output file once.
  const results = new Map<string, Promise<BatchResult>>();
  const batchResult = (api: OpenAiBatches, batchId: string) => {
    let result = results.get(batchId);
    if (!result) {
      result = (async () => {
        const poll = await api.poll(batchId);
        if (poll.status !== 'completed') return { poll };
        const lines = new Map<string, BatchOutputLine>();
        if (poll.errorFileId) for (const [k, v] of await api.lines(poll.errorFileId)) lines.set(k, v);
        if (poll.outputFileId) for (const [k, v] of await api.lines(poll.outputFileId)) lines.set(k, v);
        return { poll, lines };
      })();
      results.set(batchId, result);
    }
    return result;
  };

  const reports: JobReport[] = [];
  for (const job of jobs.rows) {
    const report = (outcome: JobOutcome, text: string) =>
      reports.push({ jobId: job.id, tenantId: job.tenant_id, outcome, line: `${job.tenant_id}: ${text}` });
    const workflowId = job.payload.workflowId ?? job.workflow_id;
    const batchId = job.openai_batch_id;
    const state = await workflowState(temporal, workflowId);
    if (state === 'RUNNING') {
      report(
        'running',
        `workflow ${workflowId} running${batchId ? `, batch ${batchId}` : ''} (it polls every ${deps.pollSeconds} s and stores the result itself)`,
      );
      continue;
    }
    const ended = `workflow ${workflowId} ${state}`;
    const stored = await pool.query('SELECT id FROM dreams WHERE job_id = $1', [job.id]);
    if (stored.rows.length > 0) {
      await pool.query(
        `UPDATE jobs SET status = 'completed', completed_at = COALESCE(completed_at, now()) WHERE id = $1`,
        [job.id],
      );
      report('completed', `completed: dream ${stored.rows[0].id} was already stored (${ended})`);
      continue;
    }
    if (!batchId) {
      const reason = `${ended} before the job was settled, and it has no OpenAI batch to read the answer from`;
      await failJobs(pool, [job.id], reason);
      report('failed', `failed: ${reason}`);
      continue;
    }
    if (!batches) {
      report(
        'unchecked',
        `batch ${batchId} not checked: the configured LLM provider is not OpenAI (set OPENAI_API_KEY or P8FS_LLM_PROVIDER=openai) (${ended})`,
      );
      continue;
    }
    let result: BatchResult;
    try {
      result = await batchResult(batches, batchId);
    } catch (error) {
      report('unchecked', `batch ${batchId} could not be read: ${(error as Error).message} (${ended})`);
      continue;
    }
    const { poll } = result;
    if (poll.status === 'completed') {
      const item = itemOf(job, workflowId);
      if (!item) {
        const reason = `batch ${batchId} completed, but the job has no input key to rebuild the dream from (${ended})`;
        await failJobs(pool, [job.id], reason);
        report('failed', `failed: ${reason}`);
        continue;
      }
      const line = result.lines?.get(item.analysisId);
      const ctx = {
        pool,
        s3: deps.s3,
        bucket: deps.bucket,
        workflowId,
        provider: 'openai',
        modelName: line?.response?.body?.model ?? deps.modelName,
        schemaRetries: 0,
        batchId,
        batchStatus: poll.status,
      };
      const outcome = await storeBatchLine(ctx, item, line);
      if ('stored' in outcome) {
        const c = outcome.stored.counts;
        report(
          'stored',
          `stored dream ${outcome.stored.dreamId} from batch ${batchId} (${c.goals} goals, ${c.fears} fears, ${c.pendingTasks} tasks; ${ended})`,
        );
      } else {
        await failJobs(pool, [job.id], outcome.failed);
        report('failed', `failed: ${outcome.failed} (${ended})`);
      }
      continue;
    }
    if (poll.status === 'failed' || poll.status === 'expired' || poll.status === 'cancelled') {
      const reason = `batch ${batchId} ${poll.status} (${poll.completed}/${poll.total} requests completed) and ${ended}, so it was not resubmitted; start a new analysis: p8fs dream start --tenant ${job.tenant_id}`;
      await failJobs(pool, [job.id], reason);
      report('failed', `failed: ${reason}`);
      continue;
    }
    report(
      'waiting',
      `batch ${batchId} still ${poll.status} (${poll.completed}/${poll.total}); run p8fs dream complete again later (${ended})`,
    );
  }
  return reports;
}
