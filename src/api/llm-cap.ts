/**
 * The API's side of the per-tenant LLM cap (src/db/llm-claims.ts): claim a slot before starting a dream
 * or storing a transcript, or answer 429 naming the limit and when the next slot frees (Retry-After).
 */
import type { FastifyReply } from 'fastify';
import { claimLlmWork, type LlmClaim, type LlmWorkKind, overCapMessage } from '../db/llm-claims.js';
import { isTranscriptUpload } from '../domain/insight/build-moments.js';
import type { ApiDeps } from './deps.js';
import { ApiProblem } from './problems.js';

export type GrantedClaim = Extract<LlmClaim, { kind: 'claimed' }>;

export async function claimOrRefuse(
  deps: ApiDeps,
  reply: FastifyReply,
  tenantId: string,
  kind: LlmWorkKind,
  workId: string,
): Promise<GrantedClaim> {
  const claim = await claimLlmWork(deps.pool, {
    tenantId,
    kind,
    workId,
    limit: deps.cfg.llmCap.jobsPerTenantPerHour,
  });
  if (claim.kind === 'claimed') return claim;
  // The error handler sends the problem on this reply, so the header set here goes with it.
  reply.header('retry-after', String(claim.retryAfterSeconds));
  throw new ApiProblem(
    429,
    overCapMessage(tenantId, claim),
    {
      limit: claim.limit,
      windowSeconds: claim.windowSeconds,
      resetsAt: claim.resetsAt.toISOString(),
      retryAfterSeconds: claim.retryAfterSeconds,
    },
    'llm-cap',
  );
}

/** An upload into `transcripts/` that the bridge will turn into moments (LLM work), so it claims a slot. */
export function startsLlmWork(category: string, name: string): boolean {
  return isTranscriptUpload({ type: 'create', category, fileName: name });
}
