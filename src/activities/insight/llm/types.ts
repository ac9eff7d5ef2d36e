/**
 * The one interface every language-model backend implements (openai, anthropic, heuristic, local).
 * Insight activities (dream analysis, moment building) describe WHAT they want: messages, a JSON schema
 * for the answer, a validator, and a deterministic rule-based fallback. A backend decides HOW: the
 * OpenAI-compatible and Anthropic backends call the model with structured output; the `heuristic` backend
 * runs `heuristic()` instead and is honest about it (every value it returns is marked heuristic by the
 * task's own heuristic function).
 */

export type LlmProviderName = 'openai' | 'anthropic' | 'heuristic' | 'local';

export interface LlmMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A JSON Schema object (draft 2020-12 subset accepted by OpenAI strict structured output). */
export type JsonSchema = Record<string, unknown>;

export interface StructuredRequest<T> {
  /** Short machine name of the task, e.g. `dream_analysis` or `moment_builder`; also the schema name. */
  task: string;
  messages: LlmMessage[];
  schema: JsonSchema;
  /** Throws (with a message that names the bad field) when `value` does not satisfy the schema. */
  validate: (value: unknown) => T;
  /** The rule-based answer the `heuristic` backend returns; pure and deterministic. */
  heuristic: () => T;
  maxOutputTokens?: number;
  signal?: AbortSignal;
  /** Called while a backend waits (a Retry-After, a re-ask), so the activity can heartbeat. */
  onProgress?: (details: Record<string, unknown>) => void;
}

export interface StructuredResponse<T> {
  value: T;
  provider: LlmProviderName;
  model: string;
  usage?: { inputTokens: number; outputTokens: number };
  /** How many answers failed validation before this one. */
  schemaRetries: number;
}

export interface LlmProvider {
  readonly name: LlmProviderName;
  readonly model: string;
  /** The model's context window in tokens: prompts are packed to fit it (minus the output budget). */
  readonly contextTokens: number;
  generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>>;
}
