/**
 * The per-tenant cap on LLM work (issue 25, P8FS_LLM_JOBS_PER_TENANT_PER_HOUR): before a dream analysis
 * or a transcript's moments start, a claim row is written in the same transaction as the count that
 * allows it. A per-tenant advisory lock makes concurrent claims of one tenant take turns, so N+1
 * requests at the same instant start exactly N jobs; other tenants do not wait on it.
 */
import type pg from 'pg';
import { inTransaction } from './transaction.js';

export type LlmWorkKind = 'dream' | 'transcript';

/** The window of the cap: a claim counts for one hour from when it was made. */
export const LLM_CAP_WINDOW_SECONDS = 3600;

export type LlmClaim =
  /** `fresh`: written now (false: this work was claimed before); only a fresh claim is released. */
  | { kind: 'claimed'; claimId: string; fresh: boolean }
  /** Over the cap: `resetsAt` is when the oldest claim of the window leaves it (a slot frees). */
  | { kind: 'over-cap'; limit: number; windowSeconds: number; resetsAt: Date; retryAfterSeconds: number };

export interface ClaimRequest {
  tenantId: string;
  kind: LlmWorkKind;
  /** The workflow id (dream) or a key@time (transcript): claiming the same work again is not counted twice. */
  workId: string;
  /** P8FS_LLM_JOBS_PER_TENANT_PER_HOUR. */
  limit: number;
}

export async function claimLlmWork(pool: pg.Pool, request: ClaimRequest): Promise<LlmClaim> {
  const { tenantId, kind, workId, limit } = request;
  return inTransaction(pool, async (client) => {
    // Held until COMMIT: the count below and the insert are one step for this tenant. The key space is
    // namespaced so it cannot collide with another advisory lock of ours taken on the tenant's name.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`llm-cap:${tenantId}`]);
    // Rows out of the window count for nothing; dropping them here keeps the table one window long.
    await client.query(
      `DELETE FROM llm_work_claims WHERE tenant_id = $1 AND claimed_at < now() - make_interval(secs => $2)`,
      [tenantId, LLM_CAP_WINDOW_SECONDS],
    );
    const again = await client.query<{ id: string }>(
      'SELECT id FROM llm_work_claims WHERE tenant_id = $1 AND work_id = $2',
      [tenantId, workId],
    );
    if (again.rows[0]) return { kind: 'claimed', claimId: again.rows[0].id, fresh: false };
    const counted = await client.query<{ n: string; oldest: Date | null; now: Date }>(
      `SELECT count(*) AS n, min(claimed_at) AS oldest, now() AS now
         FROM llm_work_claims WHERE tenant_id = $1`,
      [tenantId],
    );
    const { n, oldest, now } = counted.rows[0] as { n: string; oldest: Date | null; now: Date };
    if (Number(n) >= limit) {
      const resetsAt = new Date((oldest ?? now).getTime() + LLM_CAP_WINDOW_SECONDS * 1000);
      const retryAfterSeconds = Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
      return { kind: 'over-cap', limit, windowSeconds: LLM_CAP_WINDOW_SECONDS, resetsAt, retryAfterSeconds };
    }
    const inserted = await client.query<{ id: string }>(
      'INSERT INTO llm_work_claims (tenant_id, kind, work_id) VALUES ($1, $2, $3) RETURNING id',
      [tenantId, kind, workId],
    );
    return { kind: 'claimed', claimId: (inserted.rows[0] as { id: string }).id, fresh: true };
  });
}

/** The work a claim was for did not start (Temporal refused it, the upload failed): it costs no slot. */
export async function releaseLlmClaim(
  pool: pg.Pool,
  claim: Extract<LlmClaim, { kind: 'claimed' }>,
): Promise<void> {
  if (claim.fresh) await pool.query('DELETE FROM llm_work_claims WHERE id = $1', [claim.claimId]);
}

/** The one sentence the API's 429 and the CLI both say. */
export function overCapMessage(tenantId: string, over: Extract<LlmClaim, { kind: 'over-cap' }>): string {
  return `tenant ${tenantId} has started ${over.limit} LLM jobs (dream analyses, transcript uploads) in the last hour (P8FS_LLM_JOBS_PER_TENANT_PER_HOUR=${over.limit}); the next slot frees at ${over.resetsAt.toISOString()} (in ${over.retryAfterSeconds} s)`;
}
