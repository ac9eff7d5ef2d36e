/** Embedding providers (docs/EMBEDDINGS.md): which one, its model and batching; the original's names read too. */
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { projectRoot } from '../project-root.js';
import { flag, httpUrl, intBetween, nonEmpty, nonNegativeInt, positiveInt } from '../schema.js';
import { declared, type Section } from '../variable.js';
import type { LlmConfig } from './llm.js';

export type EmbeddingProviderKind = 'local' | 'openai';

export interface EmbeddingsConfig {
  /**
   * P8FS_EMBEDDINGS_ENABLED: whether ingestion embeds a file's chunks and a transcript's moments after
   * storing them (the embedFile / embedMoments step). Off, files complete with their text only and
   * `p8fs embed backfill` can add the vectors later.
   */
  enabled: boolean;
  /**
   * P8FS_WORKER_CONCURRENCY_EMBED: embedding activities one storage worker runs at once per tier, on the
   * tier's own `-embed` task queue, apart from the tier's extraction slots.
   */
  concurrency: number;
  /** P8FS_EMBEDDING_PROVIDER (or the original's P8FS_DEFAULT_EMBEDDING_PROVIDER): `local` or `openai`. */
  provider: EmbeddingProviderKind;
  /** P8FS_EMBEDDING_BATCH_SIZE: texts per model call or HTTP request (the original's 32). */
  batchSize: number;
  local: LocalEmbeddingConfig;
  openai: OpenAiEmbeddingConfig;
}

export interface LocalEmbeddingConfig {
  /** P8FS_EMBEDDING_MODEL_DIR: model.onnx + tokenizer.json (scripts/install-embedding-model.sh). */
  modelDir: string;
  /** P8FS_EMBEDDING_THREADS: ONNX Runtime intra-op threads (1 leaves the other core to the worker). */
  threads: number;
}

export interface OpenAiEmbeddingConfig {
  /** P8FS_EMBEDDING_OPENAI_MODEL, or the model named by P8FS_DEFAULT_EMBEDDING_PROVIDER. */
  model: string;
  /** P8FS_EMBEDDING_DIMENSIONS: sent as `dimensions`; unset: the model's own (text-embedding-3-small: 1536). */
  dimensions?: number;
  /** P8FS_EMBEDDING_BASE_URL, else the LLM's base URL (…/v1; POST {base}/embeddings). */
  baseUrl: string;
  /** P8FS_EMBEDDING_API_KEY, else OPENAI_API_KEY. */
  apiKey?: string;
  /** The variable the key came from (or should come from): named in a 401/403 error. */
  apiKeyVariable: string;
  /** P8FS_EMBEDDING_MAX_INPUT_TOKENS: the most cl100k_base tokens of one text; longer texts are cut. */
  maxInputTokens: number;
  /** P8FS_EMBEDDING_MAX_REQUEST_TOKENS: the most tokens the texts of one request may have together. */
  maxRequestTokens: number;
  /** P8FS_EMBEDDING_HTTP_RETRIES: in-process retries of 429/5xx/connection failures. */
  httpRetries: number;
  /** P8FS_EMBEDDING_RETRY_MAX_WAIT_SECONDS: the longest Retry-After honoured in-process. */
  retryMaxWaitSeconds: number;
  /** P8FS_EMBEDDING_TIMEOUT_SECONDS: one HTTP request. */
  timeoutSeconds: number;
}

/** Where scripts/install-embedding-model.sh unpacks all-MiniLM-L6-v2. */
export const EMBEDDING_MODEL_DEFAULT_DIR = '.stack/models/all-MiniLM-L6-v2';

/**
 * The original's P8FS_DEFAULT_EMBEDDING_PROVIDER names a model, not a kind (p8fs/config/embedding.py):
 * its local names mean `local`, an OpenAI model name means `openai` with that model.
 */
const ORIGINAL_LOCAL = ['all-MiniLM-L6-v2', 'all-MiniLM-L6-v2-onnx'] as const;
const ORIGINAL_OPENAI = [
  'text-embedding-3-small',
  'text-embedding-3-large',
  'text-embedding-ada-002',
] as const;
/** The sizes OpenAI's embedding models give without `dimensions`; other models need P8FS_EMBEDDING_DIMENSIONS. */
export const OPENAI_EMBEDDING_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

