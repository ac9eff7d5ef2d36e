-- The per-tenant cap on LLM work (issue 25): one row per dream analysis or transcript upload a tenant
-- starts, written in the same transaction as the count that allows it (under a per-tenant advisory
-- lock), before the work starts. Job rows cannot serve: the workflow writes them after its start, so a
-- burst of requests would all count zero. A start that then fails deletes its row (src/db/llm-claims.ts).
CREATE TABLE IF NOT EXISTS llm_work_claims (
  id bigserial PRIMARY KEY,
  tenant_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('dream', 'transcript')),
  claimed_at timestamptz NOT NULL DEFAULT now(),
  -- The workflow (dream) or object key (transcript) the claim is for: a repeated claim for the same
  -- work is not counted twice.
  work_id text NOT NULL,
  UNIQUE (tenant_id, work_id)
);

CREATE INDEX IF NOT EXISTS llm_work_claims_tenant_time ON llm_work_claims (tenant_id, claimed_at);
