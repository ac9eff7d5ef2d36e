-- Adopting a database the original P8FS built (its p8fs/extensions/sql/01_entity_schema.sql: files,
-- resources, jobs, errors, moments, sessions, with its rows). migrate.ts runs this once, before our first
-- migration, when such tables exist and none of our migrations has run. It gives the original's six tables
-- the columns, defaults and constraints our 0001 and 0003 create, so that those (CREATE TABLE IF NOT
-- EXISTS) find them ready and the rest of our migrations apply as on a fresh database. Idempotent: a run
-- that stopped half way is completed by the next.
--
-- The original's rows stay where they are with their ids. Its columns keep their types and may stay NULL
-- (its models allow it), gaining only defaults, and NULLs our code reads are filled; two triggers fill our
-- required columns of files and sessions in rows its workers write later (after a rollback). Three
-- exceptions, made because our code could not work beside them:
--   * the unique (name, tenant_id) constraints of resources and moments are dropped: chunk names repeat
--     across files (two files 'a/Sample.md' and 'b/Sample.md' both have a 'Sample_chunk_0') and moment
--     names across transcripts; the original upserts by id, so it never relied on them;
--   * resources.ordinal and moments.ordinal become integer (bigint arrives in Node as a string);
--   * moments.emotion_tags and topic_tags become text[] (ours) from JSON arrays of strings.
-- Columns only the original has (graph_paths, userid, parsing_metadata, priority, …) are kept as they are.

-- Rows keep their updated_at: the original's touch triggers would stamp every backfilled row as changed
-- now (and make every adopted tenant look active to the nightly dreams). Enabled again at the end.
CREATE OR REPLACE FUNCTION pg_temp.p8fs_original_touch_triggers(verb text) RETURNS void AS $$
DECLARE t record;
BEGIN
  FOR t IN SELECT tgrelid::regclass AS tbl, tgname FROM pg_trigger
           WHERE tgname IN ('update_files_updated_at', 'update_resources_updated_at', 'update_moments_updated_at',
                            'update_jobs_updated_at', 'update_errors_updated_at', 'update_sessions_updated_at') LOOP
    EXECUTE format('ALTER TABLE %s %s TRIGGER %I', t.tbl, verb, t.tgname);
  END LOOP;
END;
$$ LANGUAGE plpgsql;
SELECT pg_temp.p8fs_original_touch_triggers('DISABLE');

-- files: ours keep the bucket path, name and category; the original's uri is that path
-- ('/buckets/{tenant}/{key}', p8fs/src/p8fs/workers/storage.py), so they are derived from it, for the
-- rows there are and, by a trigger, for rows the original's workers write later (after a rollback).
ALTER TABLE files
  ADD COLUMN IF NOT EXISTS path text,
  ADD COLUMN IF NOT EXISTS name text,
  ADD COLUMN IF NOT EXISTS category text,
  ADD COLUMN IF NOT EXISTS version text,
  ADD COLUMN IF NOT EXISTS status text,
  ADD COLUMN IF NOT EXISTS provider text,
  ADD COLUMN IF NOT EXISTS page_count integer,
  ADD COLUMN IF NOT EXISTS chunk_count integer,
  ADD COLUMN IF NOT EXISTS error text;
CREATE OR REPLACE FUNCTION p8fs_original_files_row() RETURNS trigger AS $$
BEGIN
  IF NEW.path IS NULL THEN
    NEW.path := NEW.uri;
    NEW.name := COALESCE(NEW.name, regexp_replace(NEW.uri, '^.*/', ''));
    NEW.category := COALESCE(NEW.category,
      CASE WHEN NEW.uri ~ '^/buckets/[^/]+/[^/]+/' THEN split_part(NEW.uri, '/', 4) ELSE '' END);
    -- The original writes a files row as its worker takes the file and its chunks right after.
    NEW.status := 'completed';
  END IF;
  NEW.metadata := COALESCE(NEW.metadata, '{}'::jsonb);
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS files_original_row ON files;
CREATE TRIGGER files_original_row BEFORE INSERT OR UPDATE ON files
  FOR EACH ROW EXECUTE FUNCTION p8fs_original_files_row();
UPDATE files SET uri = uri WHERE path IS NULL; -- the trigger fills the rows there are
UPDATE files SET chunk_count = (SELECT count(*)::int FROM resources r
                                WHERE r.tenant_id = files.tenant_id AND r.metadata->>'file_id' = files.id::text)