const providerChoice = z.enum(['local', 'openai', ...ORIGINAL_LOCAL, ...ORIGINAL_OPENAI]);

const EMBEDDINGS = {
  enabled: {
    name: 'P8FS_EMBEDDINGS_ENABLED',
    schema: flag,
    fallback: 'true',
    meaning:
      "embed each file's chunks and each transcript's moments after they are stored (a step of ingestion on the tier's `-embed` task queue); `false`: text only, `p8fs embed backfill` adds vectors later",
  },
  concurrency: {
    name: 'P8FS_WORKER_CONCURRENCY_EMBED',
    schema: intBetween(1, 64),
    fallback: '1',
    meaning:
      'embedding activities a storage worker runs at once per tier (their own slots on `<queue>-embed`, so embedding never takes an extraction slot)',
  },
  provider: {
    name: 'P8FS_EMBEDDING_PROVIDER',
    aliases: ['P8FS_DEFAULT_EMBEDDING_PROVIDER'],
    validateAliases: true,
    schema: providerChoice,
    fallback: 'local',
    meaning:
      "`local` (all-MiniLM-L6-v2 in process, 384 dims) or `openai` (any OpenAI-compatible `/embeddings`); the original's model names are read too: `all-MiniLM-L6-v2` means `local`, `text-embedding-3-small` (or `-3-large`, `ada-002`) means `openai` with that model",
  },
  batchSize: {
    name: 'P8FS_EMBEDDING_BATCH_SIZE',
    schema: intBetween(1, 2048),
    fallback: '32',
    meaning: 'texts per model call or HTTP request',
  },
  modelDir: {
    name: 'P8FS_EMBEDDING_MODEL_DIR',
    schema: nonEmpty,
    fallback: () => `${projectRoot()}/${EMBEDDING_MODEL_DEFAULT_DIR}`,
    shown: `\`${EMBEDDING_MODEL_DEFAULT_DIR}\``,
    meaning: '`local`: folder with `model.onnx` and `tokenizer.json` (`scripts/install-embedding-model.sh`)',
  },
  threads: {
    name: 'P8FS_EMBEDDING_THREADS',
    schema: intBetween(1, 64),
    fallback: '1',
    meaning: '`local`: ONNX Runtime intra-op threads',
  },
  openaiModel: {
    name: 'P8FS_EMBEDDING_OPENAI_MODEL',
    schema: z.string().min(1).max(200),
    fallback: 'text-embedding-3-small',
    shown: '`text-embedding-3-small`, or the model P8FS_DEFAULT_EMBEDDING_PROVIDER names',
    meaning: '`openai`: model',
  },
  dimensions: {
    name: 'P8FS_EMBEDDING_DIMENSIONS',
    schema: intBetween(1, 16000),
    shown: "the model's own (1536 for text-embedding-3-small)",
    meaning:
      '`openai`: vector size asked for (`dimensions`); a non-default size is stored under its own provider name',
  },
  baseUrl: {
    name: 'P8FS_EMBEDDING_BASE_URL',
    schema: httpUrl,
    shown: 'P8FS_OPENAI_BASE_URL',
    meaning: '`openai`: any OpenAI-compatible server, up to `/v1` (requests go to `{base}/embeddings`)',
  },
  apiKey: {
    name: 'P8FS_EMBEDDING_API_KEY',
    schema: nonEmpty,
    shown: 'OPENAI_API_KEY',
    meaning: '`openai`: key (any non-empty value for a local server)',
  },
  maxInputTokens: {
    name: 'P8FS_EMBEDDING_MAX_INPUT_TOKENS',
    schema: positiveInt,
    fallback: '8191',
    meaning:
      '`openai`: the most tokens (cl100k_base) of one text; a longer one is cut to its first this many and a warning names its row (OpenAI refuses inputs over 8192)',
  },
  maxRequestTokens: {
    name: 'P8FS_EMBEDDING_MAX_REQUEST_TOKENS',
    schema: positiveInt,
    fallback: '300000',
    meaning:
      "`openai`: the most tokens the texts of one request may have together; a batch over it is split (OpenAI's limit is 300,000)",
  },
  httpRetries: {
    name: 'P8FS_EMBEDDING_HTTP_RETRIES',
    schema: nonNegativeInt,
    fallback: '4',
    meaning: '`openai`: in-process retries of 429/5xx and connection failures (Retry-After honoured)',
  },
  retryMaxWaitSeconds: {
    name: 'P8FS_EMBEDDING_RETRY_MAX_WAIT_SECONDS',
    schema: positiveInt,
    fallback: '60',
    meaning:
      '`openai`: the longest Retry-After honoured in-process; longer fails retryably (Temporal retries)',
  },
  timeoutSeconds: {
    name: 'P8FS_EMBEDDING_TIMEOUT_SECONDS',
    schema: positiveInt,
    fallback: '60',
    meaning: '`openai`: one HTTP request',
  },
} as const;

