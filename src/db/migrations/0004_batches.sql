-- Batches (ingestBatch, src/workflows/ingest-batch.ts): one row per batch, written when it is started,
-- updated at every continue-as-new and at its end. The workflow holds counts and cursors; this row also
-- holds every failed file with its reason (failed_files: {"key": "reason"}, merged, so a retried update
-- never duplicates one).
CREATE TABLE batches (
  id            uuid PRIMARY KEY,
  tenant_id     text NOT NULL,
  source_kind   text NOT NULL CHECK (source_kind IN ('zip', 'prefix', 'list')),
  source        jsonb NOT NULL,                -- bucket and key / prefix / list object, as started
  status        text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'extracting', 'running', 'completed', 'failed', 'cancelled')),
  priority      integer NOT NULL,              -- Temporal priority key of its children (1 first … 5 last)
  total_files   integer NOT NULL DEFAULT 0,    -- found so far; final once the batch has ended
  counts        jsonb NOT NULL DEFAULT '{}'::jsonb,  -- files by status: completed, failed, superseded, skipped, cancelled
  deduplicated  integer NOT NULL DEFAULT 0,    -- files whose ingestFile run already existed (the bridge's)
  total_pages   bigint NOT NULL DEFAULT 0,
  total_chunks  bigint NOT NULL DEFAULT 0,
  total_bytes   bigint NOT NULL DEFAULT 0,
  failed_files  jsonb NOT NULL DEFAULT '{}'::jsonb,
  runs          integer NOT NULL DEFAULT 1,    -- workflow runs: 1 + continue-as-new count
  error         text,
  workflow_id   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz
);
CREATE INDEX batches_tenant_recent ON batches (tenant_id, created_at DESC);
CREATE TRIGGER batches_touch BEFORE UPDATE ON batches FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();
