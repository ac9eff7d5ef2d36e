/**
 * The shape every embedding provider has (docs/EMBEDDINGS.md). Callers (the ingestion step, backfill,
 * search) code against this interface only; which provider runs is a setting (src/config/sections/
 * embeddings.ts) resolved by `embeddingProviderFromConfig` (./index.ts).
 */
import {
  EmbeddingAuthError,
  EmbeddingProviderUnavailableError,
  EmbeddingRequestRejectedError,
} from '../../domain/errors.js';

export { EmbeddingAuthError, EmbeddingProviderUnavailableError, EmbeddingRequestRejectedError };

/** Text `index` of an embed call had `tokens` tokens and was cut to its first `kept`. */
export type TruncationNotice = (index: number, tokens: number, kept: number) => void;

export interface EmbeddingProvider {
  /**
   * The value stored in embeddings.*_embeddings.embedding_provider (the original's naming:
   * `all-MiniLM-L6-v2`, `text-embedding-3-small`). Vectors of different names are never compared.
   */
  readonly name: string;
  readonly model: string;
  /** 384 for local all-MiniLM-L6-v2, 1536 default for openai text-embedding-3-small. */
  readonly dimensions: number;
  /**
   * One L2-normalised vector per text, in order. Batches internally; honours the signal. A provider that
   * cuts a text beyond what its documented model length implies (openai: over P8FS_EMBEDDING_MAX_INPUT_TOKENS)
   * calls `onTruncated` with the text's position, so the caller can name the row in its warning.
   */
  embed(
    texts: readonly string[],
    signal?: AbortSignal,
    onTruncated?: TruncationNotice,
  ): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/**
 * A failure that may pass (429 or 5xx after the in-process retries, a connection refused, a timeout):
 * plain Error, so Temporal retries the activity. Permanent failures are the NonRetryableError classes
 * re-exported above (bad key, rejected request, missing model files).
 */
export class EmbeddingProviderError extends Error {
  override readonly name = 'EmbeddingProviderError';
}
