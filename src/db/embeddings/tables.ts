/**
 * The two vector tables and the rows they belong to (the original P8FS's names, migration
 * 0009_embeddings.sql): a chunk's vector in embeddings.resources_embeddings, a moment's in
 * embeddings.moments_embeddings, both of the `content` field (the original's DefaultEmbeddingField of
 * Resources, which Moment inherits). A vector's id is embeddingIdFor(entity, field, provider).
 *
 * content_hash (migration 0011) is md5 of the text the vector was made from, as PostgreSQL computes
 * md5(content): whether a vector still describes its row is one comparison in SQL, so a store that writes
 * the same text again keeps its vectors and a changed text is embedded again. Vectors without it (written
 * by the original P8FS) count as current while they are at least as new as their row (updated_at).
 */
export type EmbeddedKind = 'resources' | 'moments';

export interface EmbeddingTable {
  /** The vector table, schema-qualified. */
  vectors: string;
  /** The rows the vectors belong to (entity_id references their id). */
  rows: string;
}

export const EMBEDDING_TABLES: Record<EmbeddedKind, EmbeddingTable> = {
  resources: { vectors: 'embeddings.resources_embeddings', rows: 'resources' },
  moments: { vectors: 'embeddings.moments_embeddings', rows: 'moments' },
};

/** The field embedded, for both kinds (the original's name in field_name). */
export const EMBEDDED_FIELD = 'content';

/** The columns a vector row is written with, in this order. */
export const VECTOR_COLUMNS = [
  'id',
  'entity_id',
  'field_name',
  'embedding_provider',
  'embedding_vector',
  'vector_dimension',
  'tenant_id',
  'content_hash',
  'created_at',
  'updated_at',
] as const;

/**
 * SQL condition: vector `e` still describes row `r` (same text, or an original P8FS vector not older
 * than its row). Every "which rows lack a vector" query uses this one definition.
 */
export const VECTOR_IS_CURRENT =
  '(e.content_hash = md5(r.content) OR (e.content_hash IS NULL AND e.updated_at >= r.updated_at))';

/** A vector as pgvector's text input: '[0.1,0.2,…]' (float32 values print exactly enough as JS numbers). */
export function vectorLiteral(vector: ArrayLike<number>): string {
  let text = '[';
  for (let i = 0; i < vector.length; i++) {
    const value = vector[i] as number;
    if (!Number.isFinite(value)) throw new RangeError(`vector value ${i} is ${value}, not a finite number`);
    text += i === 0 ? String(value) : `,${value}`;
  }
  return `${text}]`;
}
