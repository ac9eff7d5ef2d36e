/**
 * Rows not written with today's ids (fileIdFor/resourceIdFor, the original P8FS's recipe), brought into
 * line under the file's lock: the original P8FS's own chunks, which name their file in metadata only, and
 * the rows of our earlier releases, whose ids came from another recipe (legacyFileIdFor). Both functions
 * are idempotent: run again they find nothing to do.
 */
import type pg from 'pg';
import { cleanText } from '../../domain/clean-text.js';
import { fileIdFor, originalFilePath, resourceIdFor } from '../../domain/ids.js';
import { CHUNK_CATEGORY, chunkName, chunkUri } from '../../domain/original-rows.js';
import { fileScope, holdVectors, restoreVectors } from '../embeddings/index.js';
import { lockFiles } from './locks.js';

/**
 * Gives the rows the original P8FS wrote for this file our file_id column, so that what follows (a store's
 * delete by file_id, a delete's cascade, a rename's move) treats them as the file's own. The original's
 * resources name their file in metadata.file_id only, so on an adopted database that column is empty; its
 * ids are ours (resourceIdFor), so an index lookup of ids of this file (by default chunk 0's: the original
 * writes all chunks of a file at once) tells whether there are any, and only then is metadata searched
 * (with `@>`, which the original's GIN index on metadata serves). Needs the files row (the column's
 * foreign key): the original writes it with the same id.
 */
export async function adoptOriginalRows(
  client: pg.PoolClient,
  fileId: string,
  ids: string[] = [resourceIdFor(fileId, 0)],
): Promise<number> {
  const met = await client.query(
    'SELECT 1 FROM resources WHERE id = ANY($1::uuid[]) AND file_id IS NULL LIMIT 1',
    [ids],
  );
  if (met.rowCount === 0) return 0;
  const adopted = await client.query(
    `UPDATE resources SET file_id = $1::uuid
      WHERE file_id IS NULL AND metadata @> jsonb_build_object('file_id', $1::text)
        AND EXISTS (SELECT 1 FROM files WHERE id = $1::uuid)`,
    [fileId],
  );
  return adopted.rowCount ?? 0;
}

export interface RekeyedFile {
  fromId: string;
  toId: string;
  resources: number;
  moments: number;
  errors: number;
  /** A row the original P8FS wrote at the new id was replaced by ours (newer: it is what we served). */
  replacedOriginal: boolean;
}

/**
 * Gives one files row (ours: it has a path) the original's id and its resources the original's ids,
 * names, category and uri, keeping their content and our metadata (the earlier name, folder and S3
 * address as file_name, file_category, file_uri). Rows that point at the file follow: resources (ON
 * UPDATE CASCADE), moments and errors' metadata. The caller holds the transaction; this takes the locks
 * of both ids (lockFiles orders them). Undefined when the row is gone or already has its id and rows.
 */
export async function rekeyFileRows(
  client: pg.PoolClient,
  row: { id: string; tenantId: string; path: string },
): Promise<RekeyedFile | undefined> {
  const toId = fileIdFor(row.tenantId, row.path);
  const key = originalFilePath(row.tenantId, row.path);
  await lockFiles(client, [row.id, toId]);
  // The row as read before the locks: another re-key may have moved another file's row to this id since.
  const still = await client.query('SELECT 1 FROM files WHERE id = $1 AND path = $2 FOR UPDATE', [
    row.id,
    row.path,
  ]);
  if (still.rowCount === 0 || (toId === row.id && (await chunksInLine(client, toId)))) return undefined;
  let replacedOriginal = false;
  let moments = 0;
  let errors = 0;
  // The chunks get new ids below; their vectors are held and put back under ids made from the new ones.
  const held = await holdVectors(client, fileScope(row.tenantId, row.id));
  if (toId !== row.id) {
    const there = await client.query('SELECT 1 FROM files WHERE id = $1 FOR UPDATE', [toId]);
    if (there.rowCount) {
      await adoptOriginalRows(client, toId);
      await client.query('DELETE FROM files WHERE id = $1', [toId]);
      replacedOriginal = true;
    }
    // moments.file_id has no ON UPDATE CASCADE: unhook, move the file, hook again.
    const hooked = await client.query<{ id: string }>(
      'UPDATE moments SET file_id = NULL WHERE file_id = $1 RETURNING id',
      [row.id],
    );
    await client.query('UPDATE files SET id = $2 WHERE id = $1', [row.id, toId]);
    if (hooked.rows.length > 0) {
      await client.query('UPDATE moments SET file_id = $1 WHERE id = ANY($2::uuid[])', [
        toId,
        hooked.rows.map((m) => m.id),
      ]);
    }
    moments = hooked.rows.length;
    const fixed = await client.query(
      `UPDATE errors SET metadata = metadata || jsonb_build_object('file_id', $3::text)
        WHERE tenant_id = $1 AND metadata->>'file_id' = $2`,
      [row.tenantId, row.id, toId],
    );
    errors = fixed.rowCount ?? 0;
  }
  await client.query(
    `UPDATE files SET metadata = COALESCE(metadata, '{}'::jsonb) || jsonb_build_object('name', name, 's3_key', path)
      WHERE id = $1`,
    [toId],
  );
  const ordinals = (
    await client.query<{ ordinal: number }>('SELECT ordinal FROM resources WHERE file_id = $1', [toId])
  ).rows.map((r) => r.ordinal);
  if (ordinals.length > 0) {
    await client.query(
      `UPDATE resources r SET id = v.id::uuid, name = v.name, category = $2, uri = v.uri,
         metadata = r.metadata || jsonb_strip_nulls(jsonb_build_object(
           'file_id', $1::text, 'chunk_index', r.ordinal,
           'chunk_type', CASE WHEN r.metadata->'source' @> '"transcription"'::jsonb
                              THEN 'transcription' ELSE 'text' END,
           'file_mtime', to_char(r.resource_timestamp AT TIME ZONE 'UTC', $7),
           'file_ctime', to_char(r.resource_timestamp AT TIME ZONE 'UTC', $7),
           'file_name', f.name, 'file_category', f.category, 'file_uri', f.uri))
       FROM files f, unnest($3::int[], $4::text[], $5::text[], $6::text[]) AS v(ordinal, id, name, uri)
       WHERE f.id = $1::uuid AND r.file_id = $1::uuid AND r.ordinal = v.ordinal`,
      [
        toId,
        CHUNK_CATEGORY,
        ordinals,
        ordinals.map((ordinal) => resourceIdFor(toId, ordinal)),
        ordinals.map((ordinal) => cleanText(chunkName(key, ordinal))),
        ordinals.map((ordinal) => cleanText(chunkUri(key, ordinal))),
        // As new rows have it (Date.toISOString: '2026-10-01T08:00:00.000Z').
        'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"',
      ],
    );
  }
  if (held) await restoreVectors(client, held, fileScope(row.tenantId, toId));
  return { fromId: row.id, toId, resources: ordinals.length, moments, errors, replacedOriginal };
}

/** Whether the file's first chunk (if any) has its id and the original's category: then all of them do. */
export async function chunksInLine(client: pg.Pool | pg.PoolClient, fileId: string): Promise<boolean> {
  const first = await client.query<{ id: string; ordinal: number; category: string | null }>(
    'SELECT id, ordinal, category FROM resources WHERE file_id = $1 ORDER BY ordinal LIMIT 1',
    [fileId],
  );
  const chunk = first.rows[0];
  return !chunk || (chunk.id === resourceIdFor(fileId, chunk.ordinal) && chunk.category === CHUNK_CATEGORY);
}
