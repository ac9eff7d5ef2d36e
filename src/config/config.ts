/**
 * The one place that reads the environment. Every setting has a seed name, a default that matches the
 * local stack (`p8fs stack up`), and a validator, declared once in its section (sections/*.ts), from
 * which docs/CONFIGURATION.md is generated too; `loadConfig()` fails with a message that names each bad
 * variable and what was expected, so a typo is caught at start-up rather than at the first request.
 */
import { ConfigError, type Env, EnvReader } from './env-reader.js';
import { LIMITS_SECTION, type LimitsConfig, readLimits } from './limits.js';
import { AFFINITY_SECTION, type AffinityConfig, readAffinity } from './sections/affinity.js';
import { API_SECTION, type ApiConfig, readApi } from './sections/api.js';
import { BATCH_SECTION, type BatchConfig, readBatch } from './sections/batch.js';
import { BRIDGE_SECTION, type BridgeConfig, readBridge } from './sections/bridge.js';
import { EMBEDDINGS_SECTION, type EmbeddingsConfig, readEmbeddings } from './sections/embeddings.js';
import { GENERAL_SECTION, type GeneralSettings, readGeneral } from './sections/general.js';
import { HOUSEKEEPING_SECTION, type HousekeepingConfig, readHousekeeping } from './sections/housekeeping.js';
import { INSIGHTS_SECTION, type InsightSettings, readInsights } from './sections/insights.js';
import { LLM_SECTION, type LlmConfig, readLlm } from './sections/llm.js';
import { MEDIA_SECTION, type MediaConfig, readMedia } from './sections/media.js';
import { MESSAGING_SECTION, type NatsConfig, readNats } from './sections/messaging.js';
import { readStack, STACK_SECTION, type StackConfig } from './sections/stack.js';
import { readStorage, STORAGE_SECTION, type StorageSettings } from './sections/storage.js';
import { readSubscriber, SUBSCRIBER_SECTION, type SubscriberConfig } from './sections/subscriber.js';
import { readTemporal, TEMPORAL_SECTION, type TemporalConfig } from './sections/temporal.js';
import { readWorker, WORKER_SECTION, type WorkerSettings } from './sections/worker.js';
import type { Section } from './variable.js';

export { GiB, MiB, portOf } from './schema.js';
export type { AffinityConfig } from './sections/affinity.js';
export type { ApiConfig } from './sections/api.js';
export type { BatchConfig } from './sections/batch.js';
export type { BridgeConfig } from './sections/bridge.js';
export {
  EMBEDDING_MODEL_DEFAULT_DIR,
  type EmbeddingProviderKind,
  type EmbeddingsConfig,
  type LocalEmbeddingConfig,
  OPENAI_EMBEDDING_DIMENSIONS,
  type OpenAiEmbeddingConfig,
} from './sections/embeddings.js';
export type { TracingConfig } from './sections/general.js';
export type { HousekeepingConfig } from './sections/housekeeping.js';
export type { DreamConfig } from './sections/insights.js';
export {
  type LlmConfig,
  type LlmProviderChoice,
  LOCAL_MODEL_DEFAULT_FILE,
  type LocalLlmConfig,
} from './sections/llm.js';
export type { MediaConfig } from './sections/media.js';
export type { NatsConfig } from './sections/messaging.js';
export type { StackConfig } from './sections/stack.js';
export { isLoopbackHost, type PgConfig, type S3Config } from './sections/storage.js';
export type { SubscriberConfig } from './sections/subscriber.js';
export type { TemporalConfig } from './sections/temporal.js';
export type { WorkerConfig } from './sections/worker.js';
export { ConfigError };

export interface Config extends GeneralSettings, StorageSettings, WorkerSettings, InsightSettings {
  temporal: TemporalConfig;
  nats: NatsConfig;
  /** Extraction limits and memory ceiling per tier (P8FS_LIMIT_*, P8FS_EXTRACT_MEMORY_MB): limits.ts. */
  limits: LimitsConfig;
  bridge: BridgeConfig;
  /** `p8fs subscriber`: the filer metadata stream → storage events on JetStream. */
  subscriber: SubscriberConfig;
  llm: LlmConfig;
  /** Embedding provider, model and batching (sections/embeddings.ts, src/providers/embeddings). */
  embeddings: EmbeddingsConfig;
  /** Outside tools of the audio, image and PDF-OCR providers, and transcription (sections/media.ts). */
  media: MediaConfig;
  /** Resource affinity (`--task affinity`): resources per run, similarity threshold, model calls. */
  affinity: AffinityConfig;
  /** Housekeeping schedules (src/schedules/definitions.ts, src/workflows/housekeeping.ts): cron (UTC) and ages. */
  housekeeping: HousekeepingConfig;
  /** ingestBatch defaults (`p8fs batch start`, the API): window, continue-as-new, page size, priority. */
  batch: BatchConfig;
  /** The HTTP API, `p8fs api` (src/api): where it listens and how it hands out download links. */
  api: ApiConfig;
  stack: StackConfig;
}

/** The tables of docs/CONFIGURATION.md, in its order (scripts/gen-config-doc.ts). */
export const SECTIONS: readonly Section[] = [
  TEMPORAL_SECTION,
  MESSAGING_SECTION,
  BRIDGE_SECTION,
  SUBSCRIBER_SECTION,
  STORAGE_SECTION,
  WORKER_SECTION,
  LIMITS_SECTION,
  MEDIA_SECTION,
  LLM_SECTION,
  EMBEDDINGS_SECTION,
  INSIGHTS_SECTION,
  AFFINITY_SECTION,
  BATCH_SECTION,
  HOUSEKEEPING_SECTION,
  API_SECTION,
  GENERAL_SECTION,
  STACK_SECTION,
];

export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  // Read first: default addresses of other sections follow the local stack's ports.
  const stack = readStack(r);
  const storage = readStorage(r);
  const llm = readLlm(r);
  const config: Config = {
    ...readGeneral(r),
    temporal: readTemporal(r, stack.temporalUiPort),
    nats: readNats(r, stack.natsMonitorPort),
    ...storage,
    ...readWorker(r),
    limits: readLimits(env, r.problems),
    bridge: readBridge(r),
    subscriber: readSubscriber(r, storage.s3.filerUrl),
    llm,
    embeddings: readEmbeddings(r, llm),
    media: readMedia(r, llm),
    ...readInsights(r),
    affinity: readAffinity(r),
    housekeeping: readHousekeeping(r),
    batch: readBatch(r),
    api: readApi(r),
    stack,
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  // Every field was validated above; a missing one would have added a problem.
  return config;
}
