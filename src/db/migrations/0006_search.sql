-- Language-aware full-text search over resources (`p8fs search`, GET /v1/search; src/db/search.ts).
--
-- The first index used the `simple` configuration: no stemming, no stop words, so "reports" never found
-- "report". This one uses `english` (Snowball stemmer + stop words), and weights where a word appears:
--   A  the file name, split on . _ - / so "quarterly_report.pdf" matches "report" and "quarterly"
--   B  the chunk's heading path (resources.metadata->>'heading', set by the chunker)
--   D  the chunk's text
-- A stored generated column, not an expression index: ts_rank_cd needs the vector of every matching row,
-- and recomputing to_tsvector for each one at query time costs more than its storage. PostgreSQL keeps it
-- in step on every INSERT and UPDATE, so the ingest code does not change. Adding it rewrites the table
-- once (under an exclusive lock): on a big installation run `p8fs migrate` in a quiet moment.
-- search.ts must use the same configuration ('english') for its queries.
ALTER TABLE resources
  ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, translate(coalesce(name, ''), '._-/', '    ')), 'A') ||
    setweight(to_tsvector('english'::regconfig, coalesce(metadata ->> 'heading', '')), 'B') ||
    setweight(to_tsvector('english'::regconfig, content), 'D')
  ) STORED;

CREATE INDEX resources_search_vector ON resources USING gin (search_vector);

-- The `simple` index answered no query the application makes any more.
DROP INDEX IF EXISTS resources_search;
