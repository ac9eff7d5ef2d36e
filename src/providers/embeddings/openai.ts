/**
 * The `openai` embedding provider: any server speaking OpenAI's POST {base}/embeddings ({model, input:
 * [...], dimensions?} → {data: [{index, embedding}]}): OpenAI itself, vLLM, Ollama, a proxy. Plain fetch,
 * no SDK, so the retry policy is ours and visible:
 * - texts go in requests of at most `batchSize` texts and `maxRequestTokens` tokens together (OpenAI
 *   refuses a request over 300,000 tokens), in order, so the vectors come back in the texts' order;
 * - a text over `maxInputTokens` is cut to its first `maxInputTokens` tokens and reported (onTruncated,
 *   else a process warning). Cut, not refused: a refusal is permanent, so one oversized chunk would fail
 *   its whole file's embedding step on every retry, while a vector of the first 8191 tokens still finds
 *   the text; the original P8FS cuts too (validate_input), and the local model cuts at 256 tokens;
 * - 429, 408, 409, 5xx and connection failures are retried up to `httpRetries` times, each after the
 *   server's Retry-After (retry-after-ms, retry-after seconds or an HTTP date) or else an exponential
 *   backoff; a wait longer than `retryMaxWaitSeconds`, or retries exhausted, is a retryable
 *   EmbeddingProviderError (Temporal retries the activity later, without holding the slot meanwhile);
 * - 401/403 fail at once with EmbeddingAuthError naming the key variable; other 4xx with
 *   EmbeddingRequestRejectedError (the same request fails the same way again).
 * The same policy as the LLM client's (src/activities/insight/llm/retry.ts), written for fetch here
 * because providers do not reach into activities.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OPENAI_EMBEDDING_DIMENSIONS } from '../../config/config.js';
import { EmbeddingAuthError, EmbeddingRequestRejectedError, errorText } from '../../domain/errors.js';
import { normalise } from './local.js';
import { type EmbeddingProvider, EmbeddingProviderError, type TruncationNotice } from './provider.js';
import { fitToTokens, planRequests } from './token-budget.js';

export interface OpenAiEmbeddingOptions {
  model: string;
  /** Sent as `dimensions` when set; else the model's own size (OPENAI_EMBEDDING_DIMENSIONS). */
  dimensions?: number;
  /** Up to /v1: requests go to {baseUrl}/embeddings. */
  baseUrl: string;
  apiKey?: string;
  /** The variable the key is read from, for the 401/403 message. */
  apiKeyVariable: string;
  batchSize: number;
  /** The most tokens (cl100k_base) one text may have; longer ones are cut. */
  maxInputTokens: number;
  /** The most tokens the texts of one request may have together. */
  maxRequestTokens: number;
  httpRetries: number;
  retryMaxWaitSeconds: number;
  timeoutSeconds: number;
  /** First backoff without a Retry-After (ms), doubled per attempt, at most 30 s; tests shorten it. */
  baseDelayMs?: number;
}

/**
 * The name stored in embedding_provider: the model, as the original stores it, or `model@dims` when a
 * size other than the model's own is asked for (vectors of different sizes must never share a name).
 */
export function openAiProviderName(model: string, dimensions: number | undefined): string {
  return dimensions === undefined || dimensions === OPENAI_EMBEDDING_DIMENSIONS[model]
    ? model
    : `${model}@${dimensions}`;
}

/** The server's requested wait in ms, from retry-after-ms or retry-after (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  const seconds = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Without a caller's notice a cut is still said, once per text, on the process's warning channel. */
const warnTruncated: TruncationNotice = (index, tokens, kept) =>
  process.emitWarning(
    `embedding input ${index} has ${tokens} tokens; only its first ${kept} were embedded (P8FS_EMBEDDING_MAX_INPUT_TOKENS)`,
    'EmbeddingInputTruncated',
  );

const retryableStatus = (status: number) =>
  status === 408 || status === 409 || status === 429 || status >= 500;

interface EmbeddingsResponse {
  data?: Array<{ index?: number; embedding?: unknown }>;
}

/** A failed attempt: what the retry loop needs to decide. */
class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export function openAiEmbeddingProvider(options: OpenAiEmbeddingOptions): EmbeddingProvider {
  const dimensions = options.dimensions ?? OPENAI_EMBEDDING_DIMENSIONS[options.model];
  if (dimensions === undefined)
    throw new EmbeddingRequestRejectedError(
      `the embedding model ${options.model} has no known size: set P8FS_EMBEDDING_DIMENSIONS to the size it returns`,
    );
  const url = `${options.baseUrl.replace(/\/+$/, '')}/embeddings`;
  const where = `the embeddings API at ${url}`;

