/**
 * Anthropic Messages API with structured output through a forced tool call: the task's schema is the
 * tool's input_schema and tool_choice names the tool, so the answer is the tool call's input. A failed
 * validation goes back as the tool's error result, and the model answers again.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { LlmConfig } from '../../../config/config.js';
import { checkAnswer, schemaViolation } from './answers.js';
import { contextTokensFor, DEFAULT_MODELS } from './models.js';
import { withHttpRetries } from './retry.js';
import type { LlmProvider, StructuredRequest, StructuredResponse } from './types.js';

type MessageParam = Anthropic.MessageParam;

export function createAnthropicProvider(cfg: LlmConfig): LlmProvider {
  const client = new Anthropic({
    apiKey: cfg.anthropicApiKey ?? 'unset',
    baseURL: cfg.anthropicBaseUrl,
    maxRetries: 0,
    timeout: cfg.timeoutSeconds * 1000,
  });
  const model = cfg.model ?? DEFAULT_MODELS.anthropic;
  const where = `Anthropic API at ${cfg.anthropicBaseUrl}`;
  return {
    name: 'anthropic',
    model,
    contextTokens: contextTokensFor(model, cfg.contextTokens),
    async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
      const system = request.messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .join('\n\n');
      const messages: MessageParam[] = request.messages
        .filter((m) => m.role !== 'system')
        .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
      const tool = {
        name: request.task,
        description: `Record the ${request.task} result. The input must satisfy the schema exactly.`,
        input_schema: request.schema as Anthropic.Tool['input_schema'],
      };
      const usage = { inputTokens: 0, outputTokens: 0 };
      for (let attempt = 1; ; attempt++) {
        const answer = await withHttpRetries(
          where,
          { retries: cfg.httpRetries, maxWaitMs: cfg.retryMaxWaitSeconds * 1000 },
          () =>
            client.messages.create(
              {
                model,
                max_tokens: request.maxOutputTokens ?? cfg.maxOutputTokens,
                ...(system ? { system } : {}),
                messages,
                tools: [tool],
                tool_choice: { type: 'tool', name: request.task },
              },
              request.signal ? { signal: request.signal } : {},
            ),
          {
            ...(request.signal ? { signal: request.signal } : {}),
            onWait: (details) => request.onProgress?.({ step: 'llm-retry-wait', ...details }),
          },
        );
        usage.inputTokens += answer.usage?.input_tokens ?? 0;
        usage.outputTokens += answer.usage?.output_tokens ?? 0;
        const call = answer.content.find(
          (block): block is Anthropic.ToolUseBlock =>
            block.type === 'tool_use' && block.name === request.task,
        );
        const checked = call
          ? checkAnswer(call.input, request.validate)
          : ({ ok: false, problem: `the model did not call the ${request.task} tool` } as const);
        if (checked.ok) {
          return { value: checked.value, provider: 'anthropic', model, usage, schemaRetries: attempt - 1 };
        }
        if (attempt > cfg.schemaRetries)
          throw schemaViolation(request.task, 'anthropic', attempt, checked.problem);
        request.onProgress?.({ step: 'llm-reask', attempt, problem: checked.problem });
        if (call) {
          messages.push(
            { role: 'assistant', content: answer.content as Anthropic.ContentBlockParam[] },
            {
              role: 'user',
              content: [
                {
                  type: 'tool_result',
                  tool_use_id: call.id,
                  is_error: true,
                  content: `Invalid input: ${checked.problem}. Call the tool again with input that satisfies the schema exactly.`,
                },
              ],
            },
          );
        } else {
          messages.push(
            { role: 'assistant', content: answer.content as Anthropic.ContentBlockParam[] },
            { role: 'user', content: `Call the ${request.task} tool with your answer.` },
          );
        }
      }
    },
  };
}
