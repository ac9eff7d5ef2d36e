/**
 * Token limits of OpenAI's /v1/embeddings, kept on our side so that a request is never refused for its
 * size: each input at most `maxInputTokens` (8191 for text-embedding-3-* and ada-002), and the inputs of
 * one request together at most `maxRequestTokens` (300,000). Tokens are cl100k_base, the encoding those
 * models use and the one the chunker counts with (src/domain/chunking-tokens.ts), so our count is the
 * server's. Other OpenAI-compatible servers tokenize differently; for them the budget is an estimate.
 */
import { decode, encode } from 'gpt-tokenizer/encoding/cl100k_base';
import { countText } from '../../domain/chunking-tokens.js';

// Documents may contain "<|endoftext|>"; it is text to us, and the API embeds it as text.
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

export interface FittedText {
  text: string;
  /** Tokens of `text` as sent. */
  tokens: number;
  /** Tokens of the text as given, when it was cut (else undefined). */
  cutFrom?: number;
}

/** `text` cut to its first `maxTokens` tokens (cl100k_base), or as it is when it fits. */
export function fitToTokens(text: string, maxTokens: number): FittedText {
  const tokens = countText(text);
  if (tokens <= maxTokens) return { text, tokens };
  const ids = encode(text, AS_PLAIN_TEXT);
  // Decoding a prefix can end inside a character (U+FFFD) and re-encode to a token more; cut until it fits.
  for (let keep = maxTokens; keep > 0; keep--) {
    const cut = decode(ids.slice(0, keep));
    const n = countText(cut);
    if (n <= maxTokens) return { text: cut, tokens: n, cutFrom: tokens };
  }
  return { text: '', tokens: 0, cutFrom: tokens };
}

/**
 * Consecutive ranges [start, end) of the inputs, in order, each at most `batchSize` inputs and at most
 * `maxRequestTokens` tokens together. Every count must already be ≤ maxRequestTokens (fitToTokens with a
 * per-input limit below the budget ensures it), so every range holds at least one input.
 */
export function planRequests(
  tokens: readonly number[],
  batchSize: number,
  maxRequestTokens: number,
): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = 0;
  let sum = 0;
  for (let i = 0; i < tokens.length; i++) {
    const n = tokens[i] as number;
    if (i > start && (i - start >= batchSize || sum + n > maxRequestTokens)) {
      ranges.push([start, i]);
      start = i;
      sum = 0;
    }
    sum += n;
  }
  if (start < tokens.length) ranges.push([start, tokens.length]);
  return ranges;
}
