-- Chat sessions per tenant (`p8fs sessions import`), read by dream analysis beside the resources.
--   id:          uuid v5 of tenant + the file's session_id, so importing the same file again updates it.
--   external_id: the session_id the producer gave.
--   messages:    the messages as given: [{role, content, timestamp}, …].
-- Created only if missing: the original P8FS has a sessions table, adopted first
-- (src/db/adopt-original-p8fs.sql).
CREATE TABLE IF NOT EXISTS sessions (
  id              uuid PRIMARY KEY,
  tenant_id       text NOT NULL,
  external_id     text NOT NULL,
  name            text NOT NULL,
  session_type    text NOT NULL DEFAULT 'chat',
  messages        jsonb NOT NULL DEFAULT '[]'::jsonb,
  message_count   integer NOT NULL DEFAULT 0,
  started_at      timestamptz,
  last_message_at timestamptz,
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, external_id)
);
CREATE INDEX sessions_tenant_recent ON sessions (tenant_id, updated_at DESC);
CREATE TRIGGER sessions_touch BEFORE UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();

-- Dreams: who wrote the analysis (model or heuristic) and the workflow that made it; one row per
-- analysis id, so a retried store replaces instead of adding.
ALTER TABLE dreams
  ADD COLUMN generated_by text,
  ADD COLUMN workflow_id  text;
CREATE INDEX resources_tenant_recent ON resources (tenant_id, updated_at DESC);
