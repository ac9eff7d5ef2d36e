/**
 * The offline backend: no model, the task's own deterministic rules (`heuristic()`), validated like any
 * model answer. Every task marks its heuristic output as heuristic, so nobody mistakes it for a model's.
 */
import { checkAnswer, schemaViolation } from './answers.js';
import { contextTokensFor, DEFAULT_MODELS } from './models.js';
import type { LlmProvider, StructuredRequest, StructuredResponse } from './types.js';

export function createHeuristicProvider(contextTokens?: number): LlmProvider {
  const model = DEFAULT_MODELS.heuristic;
  return {
    name: 'heuristic',
    model,
    contextTokens: contextTokensFor(model, contextTokens),
    async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
      request.signal?.throwIfAborted();
      const checked = checkAnswer(request.heuristic(), request.validate);
      // A heuristic that breaks its own schema is a bug in our rules: fail loudly, never retry.
      if (!checked.ok) throw schemaViolation(request.task, 'heuristic', 1, checked.problem);
      return { value: checked.value, provider: 'heuristic', model, schemaRetries: 0 };
    },
  };
}
