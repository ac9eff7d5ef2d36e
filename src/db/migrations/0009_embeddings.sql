-- Vectors of chunks and moments (issue 23), in the original P8FS's tables and columns:
-- embeddings.resources_embeddings and embeddings.moments_embeddings, one row per (entity, field, provider),
-- id = uuid5(NAMESPACE_DNS, '{entity_id}:{field_name}:{embedding_provider}') (src/domain/ids.ts
-- embeddingIdFor, computed by the writer), deleted with their row (ON DELETE CASCADE) and following its id
-- when a rename or re-key gives the row a new one (ON UPDATE CASCADE; the vector's own id then still
-- names the old entity until whoever renames recomputes it: writers upsert on the unique
-- (entity_id, field_name, embedding_provider), which holds either way).
--
-- pgvector first, with a clear error where the server lacks it (a user's own PostgreSQL): CREATE EXTENSION
-- alone would say only that the control file is missing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    -- The whole advice in the message: callers show the message, not always the hint.
    RAISE EXCEPTION 'this PostgreSQL server (%) has no pgvector extension (`vector`), which the embeddings '
      'tables need: install pgvector 0.8 or later on the server (Debian/Ubuntu: postgresql-NN-pgvector from '
      'apt.postgresql.org; Docker: the pgvector/pgvector:0.8.1-pg18 image; the local stack: make setup), '
      'then run p8fs migrate again', current_setting('server_version');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')
     AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'the pgvector extension (`vector`) is installed on the server but not created in '
      'database %, and role % may not create it (pgvector is not a trusted extension): a superuser runs '
      'CREATE EXTENSION vector; in database %, then run p8fs migrate again',
      current_database(), current_user, current_database();
  END IF;
END $$;
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS embeddings;

-- One column `embedding_vector vector` without a fixed dimension (the original's is vector(384), typed by
-- its configured provider), so that a tenant can hold vectors of all-MiniLM-L6-v2 (384) and of an
-- OpenAI-compatible model (1536, or the dimensions configured) side by side while re-embedding;
-- vector_dimension says which, and a check keeps it true. Searches use only the configured provider's.
CREATE TABLE IF NOT EXISTS embeddings.resources_embeddings (
  id                 uuid PRIMARY KEY,
  entity_id          uuid NOT NULL,
  field_name         varchar(255) NOT NULL,
  embedding_provider varchar(255) NOT NULL,
  embedding_vector   vector NOT NULL,
  vector_dimension   integer NOT NULL,
  tenant_id          text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS embeddings.moments_embeddings (
  id                 uuid PRIMARY KEY,
  entity_id          uuid NOT NULL,
  field_name         varchar(255) NOT NULL,
  embedding_provider varchar(255) NOT NULL,
  embedding_vector   vector NOT NULL,
  vector_dimension   integer NOT NULL,
  tenant_id          text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Adopting the original's tables (a database it built; CREATE TABLE IF NOT EXISTS found them), keeping
-- their rows and ids:
--   * its ivfflat indexes (cosine, l2, ip on vector(384)) are dropped: they cannot exist on an untyped
--     column, and an ivfflat index built on an empty table (as its install does) recalls poorly; the HNSW
--     indexes below replace them;
--   * embedding_vector becomes `vector` (from vector(384), the values unchanged);
--   * vector_dimension is made true of each row (its default 384 was written whatever the vector);
--   * its unique (entity_id, field_name, tenant_id) becomes (entity_id, field_name, embedding_provider), so
--     a field keeps one vector per provider, as the id recipe (which names the provider) intends;
--   * its foreign key (ON DELETE CASCADE) gains ON UPDATE CASCADE, as ours (a rename must not fail).
-- New tables get the same constraints from the same statements.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['resources', 'moments'] LOOP
    EXECUTE format('DROP INDEX IF EXISTS embeddings.idx_%s_embeddings_vector_cosine, '
      'embeddings.idx_%s_embeddings_vector_l2, embeddings.idx_%s_embeddings_vector_ip', t, t, t);
    IF (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
        WHERE attrelid = format('embeddings.%s_embeddings', t)::regclass AND attname = 'embedding_vector')
       <> 'vector' THEN
      EXECUTE format('ALTER TABLE embeddings.%s_embeddings ALTER COLUMN embedding_vector TYPE vector '
        'USING embedding_vector::vector', t);
    END IF;
    EXECUTE format('UPDATE embeddings.%s_embeddings SET vector_dimension = vector_dims(embedding_vector) '
      'WHERE embedding_vector IS NOT NULL AND vector_dimension IS DISTINCT FROM vector_dims(embedding_vector)', t);
    EXECUTE format('ALTER TABLE embeddings.%s_embeddings DROP CONSTRAINT IF EXISTS '
      '%s_embeddings_entity_id_field_name_tenant_id_key', t, t);
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = format('%s_embeddings_entity_field_provider_key', t)) THEN
      EXECUTE format('ALTER TABLE embeddings.%s_embeddings ADD CONSTRAINT %s_embeddings_entity_field_provider_key '
        'UNIQUE (entity_id, field_name, embedding_provider)', t, t);
    END IF;
    EXECUTE format('ALTER TABLE embeddings.%s_embeddings DROP CONSTRAINT IF EXISTS %s_embeddings_entity_id_fkey', t, t);
    EXECUTE format('ALTER TABLE embeddings.%s_embeddings ADD CONSTRAINT %s_embeddings_entity_id_fkey '
      'FOREIGN KEY (entity_id) REFERENCES %s (id) ON DELETE CASCADE ON UPDATE CASCADE', t, t, t);
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = format('%s_embeddings_dimension_check', t)) THEN
      EXECUTE format('ALTER TABLE embeddings.%s_embeddings ADD CONSTRAINT %s_embeddings_dimension_check '
        'CHECK (embedding_vector IS NULL OR vector_dims(embedding_vector) = vector_dimension)', t, t);
    END IF;
  END LOOP;
END $$;

-- The cosine indexes: HNSW (better recall than ivfflat at the same speed, no training on existing rows,
-- so correct from the first vector), one per dimension the two providers produce, as partial indexes on
-- the column cast to that dimension (HNSW needs a fixed dimension). One per dimension rather than per
-- provider name: an OpenAI-compatible model may be any name, and every provider of a dimension shares the
-- index; the search filters by provider and tenant (pgvector 0.8's iterative scan keeps filling the limit
-- past filtered rows). A search uses an index only when it repeats the cast and the predicate literally:
--   ORDER BY embedding_vector::vector(384) <=> $q::vector(384) ... WHERE vector_dimension = 384
-- Another dimension (P8FS_EMBEDDING_DIMENSIONS) is searched exactly without an index until one like these
-- is added. m = 16, ef_construction = 64 are pgvector's defaults, written out so they are visible.
CREATE INDEX IF NOT EXISTS resources_embeddings_cosine_384 ON embeddings.resources_embeddings
  USING hnsw ((embedding_vector::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
  WHERE vector_dimension = 384;
CREATE INDEX IF NOT EXISTS resources_embeddings_cosine_1536 ON embeddings.resources_embeddings
  USING hnsw ((embedding_vector::vector(1536)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
  WHERE vector_dimension = 1536;
CREATE INDEX IF NOT EXISTS moments_embeddings_cosine_384 ON embeddings.moments_embeddings
  USING hnsw ((embedding_vector::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
  WHERE vector_dimension = 384;
CREATE INDEX IF NOT EXISTS moments_embeddings_cosine_1536 ON embeddings.moments_embeddings
  USING hnsw ((embedding_vector::vector(1536)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
  WHERE vector_dimension = 1536;

-- A tenant's vectors of one provider: whether it has any (hybrid search's default), exact search of a
-- small tenant, backfill progress.
CREATE INDEX IF NOT EXISTS resources_embeddings_tenant_provider
  ON embeddings.resources_embeddings (tenant_id, embedding_provider, vector_dimension);
CREATE INDEX IF NOT EXISTS moments_embeddings_tenant_provider
  ON embeddings.moments_embeddings (tenant_id, embedding_provider, vector_dimension);
