/**
 * The `openai` embedding provider against a loopback stand-in for OpenAI's API (test/support/
 * loopback-openai.ts; the machine cannot reach the real one), speaking the real wire format of POST
 * /v1/embeddings: batching by count and by tokens (the stand-in refuses what OpenAI refuses), over-long
 * inputs cut, Retry-After, 401 not retried, dimensions, and the settings that choose it, including the
 * original's P8FS_DEFAULT_EMBEDDING_PROVIDER.
 */
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import {
  EmbeddingAuthError,
  EmbeddingProviderError,
  EmbeddingRequestRejectedError,
  embeddingProviderFromConfig,
} from '../../src/providers/embeddings/index.js';
import { openAiEmbeddingProvider, retryAfterMs } from '../../src/providers/embeddings/openai.js';
import { fakeEmbedding, type LoopbackOpenAi, startLoopbackOpenAi } from '../support/loopback-openai.js';

let lb: LoopbackOpenAi;
beforeAll(async () => {
  lb = await startLoopbackOpenAi(() => '{}');
});
afterAll(() => lb?.close());
beforeEach(() => {
  lb.requests.length = 0;
  lb.embeddingReplies.length = 0;
  lb.embeddingTokenLimits = { perInput: 8192, perRequest: 300_000 };
});

const embeddingRequests = () => lb.requests.filter((r) => r.path === '/v1/embeddings');

