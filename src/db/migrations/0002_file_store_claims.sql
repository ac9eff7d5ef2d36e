-- Which bytes a file's rows were made from, and which attempt may store them.
--   source_etag:   etag of the S3 object the current resources were made from; a rename moves rows only
--                  when the renamed object still has this etag.
--   store_run_id,
--   store_attempt: the workflow run and activity attempt that last claimed the file in storeChunks. An
--                  earlier attempt of the same run that wakes up late (Temporal already gave up on it and
--                  started another) finds a higher attempt here, under the row lock, and writes nothing.
ALTER TABLE files
  ADD COLUMN source_etag   text,
  ADD COLUMN store_run_id  text,
  ADD COLUMN store_attempt integer;
