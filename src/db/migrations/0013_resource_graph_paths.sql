-- Resource affinity (issue 24, `p8fs dreaming process --task affinity`): the original P8FS's
-- resources.graph_paths, edges to related resources [{dst, rel_type, weight, properties, created_at}], with
-- its GIN index (idx_resources_graph_paths_gin), so "who links to this resource" (`p8fs related`) is an
-- index lookup. A database the original built has the column already; plain-string entries of its older
-- releases are kept (readers skip what is not an edge).
--
-- affinity_at is ours: updated_at of the vector the row's edges were computed from. A run links the rows
-- whose current vector is newer (new or changed text), so a run again has nothing to do, and a changed
-- chunk is linked again once it is embedded again.
ALTER TABLE resources
  ADD COLUMN IF NOT EXISTS graph_paths jsonb,
  ADD COLUMN IF NOT EXISTS affinity_at timestamptz;
UPDATE resources SET graph_paths = '[]'::jsonb WHERE graph_paths IS NULL;
ALTER TABLE resources ALTER COLUMN graph_paths SET DEFAULT '[]'::jsonb;
CREATE INDEX IF NOT EXISTS idx_resources_graph_paths_gin ON resources USING GIN (graph_paths);