function provider(overrides: Partial<Parameters<typeof openAiEmbeddingProvider>[0]> = {}) {
  return openAiEmbeddingProvider({
    model: 'text-embedding-3-small',
    baseUrl: lb.baseUrl,
    apiKey: 'sk-loopback',
    apiKeyVariable: 'OPENAI_API_KEY',
    batchSize: 32,
    maxInputTokens: 8191,
    maxRequestTokens: 300_000,
    httpRetries: 3,
    retryMaxWaitSeconds: 10,
    timeoutSeconds: 10,
    baseDelayMs: 10,
    ...overrides,
  });
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('openai embeddings (loopback stand-in for the API)', () => {
  it('splits the texts into batches of batchSize and answers in order, normalised', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => `text ${i}`);
    const vectors = await provider({ batchSize: 3 }).embed(texts);
    const sent = embeddingRequests().map((r) => (r.body as { input: string[] }).input);
    expect(sent).toEqual([texts.slice(0, 3), texts.slice(3, 6), texts.slice(6)]);
    expect(embeddingRequests()[0]?.authorization).toBe('Bearer sk-loopback');
    expect((embeddingRequests()[0]?.body as { model: string } | undefined)?.model).toBe(
      'text-embedding-3-small',
    );
    expect(vectors).toHaveLength(7);
    for (const [i, v] of vectors.entries()) {
      expect(v.length).toBe(1536);
      expect(norm(v)).toBeCloseTo(1, 5);
      const raw = fakeEmbedding(texts[i] as string, 1536);
      expect(v[0]).toBeCloseTo((raw[0] as number) / Math.hypot(...raw), 5);
    }
  });

  it('splits a batch by tokens so that no request goes over the budget, in order', async () => {
    lb.embeddingTokenLimits.perRequest = 60;
    // 24 texts of 3 to 26 tokens (1 + 2k words of one token each): 348 tokens, so one request is refused.
    const texts = Array.from({ length: 24 }, (_, i) => `t${i}${' the'.repeat(1 + ((i * 7) % 25))}`);
    const count = (t: string) => countTokens(t);
    const total = texts.reduce((sum, t) => sum + count(t), 0);
    expect(total).toBeGreaterThan(60 * 4);

    // The stand-in refuses as OpenAI does, so a provider with a larger budget fails at once.
    const refused = await provider({ maxRequestTokens: 1000 })
      .embed(texts)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EmbeddingRequestRejectedError);
    expect(String(refused)).toMatch(
      new RegExp(`HTTP 400: .*Requested ${total} tokens, max 60 tokens per request.*max_tokens_per_request`),
    );
    lb.requests.length = 0;

    const vectors = await provider({ maxRequestTokens: 60 }).embed(texts);
    const sent = embeddingRequests().map((r) => (r.body as { input: string[] }).input);
    const sums = sent.map((input) => input.reduce((sum, t) => sum + count(t), 0));
    expect(Math.max(...sums)).toBeLessThanOrEqual(60);
    // Greedy: each request but the last would have gone over with the next text.
    for (let k = 0; k + 1 < sent.length; k++)
      expect((sums[k] as number) + count(sent[k + 1]?.[0] as string)).toBeGreaterThan(60);
    expect(sent.flat()).toEqual(texts);
    expect(vectors).toHaveLength(texts.length);
    for (const [i, v] of vectors.entries()) {
      const raw = fakeEmbedding(texts[i] as string, 1536);
      expect(v[7]).toBeCloseTo((raw[7] as number) / Math.hypot(...raw), 5);
    }
  });

  it("keeps to OpenAI's real 300,000-token budget with large batches", async () => {
    // 40 texts of ~8,000 tokens (~320,000): within batchSize 2048, over the per-request limit.
    const texts = Array.from({ length: 40 }, (_, i) => `d${i}${' the'.repeat(7990)}`);
    const counts = texts.map((t) => countTokens(t));
    expect(Math.min(...counts)).toBeGreaterThan(7990);
    const vectors = await provider({ batchSize: 2048 }).embed(texts);
    const sent = embeddingRequests().map((r) => (r.body as { input: string[] }).input);
    expect(sent).toHaveLength(2);
    const first = counts.slice(0, sent[0]?.length).reduce((a, b) => a + b, 0);
    expect(first).toBeLessThanOrEqual(300_000);
    expect(first + (counts[sent[0]?.length ?? 0] as number)).toBeGreaterThan(300_000);
    expect(sent.flat()).toEqual(texts);
    expect(vectors).toHaveLength(40);
  });

  it('cuts an input over the per-input limit to its first 8191 tokens and says which one', async () => {
    const long = `start ${'lorem ipsum dolor sit amet, '.repeat(1700)}end`;
    const tokens = countTokens(long);
    expect(tokens).toBeGreaterThan(8192);
    // The stand-in refuses an over-long input as OpenAI does, so a provider that let it through would fail.
    const refused = await provider({ maxInputTokens: 20_000 })
      .embed([long])
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EmbeddingRequestRejectedError);
    expect(String(refused)).toMatch(/maximum context length is 8192 tokens, however you requested/);
    lb.requests.length = 0;

    const notices: Array<[number, number, number]> = [];
    const vectors = await provider().embed(['before', long, 'after'], undefined, (...n) => notices.push(n));
    expect(notices).toEqual([[1, tokens, 8191]]);
    const [input] = embeddingRequests().map((r) => (r.body as { input: string[] }).input);
    expect(input?.[0]).toBe('before');
    expect(input?.[2]).toBe('after');
    const cut = input?.[1] as string;
    expect(countTokens(cut)).toBe(8191);
    expect(long.startsWith(cut)).toBe(true);
    const raw = fakeEmbedding(cut, 1536);
    expect(vectors[1]?.[3]).toBeCloseTo((raw[3] as number) / Math.hypot(...raw), 5);

    // Without a notice the cut is a process warning, not silent.
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await provider().embed([long]);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([
      `EmbeddingInputTruncated: embedding input 0 has ${tokens} tokens; only its first 8191 were embedded (P8FS_EMBEDDING_MAX_INPUT_TOKENS)`,
    ]);
  });

  it('passes dimensions and names the non-default size apart', async () => {
    const p = provider({ dimensions: 256 });
    expect(p.dimensions).toBe(256);
    expect(p.name).toBe('text-embedding-3-small@256');
    const [v] = await p.embed(['hello']);
    expect((embeddingRequests()[0]?.body as { dimensions?: number } | undefined)?.dimensions).toBe(256);
    expect(v?.length).toBe(256);
    // Without it nothing is sent and the stored name is the model, as the original stores it.
    const plain = provider();
    expect(plain.name).toBe('text-embedding-3-small');
    await plain.embed(['hello']);
    expect(embeddingRequests()[1]?.body).not.toHaveProperty('dimensions');
  });

  it('waits the Retry-After of a 429 and a 503, then succeeds', async () => {
    lb.embeddingReplies.push(
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 503, headers: { 'retry-after-ms': '300' } },
    );
    const [v] = await provider().embed(['x']);
    expect(v?.length).toBe(1536);
    const at = embeddingRequests().map((r) => r.at);
    expect(at).toHaveLength(3);
    expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(950);
    expect((at[2] as number) - (at[1] as number)).toBeGreaterThanOrEqual(280);
    expect((at[2] as number) - (at[1] as number)).toBeLessThan(950);
  });

  it('fails retryably when retries run out or the server asks for longer than the limit', async () => {
    lb.embeddingReplies.push({ status: 500 }, { status: 500 }, { status: 500 });
    const exhausted = await provider({ httpRetries: 2 })
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(exhausted).toBeInstanceOf(EmbeddingProviderError);
    expect(String(exhausted)).toMatch(/after 3 attempt\(s\) \(HTTP 500/);
    expect(embeddingRequests()).toHaveLength(3);

    lb.embeddingReplies.push({ status: 429, headers: { 'retry-after': '3600' } });
    const tooLong = await provider()
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(EmbeddingProviderError);
    expect(String(tooLong)).toMatch(/asked to wait 3600 s/);
    expect(embeddingRequests()).toHaveLength(4);
  });

  it('fails at once on 401 with an error naming the key variable, and on 400 without retrying', async () => {
    lb.embeddingReplies.push({ status: 401, raw: { error: { message: 'Incorrect API key provided' } } });
    const auth = await provider({ apiKeyVariable: 'P8FS_EMBEDDING_API_KEY' })
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(EmbeddingAuthError);
    expect((auth as Error).name).toBe('EmbeddingAuthError');
    expect((auth as Error).message).toMatch(/HTTP 401.*Incorrect API key.*check P8FS_EMBEDDING_API_KEY/);
    expect(embeddingRequests()).toHaveLength(1);

    lb.embeddingReplies.push({ status: 400, raw: { error: { message: 'model not found' } } });
    const rejected = await provider()
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(EmbeddingRequestRejectedError);
    expect(embeddingRequests()).toHaveLength(2);
  });

  it('rejects vectors of the wrong size and stops waiting when the signal aborts', async () => {
    lb.embeddingReplies.push({ raw: { data: [{ index: 0, embedding: [1, 2, 3] }] } });
    await expect(provider().embed(['x'])).rejects.toThrow(/returned 3 dimensions.*P8FS_EMBEDDING_DIMENSIONS/);

    lb.embeddingReplies.push({ status: 429, headers: { 'retry-after': '5' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled')), 200);
    const started = Date.now();
    await expect(provider().embed(['x'], controller.signal)).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reads Retry-After as seconds, milliseconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150', 'retry-after': '9' }), now)).toBe(150);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({}), now)).toBeUndefined();
  });
});

describe('embedding settings', () => {
  it('defaults to local; the original P8FS_DEFAULT_EMBEDDING_PROVIDER=text-embedding-3-small means openai', async () => {
    expect(loadConfig({}).embeddings.provider).toBe('local');
    expect(embeddingProviderFromConfig(loadConfig({})).name).toBe('all-MiniLM-L6-v2');
    expect(loadConfig({ P8FS_DEFAULT_EMBEDDING_PROVIDER: 'all-MiniLM-L6-v2' }).embeddings.provider).toBe(
      'local',
    );
    const config = loadConfig({
      P8FS_DEFAULT_EMBEDDING_PROVIDER: 'text-embedding-3-small',
      OPENAI_API_KEY: 'sk-loopback',
      P8FS_EMBEDDING_BASE_URL: lb.baseUrl,
    });
    expect(config.embeddings.provider).toBe('openai');
    const p = embeddingProviderFromConfig(config);
    expect([p.name, p.model, p.dimensions]).toEqual([
      'text-embedding-3-small',
      'text-embedding-3-small',
      1536,
    ]);
    expect(embeddingProviderFromConfig(config)).toBe(p);
    await p.embed(['through the config']);
    expect(embeddingRequests()).toHaveLength(1);
  });

  it('names what is missing: a key for openai, the size of an unknown model, a bad provider', () => {
    expect(() => loadConfig({ P8FS_EMBEDDING_PROVIDER: 'openai' })).toThrow(
      /P8FS_EMBEDDING_API_KEY or OPENAI_API_KEY/,
    );
    expect(() =>
      loadConfig({
        P8FS_EMBEDDING_PROVIDER: 'openai',
        OPENAI_API_KEY: 'k',
        P8FS_EMBEDDING_OPENAI_MODEL: 'nomic-embed-text',
      }),
    ).toThrow(/P8FS_EMBEDDING_DIMENSIONS is needed for the embedding model nomic-embed-text/);
    expect(() => loadConfig({ P8FS_EMBEDDING_PROVIDER: 'fastembed' })).toThrow(ConfigError);
    const own = loadConfig({
      P8FS_EMBEDDING_PROVIDER: 'openai',
      P8FS_EMBEDDING_API_KEY: 'k2',
      OPENAI_API_KEY: 'k1',
    });
    expect([own.embeddings.openai.apiKey, own.embeddings.openai.apiKeyVariable]).toEqual([
      'k2',
      'P8FS_EMBEDDING_API_KEY',
    ]);
    expect([own.embeddings.openai.maxInputTokens, own.embeddings.openai.maxRequestTokens]).toEqual([
      8191, 300_000,
    ]);
    expect(() =>
      loadConfig({
        OPENAI_API_KEY: 'k',
        P8FS_EMBEDDING_MAX_INPUT_TOKENS: '8191',
        P8FS_EMBEDDING_MAX_REQUEST_TOKENS: '4000',
      }),
    ).toThrow(
      /P8FS_EMBEDDING_MAX_INPUT_TOKENS \(8191\) must not exceed P8FS_EMBEDDING_MAX_REQUEST_TOKENS \(4000\)/,
    );
  });
});
