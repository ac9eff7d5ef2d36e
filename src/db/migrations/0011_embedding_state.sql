-- What embedding as a step of ingestion keeps beside the original P8FS's columns (issue 23):
--
-- content_hash on both vector tables: md5 of the text the vector was made from, as md5(content) computes
-- it. A vector describes its row while the two hashes agree, so a store that writes the same text again
-- keeps its vector (src/db/embeddings/carry.ts) and only changed text is embedded again. Vectors the
-- original P8FS wrote have none: they count as current while they are at least as new as their row.
ALTER TABLE embeddings.resources_embeddings ADD COLUMN IF NOT EXISTS content_hash text;
ALTER TABLE embeddings.moments_embeddings ADD COLUMN IF NOT EXISTS content_hash text;

-- A file's embedding state, apart from its ingestion status (status stays `completed` once its text is
-- stored and searchable by words): embedding_status NULL while its chunks wait for vectors (every file
-- stored before this release, and each new version until the embed step ends), `done` when every chunk
-- has a vector of embedding_provider, `failed` with the reason in embedding_error. Every store sets it
-- back to NULL.
ALTER TABLE files
  ADD COLUMN IF NOT EXISTS embedding_status text,
  ADD COLUMN IF NOT EXISTS embedding_provider text,
  ADD COLUMN IF NOT EXISTS embedding_error text;
ALTER TABLE files DROP CONSTRAINT IF EXISTS files_embedding_status_check;
ALTER TABLE files ADD CONSTRAINT files_embedding_status_check
  CHECK (embedding_status IS NULL OR embedding_status IN ('done', 'failed'));
