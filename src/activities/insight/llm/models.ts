/**
 * Context windows of models we know, so prompts are packed to what the model accepts. A model not
 * listed gets a conservative window (32k) unless P8FS_LLM_CONTEXT_TOKENS says otherwise: packing too
 * little costs recall, packing too much costs a failed request.
 */
import type { LlmProviderName } from './types.js';

export const DEFAULT_MODELS: Record<LlmProviderName, string> = {
  openai: 'gpt-4.1-mini',
  anthropic: 'claude-sonnet-4-6',
  heuristic: 'heuristic-rules-v1',
  local: 'local',
};

export const UNKNOWN_MODEL_CONTEXT_TOKENS = 32_768;

// Longest prefix wins; names are matched case-insensitively after any "provider/" prefix.
const KNOWN: Array<[prefix: string, tokens: number]> = [
  ['gpt-4.1', 1_047_576],
  ['gpt-4o', 128_000],
  ['gpt-4-turbo', 128_000],
  ['gpt-5', 400_000],
  ['o1', 200_000],
  ['o3', 200_000],
  ['o4-mini', 200_000],
  ['gpt-3.5-turbo', 16_385],
  ['claude-', 200_000],
  ['llama-3.1', 131_072],
  ['llama3.1', 131_072],
  ['qwen2.5', 32_768],
  // The heuristic reads everything it is given; a large window keeps its packing from cutting input.
  ['heuristic', 1_000_000],
];

export function knownContextTokens(model: string): number | undefined {
  const name = (model.split('/').pop() ?? model).toLowerCase();
  let best: [string, number] | undefined;
  for (const entry of KNOWN) {
    if (name.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  return best?.[1];
}

/** The configured window, else the model's known one, else the conservative default. */
export function contextTokensFor(model: string, configured?: number): number {
  return configured ?? knownContextTokens(model) ?? UNKNOWN_MODEL_CONTEXT_TOKENS;
}
