/**
 * The embedding providers by name, like the content providers' catalog (src/providers/index.ts): a
 * descriptor per provider says how to build it from the config. Callers ask for the configured one with
 * `embeddingProviderFromConfig` and code against EmbeddingProvider (./provider.ts) only.
 */
import type { EmbeddingProviderKind, EmbeddingsConfig } from '../../config/config.js';
import { localEmbeddingProvider } from './local.js';
import { openAiEmbeddingProvider } from './openai.js';
import type { EmbeddingProvider } from './provider.js';

export { LOCAL_DIMENSIONS, LOCAL_PROVIDER_NAME } from './local.js';
export {
  EmbeddingAuthError,
  type EmbeddingProvider,
  EmbeddingProviderError,
  EmbeddingProviderUnavailableError,
  EmbeddingRequestRejectedError,
  type TruncationNotice,
} from './provider.js';

export interface EmbeddingProviderDescriptor {
  readonly kind: EmbeddingProviderKind;
  /** One line for docs and `--help`. */
  readonly about: string;
  create(config: EmbeddingsConfig): EmbeddingProvider;
}

export const EMBEDDING_PROVIDERS: Readonly<Record<EmbeddingProviderKind, EmbeddingProviderDescriptor>> = {
  local: {
    kind: 'local',
    about: 'all-MiniLM-L6-v2 (384 dimensions) in process on ONNX Runtime; offline',
    create: (c) =>
      localEmbeddingProvider({
        modelDir: c.local.modelDir,
        threads: c.local.threads,
        batchSize: c.batchSize,
      }),
  },
  openai: {
    kind: 'openai',
    about:
      'any OpenAI-compatible POST {base}/embeddings (text-embedding-3-small, 1536 dimensions, by default)',
    create: (c) => openAiEmbeddingProvider({ ...c.openai, batchSize: c.batchSize }),
  },
};

/**
 * The configured provider. Built once per process and setting (the `local` one holds a 23 MB model and
 * its session; the `openai` one is stateless but is cached alike, so every caller sees one object).
 */
const cache = new Map<string, EmbeddingProvider>();

export function embeddingProviderFromConfig(config: { embeddings: EmbeddingsConfig }): EmbeddingProvider {
  const c = config.embeddings;
  const key = JSON.stringify(c);
  let provider = cache.get(key);
  if (!provider) {
    provider = EMBEDDING_PROVIDERS[c.provider].create(c);
    cache.set(key, provider);
  }
  return provider;
}
