/**
 * The `moments` rows of one transcript of one tenant, replaced as a whole in one transaction: an advisory
 * lock on (tenant, transcript) serialises concurrent runs, the old rows go, the new ones (deterministic
 * ids: tenant + transcript + ordinal) come in. A retried or repeated run leaves exactly one set of rows.
 * A transcript's rows are found by metadata->>'transcript_ref' (its transcript_id, else a digest).
 */
import type pg from 'pg';
import { holdVectors, restoreVectors, transcriptScope } from '../../db/embeddings/index.js';
import { inTransaction } from '../../db/transaction.js';
import { cleanJsonValue, cleanText } from '../../domain/clean-text.js';
import { P8FS_NAMESPACE, uuidV5 } from '../../domain/ids.js';
import { isoInstant } from '../../domain/insight/moment-heuristic.js';
import { momentIdFor } from '../../domain/insight/moment-ids.js';
import type { Moment } from '../../domain/insight/moment-model.js';
import type { MomentBuilderResult } from '../../domain/insight/moment-output.js';

const COLUMNS = [
  'id',
  'tenant_id',
  'name',
  'category',
  'content',
  'summary',
  'ordinal',
  'uri',
  'metadata',
  'resource_timestamp',
  'resource_ends_timestamp',
  'present_persons',
  'location',
  'background_sounds',
  'moment_type',
  'emotion_tags',
  'topic_tags',
  'speakers',
] as const;

function rowValues(tenantId: string, transcriptRef: string, moment: Moment, ordinal: number): unknown[] {
  const text = (value: string | null) => (value === null ? null : cleanText(value));
  return [
    momentIdFor(tenantId, transcriptRef, ordinal),
    tenantId,
    cleanText(moment.name),
    text(moment.category),
    cleanText(moment.content),
    text(moment.summary),
    ordinal,
    text(moment.uri),
    JSON.stringify(cleanJsonValue(moment.metadata)),
    moment.resource_timestamp,
    moment.resource_ends_timestamp,
    JSON.stringify(cleanJsonValue(moment.present_persons)),
    text(moment.location),
    text(moment.background_sounds),
    moment.moment_type,
    moment.emotion_tags.map(cleanText),
    moment.topic_tags.map(cleanText),
    JSON.stringify(cleanJsonValue(moment.speakers)),
  ];
}

/** The buildMoments run's jobs row (job_type build_moments), one per workflow id. */
export interface MomentsJob {
  workflowId: string;
  runId: string;
  payload: Record<string, unknown>;
}

export function momentsJobId(workflowId: string): string {
  return uuidV5(`job:moments:${workflowId}`, P8FS_NAMESPACE);
}

/** The run's job moves to `status` (running when planned, then completed or failed), inserted when missing. */
export async function upsertMomentsJob(
  db: pg.Pool | pg.PoolClient,
  tenantId: string,
  job: MomentsJob,
  change:
    | { status: 'running' }
    | { status: 'completed'; result: unknown }
    | { status: 'failed'; error: string },
): Promise<void> {
  const done = change.status !== 'running';
  await db.query(
    `INSERT INTO jobs (id, tenant_id, job_type, status, payload, result, error, workflow_id, run_id, started_at, completed_at)
     VALUES ($1, $2, 'build_moments', $3, $4, $5, $6, $7, $8, now(), CASE WHEN $9::boolean THEN now() END)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, payload = jobs.payload || EXCLUDED.payload,
       result = EXCLUDED.result, error = EXCLUDED.error, run_id = EXCLUDED.run_id,
       started_at = CASE WHEN EXCLUDED.status = 'running' THEN now() ELSE COALESCE(jobs.started_at, now()) END,
       completed_at = EXCLUDED.completed_at`,
    [
      momentsJobId(job.workflowId),
      tenantId,
      change.status,
      JSON.stringify(cleanJsonValue(job.payload)),
      change.status === 'completed' ? JSON.stringify(cleanJsonValue(change.result)) : null,
      change.status === 'failed' ? cleanText(change.error) : null,
      job.workflowId,
      job.runId,
      done,
    ],
  );
}

/**
 * The transcript's moments replaced and, given a job, the job completed with the MomentBuilder output as
 * its result (`{moments, analysis_summary, total_moments}` plus the rows' moment_ids, the original's
 * job result key), in one transaction. The output is written here, never through the workflow's history.
 */
export async function replaceMoments(
  pool: pg.Pool,
  tenantId: string,
  transcriptRef: string,
  output: MomentBuilderResult,
  job?: MomentsJob,
): Promise<{ stored: number; replaced: number }> {
  const { moments } = output;
  return inTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `moments:${tenantId}:${transcriptRef}`,
    ]);
    // The delete would take the moments' vectors along: held, and put back on unchanged moments below.
    const vectors = transcriptScope(tenantId, transcriptRef);
    const held = await holdVectors(db, vectors);
    const removed = await db.query(
      "DELETE FROM moments WHERE tenant_id = $1 AND metadata->>'transcript_ref' = $2",
      [tenantId, transcriptRef],
    );
    // One multi-row INSERT per 200 moments: a transcript rarely has more than a few dozen.
    for (let start = 0; start < moments.length; start += 200) {
      const slice = moments.slice(start, start + 200);
      const values: unknown[] = [];
      const tuples = slice.map((moment, i) => {
        const row = rowValues(tenantId, transcriptRef, moment, start + i);
        const base = values.length;
        values.push(...row);
        return `(${row.map((_, k) => `$${base + k + 1}`).join(', ')})`;
      });
      await db.query(`INSERT INTO moments (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, values);
    }
    if (held) await restoreVectors(db, held, vectors);
    if (job) {
      const momentIds = moments.map((_, ordinal) => momentIdFor(tenantId, transcriptRef, ordinal));
      await upsertMomentsJob(db, tenantId, job, {
        status: 'completed',
        result: { ...output, moment_ids: momentIds },
      });
    }
    return { stored: moments.length, replaced: removed.rowCount ?? 0 };
  });
}

/** A transcript's stored moments in order, as rows (for the CLI, the demo and the tests). */
export async function loadMoments(
  db: pg.Pool | pg.PoolClient,
  tenantId: string,
  transcriptRef?: string,
): Promise<MomentRow[]> {
  const result = await db.query(
    `SELECT id, tenant_id, name, category, content, summary, ordinal, uri, metadata, resource_timestamp,
            resource_ends_timestamp, present_persons, location, background_sounds, moment_type, emotion_tags,
            topic_tags, speakers
       FROM moments
      WHERE tenant_id = $1 AND ($2::text IS NULL OR metadata->>'transcript_ref' = $2)
      ORDER BY metadata->>'transcript_ref', ordinal`,
    [tenantId, transcriptRef ?? null],
  );
  // timestamptz comes back as Date: written back in the form the moment was validated in. A moment the
  // original P8FS wrote may have none (its model allows it): null stays null.
  const instantOf = (value: unknown) => (value instanceof Date ? isoInstant(value.getTime()) : null);
  return result.rows.map((row) => ({
    ...row,
    resource_timestamp: instantOf(row.resource_timestamp),
    resource_ends_timestamp: instantOf(row.resource_ends_timestamp),
  })) as MomentRow[];
}

export interface MomentRow extends Omit<Moment, 'uri'> {
  id: string;
  tenant_id: string;
  ordinal: number;
  uri: string | null;
}
