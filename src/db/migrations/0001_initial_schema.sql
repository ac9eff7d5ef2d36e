-- P8FS Flows initial schema. Every table: id uuid, tenant_id, created_at, updated_at.
-- Ids are deterministic (uuid v5) and computed by the application, so re-running a step upserts.
-- Tables the original P8FS also has are created only if missing: on a database it built, migrate.ts
-- has first given them these columns (src/db/adopt-original-p8fs.sql).

CREATE OR REPLACE FUNCTION p8fs_touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE IF NOT EXISTS files (
  id            uuid PRIMARY KEY,
  tenant_id     text NOT NULL,
  uri           text NOT NULL,                 -- s3://bucket/key
  path          text NOT NULL,                 -- /buckets/{tenant}/{category}/{file…}
  name          text NOT NULL,
  category      text NOT NULL,
  file_size     bigint,
  mime_type     text,
  content_hash  text,                          -- sha256 of the bytes processed
  version       text,                          -- event version (etag/mtime/sequence or event hash)
  status        text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
  provider      text,
  page_count    integer,
  chunk_count   integer,
  error         text,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, path)
);
CREATE INDEX files_tenant_status ON files (tenant_id, status);

CREATE TABLE IF NOT EXISTS resources (
  id                 uuid PRIMARY KEY,
  tenant_id          text NOT NULL,
  file_id            uuid REFERENCES files (id) ON DELETE CASCADE ON UPDATE CASCADE,
  name               text NOT NULL,
  category           text,
  content            text NOT NULL,
  summary            text,
  ordinal            integer NOT NULL,
  uri                text,
  metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
  resource_timestamp timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  -- A chunk is unique per file and position, never per name: two files named alike must not collide.
  UNIQUE (file_id, ordinal)
);
CREATE INDEX resources_tenant ON resources (tenant_id, category);
CREATE INDEX resources_search ON resources USING gin (to_tsvector('simple', content));

CREATE TABLE IF NOT EXISTS moments (
  id                      uuid PRIMARY KEY,
  tenant_id               text NOT NULL,
  file_id                 uuid REFERENCES files (id) ON DELETE CASCADE,
  name                    text NOT NULL,
  category                text,
  content                 text NOT NULL,
  summary                 text,
  ordinal                 integer NOT NULL DEFAULT 0,
  uri                     text,
  metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
  resource_timestamp      timestamptz,
  resource_ends_timestamp timestamptz,
  present_persons         jsonb NOT NULL DEFAULT '[]'::jsonb,
  location                text,
  background_sounds       text,
  moment_type             text,
  emotion_tags            text[] NOT NULL DEFAULT '{}',
  topic_tags              text[] NOT NULL DEFAULT '{}',
  speakers                jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moments_tenant_time ON moments (tenant_id, resource_timestamp);

CREATE TABLE IF NOT EXISTS jobs (
  id               uuid PRIMARY KEY,
  tenant_id        text NOT NULL,
  job_type         text NOT NULL,
  status           text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
  result           jsonb,
  error            text,
  workflow_id      text,
  run_id           text,
  openai_batch_id  text,
  queued_at        timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  completed_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_tenant_type ON jobs (tenant_id, job_type, status);
CREATE UNIQUE INDEX jobs_workflow ON jobs (workflow_id) WHERE workflow_id IS NOT NULL;

CREATE TABLE dreams (
  id                uuid PRIMARY KEY,
  tenant_id         text NOT NULL,
  job_id            uuid REFERENCES jobs (id) ON DELETE SET NULL,
  executive_summary text,
  goals             jsonb NOT NULL DEFAULT '[]'::jsonb,
  fears             jsonb NOT NULL DEFAULT '[]'::jsonb,
  tasks             jsonb NOT NULL DEFAULT '[]'::jsonb,
  dreams            jsonb NOT NULL DEFAULT '[]'::jsonb,
  model             jsonb NOT NULL DEFAULT '{}'::jsonb,   -- the whole validated DreamModel
  provider          text,
  model_name        text,
  analyzed_from     timestamptz,
  analyzed_to       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dreams_tenant ON dreams (tenant_id, created_at DESC);

CREATE TABLE IF NOT EXISTS errors (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   text NOT NULL,
  date        timestamptz NOT NULL DEFAULT now(),
  process     text NOT NULL,
  message     text NOT NULL,
  stack_trace text,
  level       text NOT NULL DEFAULT 'error' CHECK (level IN ('warning', 'error', 'critical')),
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX errors_tenant_date ON errors (tenant_id, date DESC);

CREATE TRIGGER files_touch BEFORE UPDATE ON files FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();
CREATE TRIGGER resources_touch BEFORE UPDATE ON resources FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();
CREATE TRIGGER moments_touch BEFORE UPDATE ON moments FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();
CREATE TRIGGER jobs_touch BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();
CREATE TRIGGER dreams_touch BEFORE UPDATE ON dreams FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();
CREATE TRIGGER errors_touch BEFORE UPDATE ON errors FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();
