-- errors.level in the original P8FS's words: its Error model defaults to 'ERROR' (p8fs/src/p8fs/models/p8.py)
-- and the seeds' "error counts" query groups by level, so an adopted database would otherwise count its
-- own rows and ours apart ('ERROR' beside 'error'). Earlier rows of ours are written in upper case.
-- The check compares in upper case: workers of an earlier release, which write 'error' during an
-- upgrade, keep working; NOT VALID, so a row of the original's with a word of its own does not stop the
-- migration.
ALTER TABLE errors DROP CONSTRAINT IF EXISTS errors_level_check;
UPDATE errors SET level = upper(level) WHERE level <> upper(level);
ALTER TABLE errors ALTER COLUMN level SET DEFAULT 'ERROR';
ALTER TABLE errors ADD CONSTRAINT errors_level_check
  CHECK (upper(level) IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')) NOT VALID;
