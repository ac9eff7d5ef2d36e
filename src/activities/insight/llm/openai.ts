/**
 * OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, any server at P8FS_OPENAI_BASE_URL) with
 * strict JSON-schema structured output. The SDK's own retries are off; ours (retry.ts) honour Retry-After.
 */
import OpenAI from 'openai';
import type { LlmConfig } from '../../../config/config.js';
import { checkAnswer, reaskText, schemaViolation } from './answers.js';
import { contextTokensFor, DEFAULT_MODELS } from './models.js';
import { withHttpRetries } from './retry.js';
import type { LlmMessage, LlmProvider, StructuredRequest, StructuredResponse } from './types.js';

export function openaiClient(cfg: LlmConfig): OpenAI {
  return new OpenAI({
    apiKey: cfg.openaiApiKey ?? 'unset',
    baseURL: cfg.openaiBaseUrl,
    maxRetries: 0,
    timeout: cfg.timeoutSeconds * 1000,
  });
}

/** The body of one chat completion with structured output; also one line of a Batch input file. */
export function chatCompletionBody(
  model: string,
  request: Pick<StructuredRequest<unknown>, 'task' | 'schema' | 'maxOutputTokens'> & {
    messages: LlmMessage[];
  },
  maxOutputTokens: number,
) {
  return {
    model,
    messages: request.messages,
    response_format: {
      type: 'json_schema' as const,
      json_schema: { name: request.task, schema: request.schema, strict: true },
    },
    max_completion_tokens: request.maxOutputTokens ?? maxOutputTokens,
  };
}

export function createOpenAiProvider(cfg: LlmConfig): LlmProvider {
  const client = openaiClient(cfg);
  const model = cfg.model ?? DEFAULT_MODELS.openai;
  const where = `OpenAI-compatible API at ${cfg.openaiBaseUrl}`;
  return {
    name: 'openai',
    model,
    contextTokens: contextTokensFor(model, cfg.contextTokens),
    async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
      const messages: LlmMessage[] = [...request.messages];
      const usage = { inputTokens: 0, outputTokens: 0 };
      for (let attempt = 1; ; attempt++) {
        const completion = await withHttpRetries(
          where,
          { retries: cfg.httpRetries, maxWaitMs: cfg.retryMaxWaitSeconds * 1000 },
          () =>
            client.chat.completions.create(
              chatCompletionBody(model, { ...request, messages }, cfg.maxOutputTokens),
              request.signal ? { signal: request.signal } : {},
            ),
          {
            ...(request.signal ? { signal: request.signal } : {}),
            onWait: (details) => request.onProgress?.({ step: 'llm-retry-wait', ...details }),
          },
        );
        usage.inputTokens += completion.usage?.prompt_tokens ?? 0;
        usage.outputTokens += completion.usage?.completion_tokens ?? 0;
        const message = completion.choices[0]?.message;
        const checked = message?.refusal
          ? ({ ok: false, problem: `the model refused: ${message.refusal}` } as const)
          : checkAnswer(message?.content ?? '', request.validate);
        if (checked.ok)
          return { value: checked.value, provider: 'openai', model, usage, schemaRetries: attempt - 1 };
        if (attempt > cfg.schemaRetries)
          throw schemaViolation(request.task, 'openai', attempt, checked.problem);
        request.onProgress?.({ step: 'llm-reask', attempt, problem: checked.problem });
        messages.push(
          { role: 'assistant', content: message?.content ?? '' },
          { role: 'user', content: reaskText(checked.problem) },
        );
      }
    },
  };
}
