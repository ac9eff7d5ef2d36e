/**
 * Vectors in PostgreSQL (pgvector, migrations 0009 and 0011): which rows lack one, writing them, keeping
 * them across stores and renames, and a file's embedding state. The repository the embed step, the
 * backfill, the API and the CLI use.
 */
export {
  fileScope,
  type HeldVectors,
  holdVectors,
  restoreVectors,
  transcriptScope,
  type VectorScope,
} from './carry.js';
export {
  type EmbeddingStatus,
  embeddingTotals,
  type FileEmbeddingRow,
  type FileEmbeddings,
  fileEmbeddingColumns,
  fileEmbeddings,
  markFileEmbedded,
  markFileEmbeddingFailed,
  markFilesEmbedded,
} from './file-state.js';
export { EMBEDDED_FIELD, EMBEDDING_TABLES, type EmbeddedKind, vectorLiteral } from './tables.js';
export {
  fileVectorCounts,
  type PendingRow,
  pendingChunksOfFile,
  pendingIdsOfTenant,
  pendingMomentsOfTranscript,
  pendingRowsOfTenant,
  type TenantPage,
  upsertVectors,
  type VectorWrite,
} from './vectors.js';
