/**
 * What a file's embeddings say (src/db/embeddings/file-state.ts): `done` only when every chunk has a
 * current vector of the configured provider, `failed` only for a failure of that provider, `off` when
 * embedding is switched off and the file has none, `pending` otherwise.
 */
import { describe, expect, it } from 'vitest';
import { type FileEmbeddingRow, fileEmbeddings } from '../../src/db/embeddings/index.js';

const row = (over: Partial<FileEmbeddingRow>): FileEmbeddingRow => ({
  status: 'completed',
  chunk_count: 4,
  embedding_status: null,
  embedding_provider: null,
  embedding_error: null,
  embedding_pending: 4,
  ...over,
});
const P = 'all-MiniLM-L6-v2';

describe('fileEmbeddings', () => {
  it('pending while chunks lack vectors, with the count made', () => {
    expect(fileEmbeddings(row({ embedding_pending: 1 }), P, true)).toEqual({
      status: 'pending',
      provider: P,
      embedded: 3,
      chunks: 4,
      error: null,
    });
  });

  it('done when every chunk has one, whatever the stored state says', () => {
    expect(fileEmbeddings(row({ embedding_pending: 0 }), P, true)).toMatchObject({
      status: 'done',
      embedded: 4,
    });
    expect(fileEmbeddings(row({ embedding_pending: 0 }), P, false)).toMatchObject({ status: 'done' });
  });

  it('failed with its reason for the configured provider only', () => {
    const failed = row({
      embedding_status: 'failed',
      embedding_provider: P,
      embedding_error: 'EmbeddingAuthError: 401',
    });
    expect(fileEmbeddings(failed, P, true)).toMatchObject({
      status: 'failed',
      error: 'EmbeddingAuthError: 401',
    });
    expect(fileEmbeddings(failed, 'text-embedding-3-small', true)).toMatchObject({
      status: 'pending',
      error: null,
    });
  });

  it('off when embedding is switched off and vectors are missing; never done before the store', () => {
    expect(fileEmbeddings(row({}), P, false)).toMatchObject({ status: 'off' });
    expect(
      fileEmbeddings(row({ status: 'processing', chunk_count: null, embedding_pending: 0 }), P, true),
    ).toMatchObject({
      status: 'pending',
      chunks: 0,
    });
  });
});