WHERE chunk_count IS NULL;
ALTER TABLE files
  ALTER COLUMN path SET NOT NULL,
  ALTER COLUMN name SET NOT NULL,
  ALTER COLUMN category SET NOT NULL,
  ALTER COLUMN status SET DEFAULT 'pending',
  ALTER COLUMN status SET NOT NULL,
  ALTER COLUMN metadata SET DEFAULT '{}'::jsonb,
  ALTER COLUMN metadata SET NOT NULL;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'files_status_check') THEN
    ALTER TABLE files ADD CONSTRAINT files_status_check
      CHECK (status IN ('pending', 'processing', 'completed', 'failed'));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'files_tenant_id_path_key') THEN
    IF EXISTS (SELECT 1 FROM files GROUP BY tenant_id, path HAVING count(*) > 1) THEN
      RAISE EXCEPTION 'files holds several rows for one tenant and uri; keep one per (tenant_id, uri) '
        '(SELECT tenant_id, uri, count(*) FROM files GROUP BY 1, 2 HAVING count(*) > 1 lists them), '
        'then run p8fs migrate again';
    END IF;
    ALTER TABLE files ADD CONSTRAINT files_tenant_id_path_key UNIQUE (tenant_id, path);
  END IF;
END $$;

-- resources: the original keeps a chunk's file in metadata.file_id and its index in ordinal (or
-- metadata.chunk_index); ours in file_id, which must name an existing file and be unique with ordinal
-- (a pair that is not unique keeps file_id NULL: such rows stay readable, and a re-ingest replaces them).
ALTER TABLE resources DROP CONSTRAINT IF EXISTS resources_name_tenant_id_key;
ALTER TABLE resources ADD COLUMN IF NOT EXISTS file_id uuid;
ALTER TABLE resources ALTER COLUMN ordinal TYPE integer;
UPDATE resources SET ordinal = CASE WHEN metadata->>'chunk_index' ~ '^[0-9]{1,9}$'
                                    THEN (metadata->>'chunk_index')::int ELSE 0 END
WHERE ordinal IS NULL;
UPDATE resources r SET file_id = f.id
FROM files f
WHERE r.file_id IS NULL AND f.tenant_id = r.tenant_id AND f.id::text = r.metadata->>'file_id'
  AND NOT EXISTS (SELECT 1 FROM resources o
                  WHERE o.id <> r.id AND o.metadata->>'file_id' = r.metadata->>'file_id' AND o.ordinal = r.ordinal);
UPDATE resources SET metadata = '{}'::jsonb WHERE metadata IS NULL;
ALTER TABLE resources ALTER COLUMN metadata SET DEFAULT '{}'::jsonb;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'resources_file_id_fkey') THEN
    ALTER TABLE resources ADD CONSTRAINT resources_file_id_fkey
      FOREIGN KEY (file_id) REFERENCES files (id) ON DELETE CASCADE ON UPDATE CASCADE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'resources_file_id_ordinal_key') THEN
    ALTER TABLE resources ADD CONSTRAINT resources_file_id_ordinal_key UNIQUE (file_id, ordinal);
  END IF;
END $$;

