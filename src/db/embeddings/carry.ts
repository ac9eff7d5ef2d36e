/**
 * Vectors carried across the statements that remove and write rows again in one transaction: a whole
 * store (DELETE then COPY of the file's chunks), a transcript's moments replaced, a rename or re-key that
 * gives the rows new ids. Without this, the foreign key's ON DELETE CASCADE would drop every vector at
 * every store and each upload of unchanged text would be embedded again; and a row whose id changes
 * would leave its vector under the old id (or, where the key has no ON UPDATE action, fail the update).
 *
 * holdVectors copies the current vectors of the rows in scope (with each row's ordinal) into a temporary
 * table and deletes them; restoreVectors puts back, under the ids of the rows now at the same ordinals,
 * only those whose row holds the very text they were made from (md5), so a changed chunk is embedded
 * again by the next embed step and an unchanged one keeps its vector. Both run inside the caller's
 * transaction; nothing is held when the rows have no vector (one EXISTS query).
 */
import type pg from 'pg';
import { embeddingIdFor } from '../../domain/ids.js';
import { EMBEDDING_TABLES, type EmbeddedKind, VECTOR_COLUMNS, VECTOR_IS_CURRENT } from './tables.js';

/** Which rows: a kind, the tenant ($1) and a condition on `r` whose parameters are $2, $3, … */
export interface VectorScope {
  kind: EmbeddedKind;
  tenantId: string;
  where: string;
  params: unknown[];
}

/** A file's chunks. */
export function fileScope(tenantId: string, fileId: string): VectorScope {
  return { kind: 'resources', tenantId, where: 'r.file_id = $2', params: [fileId] };
}

/** A transcript's moments (src/activities/insight/moment-store.ts finds them the same way). */
export function transcriptScope(tenantId: string, transcriptRef: string): VectorScope {
  return { kind: 'moments', tenantId, where: "r.metadata->>'transcript_ref' = $2", params: [transcriptRef] };
}

export interface HeldVectors {
  kind: EmbeddedKind;
  /** The temporary table (dropped by restoreVectors, else at commit). */
  table: string;
  count: number;
}

let held = 0;

export async function holdVectors(
  client: pg.PoolClient,
  scope: VectorScope,
): Promise<HeldVectors | undefined> {
  const { vectors, rows } = EMBEDDING_TABLES[scope.kind];
  const params = [scope.tenantId, ...scope.params];
  const inScope = `FROM ${rows} r JOIN ${vectors} e ON e.entity_id = r.id AND e.tenant_id = $1
                   WHERE r.tenant_id = $1 AND ${scope.where}`;
  const any = await client.query(`SELECT 1 ${inScope} LIMIT 1`, params);
  if (!any.rowCount) return undefined;
  held += 1;
  const table = `p8fs_held_vectors_${held}`;
  await client.query(`CREATE TEMP TABLE ${table} (LIKE ${vectors}) ON COMMIT DROP`);
  await client.query(`ALTER TABLE ${table} ADD COLUMN ordinal integer`);
  // A vector the original P8FS wrote has no content_hash: the row's text stands in while it is current.
  const columns = VECTOR_COLUMNS.map((c) =>
    c === 'content_hash' ? 'COALESCE(e.content_hash, md5(r.content))' : `e.${c}`,
  );
  const copied = await client.query(
    `INSERT INTO ${table} (${VECTOR_COLUMNS.join(', ')}, ordinal)
     SELECT ${columns.join(', ')}, r.ordinal ${inScope} AND ${VECTOR_IS_CURRENT}`,
    params,
  );
  await client.query(
    `DELETE FROM ${vectors} e USING ${rows} r
      WHERE e.entity_id = r.id AND e.tenant_id = $1 AND r.tenant_id = $1 AND ${scope.where}`,
    params,
  );
  return { kind: scope.kind, table, count: copied.rowCount ?? 0 };
}

/**
 * Puts held vectors back on the rows of `target` at the same ordinals whose text is unchanged, under
 * those rows' ids (embeddingIdFor). Returns how many came back.
 */
export async function restoreVectors(
  client: pg.PoolClient,
  hold: HeldVectors,
  target: VectorScope,
): Promise<number> {
  const { vectors, rows } = EMBEDDING_TABLES[hold.kind];
  const matched = await client.query<{ ordinal: number; entity: string; field: string; provider: string }>(
    `SELECT h.ordinal, r.id AS entity, h.field_name AS field, h.embedding_provider AS provider
       FROM ${hold.table} h JOIN ${rows} r ON r.ordinal = h.ordinal AND md5(r.content) = h.content_hash
      WHERE r.tenant_id = $1 AND ${target.where}`,
    [target.tenantId, ...target.params],
  );
  let restored = 0;
  if (matched.rows.length > 0) {
    const m = matched.rows;
    const result = await client.query(
      `INSERT INTO ${vectors} (${VECTOR_COLUMNS.join(', ')})
       SELECT v.id, v.entity, h.field_name, h.embedding_provider, h.embedding_vector, h.vector_dimension,
              $6, h.content_hash, h.created_at, h.updated_at
         FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[]) AS v(id, entity, ordinal, field, provider)
         JOIN ${hold.table} h ON h.ordinal = v.ordinal AND h.field_name = v.field AND h.embedding_provider = v.provider
       ON CONFLICT DO NOTHING`,
      [
        m.map((row) => embeddingIdFor(row.entity, row.field, row.provider)),
        m.map((row) => row.entity),
        m.map((row) => row.ordinal),
        m.map((row) => row.field),
        m.map((row) => row.provider),
        target.tenantId,
      ],
    );
    restored = result.rowCount ?? 0;
  }
  await client.query(`DROP TABLE ${hold.table}`);
  return restored;
}
