/**
 * The openai provider's token arithmetic (src/providers/embeddings/token-budget.ts): texts cut to a
 * token limit by cl100k_base, even where a token ends inside a character, and requests planned greedily
 * under both a count and a token budget. The wire behaviour is in test/integration/embeddings-openai.test.ts.
 */
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { describe, expect, it } from 'vitest';
import { fitToTokens, planRequests } from '../../src/providers/embeddings/token-budget.js';

describe('fitToTokens', () => {
  it('leaves a text that fits as it is', () => {
    expect(fitToTokens('a short text', 10)).toEqual({ text: 'a short text', tokens: 3 });
  });

  it('cuts to a prefix of at most the limit, also through multi-byte characters', () => {
    for (const text of [
      'word '.repeat(50),
      '日本語のテキストと絵文字🙂🙃🙂🙃'.repeat(20),
      `${'<|endoftext|> '.repeat(10)}${'é'.repeat(100)}`,
    ]) {
      const before = countTokens(text, { disallowedSpecial: new Set() });
      const fitted = fitToTokens(text, 17);
      expect(fitted.cutFrom).toBe(before);
      expect(fitted.tokens).toBe(countTokens(fitted.text, { disallowedSpecial: new Set() }));
      expect(fitted.tokens).toBeLessThanOrEqual(17);
      expect(fitted.tokens).toBeGreaterThanOrEqual(15);
      // A prefix, except that a character split by the cut may end as U+FFFD.
      expect(text.startsWith(fitted.text.replace(/\uFFFD+$/, ''))).toBe(true);
    }
  });
});

describe('planRequests', () => {
  it('fills each request greedily up to the batch size and the token budget, in order', () => {
    expect(planRequests([5, 5, 5, 5, 5], 2, 100)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(planRequests([4, 3, 3, 9, 1, 10], 10, 10)).toEqual([
      [0, 3],
      [3, 5],
      [5, 6],
    ]);
    expect(planRequests([], 10, 10)).toEqual([]);
  });
});