-- moments: tags as text[]; a JSON array of strings converts one to one. The GIN indexes on them are
-- built again for the new type.
CREATE OR REPLACE FUNCTION pg_temp.p8fs_text_array(value jsonb) RETURNS text[] AS $$
  SELECT CASE jsonb_typeof(value)
    WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(value))
    WHEN 'string' THEN ARRAY[value #>> '{}']
    ELSE '{}'::text[] END
$$ LANGUAGE sql IMMUTABLE;
ALTER TABLE moments DROP CONSTRAINT IF EXISTS moments_name_tenant_id_key;
DO $$
BEGIN
  IF (SELECT data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'moments' AND column_name = 'emotion_tags') = 'jsonb' THEN
    DROP INDEX IF EXISTS idx_moments_emotion_tags_gin;
    DROP INDEX IF EXISTS idx_moments_topic_tags_gin;
    ALTER TABLE moments
      ALTER COLUMN emotion_tags TYPE text[] USING pg_temp.p8fs_text_array(emotion_tags),
      ALTER COLUMN topic_tags TYPE text[] USING pg_temp.p8fs_text_array(topic_tags);
    CREATE INDEX idx_moments_emotion_tags_gin ON moments USING GIN (emotion_tags);
    CREATE INDEX idx_moments_topic_tags_gin ON moments USING GIN (topic_tags);
  END IF;
END $$;
ALTER TABLE moments
  ADD COLUMN IF NOT EXISTS file_id uuid REFERENCES files (id) ON DELETE CASCADE,
  ALTER COLUMN ordinal TYPE integer;
UPDATE moments SET
  ordinal = COALESCE(ordinal, 0),
  metadata = COALESCE(metadata, '{}'::jsonb),
  present_persons = COALESCE(present_persons, '[]'::jsonb),
  emotion_tags = COALESCE(emotion_tags, '{}'),
  topic_tags = COALESCE(topic_tags, '{}'),
  speakers = COALESCE(speakers, '[]'::jsonb)
WHERE ordinal IS NULL OR metadata IS NULL OR present_persons IS NULL OR emotion_tags IS NULL
   OR topic_tags IS NULL OR speakers IS NULL;
ALTER TABLE moments
  ALTER COLUMN ordinal SET DEFAULT 0,
  ALTER COLUMN metadata SET DEFAULT '{}'::jsonb,
  ALTER COLUMN present_persons SET DEFAULT '[]'::jsonb,
  ALTER COLUMN emotion_tags SET DEFAULT '{}',
  ALTER COLUMN topic_tags SET DEFAULT '{}',
  ALTER COLUMN speakers SET DEFAULT '[]'::jsonb;

-- jobs: the original's status words (pending, running, completed, failed, cancelled, retry) are kept;
-- migration 0007 sets the constraint on them for every database.
ALTER TABLE jobs
  ADD COLUMN IF NOT EXISTS workflow_id text,
  ADD COLUMN IF NOT EXISTS run_id text;
UPDATE jobs SET
  status = COALESCE(status, 'pending'),
  payload = COALESCE(payload, '{}'::jsonb),
  queued_at = COALESCE(queued_at, created_at, now())
WHERE status IS NULL OR payload IS NULL OR queued_at IS NULL;
ALTER TABLE jobs
  ALTER COLUMN status SET DEFAULT 'pending',
  ALTER COLUMN payload SET DEFAULT '{}'::jsonb,
  ALTER COLUMN queued_at SET DEFAULT now();

-- errors: the original writes level 'ERROR' (its Error model's default); migration 0008 puts ours in the
-- same words and adds the check.
UPDATE errors SET
  date = COALESCE(date, created_at, now()),
  metadata = COALESCE(metadata, '{}'::jsonb)
WHERE date IS NULL OR metadata IS NULL;
ALTER TABLE errors
  ALTER COLUMN id SET DEFAULT gen_random_uuid(),
  ALTER COLUMN date SET DEFAULT now(),
  ALTER COLUMN level SET DEFAULT 'ERROR',
  ALTER COLUMN metadata SET DEFAULT '{}'::jsonb;

-- sessions: the original's are agent conversations (a query, no message list); ours are imported chats
-- keyed by the producer's session id. An original session is its own external id; the query the
-- original requires is empty for the sessions we import.
ALTER TABLE sessions
  ADD COLUMN IF NOT EXISTS external_id text,
  ADD COLUMN IF NOT EXISTS messages jsonb NOT NULL DEFAULT '[]'::jsonb,
  ADD COLUMN IF NOT EXISTS message_count integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS started_at timestamptz,
  ADD COLUMN IF NOT EXISTS last_message_at timestamptz;
CREATE OR REPLACE FUNCTION p8fs_original_sessions_row() RETURNS trigger AS $$
BEGIN
  NEW.external_id := COALESCE(NEW.external_id, NEW.id::text);
  NEW.name := COALESCE(NEW.name, left(NEW.query, 200), '');
  NEW.session_type := COALESCE(NEW.session_type, 'chat');
  NEW.metadata := COALESCE(NEW.metadata, '{}'::jsonb);
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS sessions_original_row ON sessions;
CREATE TRIGGER sessions_original_row BEFORE INSERT OR UPDATE ON sessions
  FOR EACH ROW EXECUTE FUNCTION p8fs_original_sessions_row();
UPDATE sessions SET id = id WHERE external_id IS NULL; -- the trigger fills the rows there are
ALTER TABLE sessions
  ALTER COLUMN query SET DEFAULT '',
  ALTER COLUMN external_id SET NOT NULL,
  ALTER COLUMN name SET NOT NULL,
  ALTER COLUMN session_type SET DEFAULT 'chat',
  ALTER COLUMN session_type SET NOT NULL,
  ALTER COLUMN metadata SET DEFAULT '{}'::jsonb,
  ALTER COLUMN metadata SET NOT NULL;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'sessions_tenant_id_external_id_key') THEN
    ALTER TABLE sessions ADD CONSTRAINT sessions_tenant_id_external_id_key UNIQUE (tenant_id, external_id);
  END IF;
END $$;

-- The original's touch triggers again.
SELECT pg_temp.p8fs_original_touch_triggers('ENABLE');
