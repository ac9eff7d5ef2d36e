/**
 * SQL of dream analysis: the tenant's recent sessions and resources (newest first, limited), the jobs
 * row that follows the analysis (queued → running → completed | failed, with the OpenAI batch id) and
 * the dreams row (one per analysis id, so a retried store replaces instead of adding).
 */
import type pg from 'pg';
import type { DreamSource } from '../../domain/insight/dream-input.js';
import type { DreamModel } from '../../domain/insight/dream-model.js';
import { sessionText } from '../../domain/insight/session.js';

export interface SourceQuery {
  tenantId: string;
  /** Rows written or active after this instant are read. */
  since: string;
  sessionLimit: number;
  resourceLimit: number;
}

export async function readDreamSources(pool: pg.Pool, q: SourceQuery): Promise<DreamSource[]> {
  const sessions = await pool.query<{
    id: string;
    name: string;
    messages: Array<{ role: string; content: string }>;
    at: Date | null;
  }>(
    `SELECT id, name, messages, GREATEST(updated_at, COALESCE(last_message_at, updated_at)) AS at
       FROM sessions
      WHERE tenant_id = $1 AND GREATEST(updated_at, COALESCE(last_message_at, updated_at)) >= $2
      ORDER BY at DESC, id LIMIT $3`,
    [q.tenantId, q.since, q.sessionLimit],
  );
  const resources = await pool.query<{
    id: string;
    name: string;
    ordinal: number;
    file_id: string | null;
    content: string;
    at: Date | null;
  }>(
    `SELECT id, name, ordinal, file_id, content, COALESCE(resource_timestamp, updated_at) AS at
       FROM resources
      WHERE tenant_id = $1 AND updated_at >= $2
      ORDER BY updated_at DESC, file_id, ordinal LIMIT $3`,
    [q.tenantId, q.since, q.resourceLimit],
  );
  return [
    ...sessions.rows.map(
      (row): DreamSource => ({
        kind: 'session',
        id: row.id,
        name: row.name,
        ...(row.at ? { timestamp: row.at.toISOString() } : {}),
        text: sessionText(row.messages),
      }),
    ),
    ...resources.rows.map(
      (row): DreamSource => ({
        kind: 'resource',
        id: row.id,
        name: row.ordinal > 0 ? `${row.name} (part ${row.ordinal + 1})` : row.name,
        ...(row.file_id ? { fileId: row.file_id } : {}),
        ...(row.at ? { timestamp: row.at.toISOString() } : {}),
        text: row.content,
      }),
    ),
  ];
}

export interface DreamJob {
  jobId: string;
  tenantId: string;
  workflowId: string;
  runId: string;
  payload: Record<string, unknown>;
}

/**
 * pending (the original P8FS's word for a queued job), unless the job already moved on (a retried
 * prepare must not move it back).
 */
export async function upsertQueuedJob(pool: pg.Pool, job: DreamJob): Promise<void> {
  await pool.query(
    `INSERT INTO jobs (id, tenant_id, job_type, status, payload, workflow_id, run_id)
     VALUES ($1, $2, 'dream_analysis', 'pending', $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET payload = jobs.payload || EXCLUDED.payload, run_id = EXCLUDED.run_id`,
    [job.jobId, job.tenantId, JSON.stringify(job.payload), job.workflowId, job.runId],
  );
}

export async function markJobsRunning(
  pool: pg.Pool,
  jobIds: string[],
  batch?: { batchId: string; round: number },
): Promise<void> {
  await pool.query(
    `UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, now()),
            openai_batch_id = COALESCE($2, openai_batch_id),
            payload = CASE WHEN $3::int IS NULL THEN payload ELSE payload || jsonb_build_object('batchRound', $3::int) END
      WHERE id = ANY($1) AND status IN ('pending', 'queued', 'running')`,
    [jobIds, batch?.batchId ?? null, batch?.round ?? null],
  );
}

/** The batch a round already created for these jobs (a retried submit must not create a second one). */
export async function batchOfRound(
  pool: pg.Pool,
  jobIds: string[],
  round: number,
): Promise<string | undefined> {
  const rows = await pool.query<{ openai_batch_id: string | null; round: number | null }>(
    `SELECT openai_batch_id, (payload->>'batchRound')::int AS round FROM jobs WHERE id = ANY($1)`,
    [jobIds],
  );
  const ids = new Set(
    rows.rows.filter((r) => r.round === round && r.openai_batch_id).map((r) => r.openai_batch_id),
  );
  return rows.rows.length === jobIds.length && ids.size === 1 ? ([...ids][0] ?? undefined) : undefined;
}

export async function failJobs(pool: pg.Pool, jobIds: string[], message: string): Promise<void> {
  await pool.query(
    `UPDATE jobs SET status = 'failed', error = $2, completed_at = now()
      WHERE id = ANY($1) AND status <> 'completed'`,
    [jobIds, message],
  );
}

export async function completeSkippedJob(pool: pg.Pool, jobId: string, reason: string): Promise<void> {
  await pool.query(
    `UPDATE jobs SET status = 'completed', result = $2, completed_at = now(), started_at = COALESCE(started_at, now())
      WHERE id = $1`,
    [jobId, JSON.stringify({ skipped: reason })],
  );
}

export interface StoredDream {
  dreamId: string;
  jobId: string;
  tenantId: string;
  workflowId: string;
  model: DreamModel;
  provider: string;
  modelName: string;
  analyzedFrom: string;
  analyzedTo: string;
}

/**
 * The dreams row (replaced on retry) and the job completed, in one transaction. jobs.result holds the
 * whole validated DreamModel, as in the original (`job.result['goals']`): written here, by the activity,
 * never through the workflow's history; its size is bounded by the model's answer budget.
 */
export async function storeDream(pool: pg.Pool, dream: StoredDream): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const m = dream.model;
    await client.query(
      `INSERT INTO dreams (id, tenant_id, job_id, executive_summary, goals, fears, tasks, dreams, model,
                           provider, model_name, analyzed_from, analyzed_to, generated_by, workflow_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (id) DO UPDATE SET executive_summary = EXCLUDED.executive_summary, goals = EXCLUDED.goals,
         fears = EXCLUDED.fears, tasks = EXCLUDED.tasks, dreams = EXCLUDED.dreams, model = EXCLUDED.model,
         provider = EXCLUDED.provider, model_name = EXCLUDED.model_name, generated_by = EXCLUDED.generated_by`,
      [
        dream.dreamId,
        dream.tenantId,
        dream.jobId,
        m.executive_summary,
        JSON.stringify(m.goals),
        JSON.stringify(m.fears),
        JSON.stringify(m.pending_tasks),
        JSON.stringify(m.dreams),
        JSON.stringify(m),
        dream.provider,
        dream.modelName,
        dream.analyzedFrom,
        dream.analyzedTo,
        m.generated_by,
        dream.workflowId,
      ],
    );
    await client.query(
      `UPDATE jobs SET status = 'completed', result = $2, error = NULL, completed_at = now(),
              started_at = COALESCE(started_at, now()) WHERE id = $1`,
      [dream.jobId, JSON.stringify(m)],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