export const EMBEDDINGS_SECTION: Section = {
  title: 'Embeddings',
  about:
    'Vectors for chunks and moments (docs/EMBEDDINGS.md): the offline `local` model by default, or an OpenAI-compatible API.',
  variables: declared(EMBEDDINGS),
};

export function readEmbeddings(
  r: EnvReader,
  llm: Pick<LlmConfig, 'openaiApiKey' | 'openaiBaseUrl'>,
): EmbeddingsConfig {
  const choice = r.read(EMBEDDINGS.provider);
  const provider: EmbeddingProviderKind =
    choice === 'local' || (ORIGINAL_LOCAL as readonly string[]).includes(choice) ? 'local' : 'openai';
  const namedModel = (ORIGINAL_OPENAI as readonly string[]).includes(choice) ? choice : undefined;
  const ownKey = r.read(EMBEDDINGS.apiKey);
  const apiKey = ownKey ?? llm.openaiApiKey;
  if (provider === 'openai' && !apiKey)
    r.problems.push(
      `the embedding provider ${choice} (P8FS_EMBEDDING_PROVIDER) needs P8FS_EMBEDDING_API_KEY or OPENAI_API_KEY (any non-empty value for a local server)`,
    );
  // An explicit P8FS_EMBEDDING_OPENAI_MODEL wins over the model the original's variable names.
  const model = r.read(EMBEDDINGS.openaiModel, r.isSet(EMBEDDINGS.openaiModel.name) ? undefined : namedModel);
  const dimensions = r.read(EMBEDDINGS.dimensions);
  if (provider === 'openai' && dimensions === undefined && OPENAI_EMBEDDING_DIMENSIONS[model] === undefined)
    r.problems.push(
      `P8FS_EMBEDDING_DIMENSIONS is needed for the embedding model ${model} (its vector size is not known here)`,
    );
  const maxInputTokens = r.read(EMBEDDINGS.maxInputTokens);
  const maxRequestTokens = r.read(EMBEDDINGS.maxRequestTokens);
  // Else one text could need a request over the budget by itself.
  if (maxInputTokens > maxRequestTokens)
    r.problems.push(
      `P8FS_EMBEDDING_MAX_INPUT_TOKENS (${maxInputTokens}) must not exceed P8FS_EMBEDDING_MAX_REQUEST_TOKENS (${maxRequestTokens})`,
    );
  return {
    enabled: r.read(EMBEDDINGS.enabled),
    concurrency: r.read(EMBEDDINGS.concurrency),
    provider,
    batchSize: r.read(EMBEDDINGS.batchSize),
    local: { modelDir: r.read(EMBEDDINGS.modelDir), threads: r.read(EMBEDDINGS.threads) },
    openai: {
      model,
      dimensions,
      baseUrl: r.read(EMBEDDINGS.baseUrl) ?? llm.openaiBaseUrl,
      apiKey,
      apiKeyVariable: ownKey ? EMBEDDINGS.apiKey.name : 'OPENAI_API_KEY',
      maxInputTokens,
      maxRequestTokens,
      httpRetries: r.read(EMBEDDINGS.httpRetries),
      retryMaxWaitSeconds: r.read(EMBEDDINGS.retryMaxWaitSeconds),
      timeoutSeconds: r.read(EMBEDDINGS.timeoutSeconds),
    },
  };
}
