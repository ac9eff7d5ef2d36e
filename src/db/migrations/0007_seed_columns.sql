-- Columns and words as the seeds and the original P8FS have them.
--
-- files.upload_timestamp: when the file's current bytes were uploaded (the seeds' files table and their
-- "worker activity" query, `WHERE upload_timestamp > NOW() - INTERVAL 1 HOUR`). Set by this default when
-- the row is first written; writers leave it alone, so an ingest of the file again keeps it. A database the
-- original P8FS built has the column already, with its values. Our earlier rows get the time they were
-- registered.
ALTER TABLE files ADD COLUMN IF NOT EXISTS upload_timestamp timestamptz;
ALTER TABLE files ALTER COLUMN upload_timestamp SET DEFAULT now();
UPDATE files SET upload_timestamp = created_at WHERE upload_timestamp IS NULL;

-- jobs.status: the original's words, its JobStatus values (p8fs/src/p8fs/models/p8.py: pending, running,
-- completed, failed, cancelled, retry), which its PostgreSQL provider writes as they are. Ours said
-- `queued` for `pending`. `queued` stays allowed while workers of an earlier release may still write it
-- during an upgrade; readers take it as pending. Words in other letter cases (the seeds' TiDB table
-- defaults to 'PENDING') are written in lower case. NOT VALID: a row with a word of its own (from a tool
-- of a user's) does not stop the migration; new rows are checked.
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_status_check;
UPDATE jobs SET status = 'pending' WHERE lower(status) = 'queued';
UPDATE jobs SET status = lower(status)
WHERE status <> lower(status) AND lower(status) IN ('pending', 'running', 'completed', 'failed', 'cancelled', 'retry');
ALTER TABLE jobs ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
  CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled', 'retry', 'queued')) NOT VALID;
