-- The moments columns the original P8FS's table has and ours lacked (its install.sql and migrations
-- 20251018_142000_add_moments_images, 20251018_142555_add_moment_session_fields):
--   images:       URIs of pictures of the moment (screenshots, photos), text[] like our tag columns;
--   key_emotions: the emotional tone of the whole moment (collaborative, tense…), text[];
--   graph_paths:  edges to related moments and resources, [{dst, rel_type, weight, properties, created_at}];
--   userid:       the user the moment belongs to, where the tenant has more than one.
-- A database the original built has them already: its install.sql made images and key_emotions JSON
-- arrays, its later migration text[]; the JSON form is converted one to one, as 0001's adoption does for
-- emotion_tags and topic_tags, so readers see one type.
ALTER TABLE moments
  ADD COLUMN IF NOT EXISTS images text[],
  ADD COLUMN IF NOT EXISTS key_emotions text[],
  ADD COLUMN IF NOT EXISTS graph_paths jsonb,
  ADD COLUMN IF NOT EXISTS userid text;

CREATE OR REPLACE FUNCTION pg_temp.p8fs_json_text_array(value jsonb) RETURNS text[] AS $$
  SELECT CASE jsonb_typeof(value)
    WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(value))
    WHEN 'string' THEN ARRAY[value #>> '{}']
    ELSE '{}'::text[] END
$$ LANGUAGE sql IMMUTABLE;
DO $$
BEGIN
  IF (SELECT data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'moments' AND column_name = 'images') = 'jsonb' THEN
    DROP INDEX IF EXISTS idx_moments_images_gin;
    ALTER TABLE moments ALTER COLUMN images TYPE text[] USING pg_temp.p8fs_json_text_array(images);
  END IF;
  IF (SELECT data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'moments' AND column_name = 'key_emotions') = 'jsonb' THEN
    DROP INDEX IF EXISTS idx_moments_key_emotions_gin;
    ALTER TABLE moments ALTER COLUMN key_emotions TYPE text[] USING pg_temp.p8fs_json_text_array(key_emotions);
  END IF;
END $$;

UPDATE moments SET
  images = COALESCE(images, '{}'),
  key_emotions = COALESCE(key_emotions, '{}'),
  graph_paths = COALESCE(graph_paths, '[]'::jsonb)
WHERE images IS NULL OR key_emotions IS NULL OR graph_paths IS NULL;
ALTER TABLE moments
  ALTER COLUMN images SET DEFAULT '{}',
  ALTER COLUMN key_emotions SET DEFAULT '{}',
  ALTER COLUMN graph_paths SET DEFAULT '[]'::jsonb;

-- `p8fs moments list` and GET /v1/moments filter by person and topic: the GIN indexes the original has.
CREATE INDEX IF NOT EXISTS idx_moments_images_gin ON moments USING GIN (images);
CREATE INDEX IF NOT EXISTS idx_moments_key_emotions_gin ON moments USING GIN (key_emotions);
CREATE INDEX IF NOT EXISTS idx_moments_topic_tags_gin ON moments USING GIN (topic_tags);
CREATE INDEX IF NOT EXISTS idx_moments_present_persons_gin ON moments USING GIN (present_persons);
