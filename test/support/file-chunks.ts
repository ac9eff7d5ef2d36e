/** A file's resources rows in order, with the columns the row-shape tests compare. */
import type pg from 'pg';

export interface ChunkRow {
  id: string;
  name: string;
  category: string;
  uri: string;
  content: string;
  metadata: Record<string, unknown>;
}

export async function fileChunks(pool: pg.Pool, fileId: string): Promise<ChunkRow[]> {
  const rows = await pool.query<ChunkRow>(
    'SELECT id, name, category, uri, content, metadata FROM resources WHERE file_id = $1 ORDER BY ordinal',
    [fileId],
  );
  return rows.rows;
}