  async function attempt(input: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const timeout = AbortSignal.timeout(options.timeoutSeconds * 1000);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: options.model,
          input,
          encoding_format: 'float',
          ...(options.dimensions !== undefined ? { dimensions: options.dimensions } : {}),
        }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      signal?.throwIfAborted();
      throw new AttemptFailure(`no response: ${errorText(err)}`);
    }
    const text = await res.text();
    if (!res.ok) {
      const said = `HTTP ${res.status}: ${text.slice(0, 500)}`;
      if (res.status === 401 || res.status === 403)
        throw new EmbeddingAuthError(
          `${where} refused the API key (${said}); check ${options.apiKeyVariable}`,
        );
      if (!retryableStatus(res.status))
        throw new EmbeddingRequestRejectedError(
          `${where} rejected the request for model ${options.model} (${said})`,
        );
      throw new AttemptFailure(said, res.status, retryAfterMs(res.headers));
    }
    return parse(text, input.length);
  }

  function parse(text: string, count: number): Float32Array[] {
    let body: EmbeddingsResponse;
    try {
      body = JSON.parse(text) as EmbeddingsResponse;
    } catch {
      throw new EmbeddingProviderError(
        `${where} answered with something other than JSON: ${text.slice(0, 200)}`,
      );
    }
    const vectors: Float32Array[] = new Array(count);
    for (const [position, item] of (body.data ?? []).entries()) {
      const index = item.index ?? position;
      const e = item.embedding;
      if (!Array.isArray(e) || !e.every((x) => typeof x === 'number'))
        throw new EmbeddingRequestRejectedError(
          `${where} returned a non-numeric embedding (base64 or another format) for input ${index}`,
        );
      if (e.length !== dimensions)
        throw new EmbeddingRequestRejectedError(
          `${where} returned ${e.length} dimensions for ${options.model}, expected ${dimensions}: set P8FS_EMBEDDING_DIMENSIONS to the model's size`,
        );
      vectors[index] = normalise(Float32Array.from(e as number[]));
    }
    for (let i = 0; i < count; i++)
      if (!vectors[i])
        throw new EmbeddingProviderError(`${where} returned no embedding for input ${i} of ${count}`);
    return vectors;
  }

  async function withRetries(input: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const base = options.baseDelayMs ?? 1000;
    for (let n = 1; ; n++) {
      try {
        return await attempt(input, signal);
      } catch (err) {
        if (!(err instanceof AttemptFailure)) throw err;
        const waitMs = err.retryAfter ?? Math.min(30_000, base * 2 ** (n - 1));
        if (n > options.httpRetries || waitMs > options.retryMaxWaitSeconds * 1000)
          throw new EmbeddingProviderError(
            `${where} is unavailable after ${n} attempt(s) (${err.message})${err.retryAfter !== undefined ? `; the server asked to wait ${Math.round(err.retryAfter / 1000)} s` : ''}`,
            { cause: err },
          );
        // Aborted while waiting: fail with the signal's reason (Temporal's cancellation), not AbortError.
        await sleep(waitMs, undefined, signal ? { signal } : undefined).catch((e: unknown) => {
          signal?.throwIfAborted();
          throw e;
        });
      }
    }
  }

  return {
    name: openAiProviderName(options.model, options.dimensions),
    model: options.model,
    dimensions,
    async embed(texts, signal, onTruncated) {
      const fitted = texts.map((text) => fitToTokens(text, options.maxInputTokens));
      for (const [i, f] of fitted.entries())
        if (f.cutFrom !== undefined) (onTruncated ?? warnTruncated)(i, f.cutFrom, f.tokens);
      const input = fitted.map((f) => f.text);
      const vectors: Float32Array[] = [];
      const ranges = planRequests(
        fitted.map((f) => f.tokens),
        options.batchSize,
        options.maxRequestTokens,
      );
      for (const [start, end] of ranges) {
        signal?.throwIfAborted();
        vectors.push(...(await withRetries(input.slice(start, end), signal)));
      }
      return vectors;
    },
    // Nothing held between requests (fetch pools its own sockets).
    async close() {},
  };
}
