/**
 * The one place that picks the model backend from the configuration (P8FS_LLM_PROVIDER, default:
 * openai when OPENAI_API_KEY is set, else anthropic when ANTHROPIC_API_KEY is set, else heuristic).
 */
import type { Config } from '../../../config/config.js';
import { createAnthropicProvider } from './anthropic.js';
import { createHeuristicProvider } from './heuristic.js';
import { createLocalProvider } from './local.js';
import { createOpenAiProvider } from './openai.js';
import type { LlmProvider } from './types.js';

export type { LlmProvider, LlmProviderName, StructuredRequest, StructuredResponse } from './types.js';

export function createLlmProvider(cfg: Config): LlmProvider {
  switch (cfg.llm.provider) {
    case 'openai':
      return createOpenAiProvider(cfg.llm);
    case 'anthropic':
      return createAnthropicProvider(cfg.llm);
    case 'local':
      return createLocalProvider(cfg.llm);
    default:
      return createHeuristicProvider(cfg.llm.contextTokens);
  }
}

/** One line for start-up logs: which backend and model, and where it is. */
export function describeLlm(cfg: Config, llm: LlmProvider): string {
  const where =
    llm.name === 'openai'
      ? ` at ${cfg.llm.openaiBaseUrl}`
      : llm.name === 'anthropic'
        ? ` at ${cfg.llm.anthropicBaseUrl}`
        : llm.name === 'local'
          ? ` from ${cfg.llm.local.modelPath}, in process`
          : '';
  return `${llm.name} (${llm.model}${where}, context ${llm.contextTokens} tokens)`;
}
