/**
 * The `local` embedding provider against an independent reference: all-MiniLM-L6-v2 computed from the
 * fp32 safetensors by a numpy BERT forward pass (scripts/embedding-reference.py → the fixture), while the
 * provider runs the int8 ONNX model on onnxruntime-node with the TypeScript tokenizer. Every sentence must
 * agree with cosine ≥ 0.98 and tokenize to the same ids. Needs the model in .stack/models
 * (scripts/install-embedding-model.sh, run by `make setup`); without it the test fails and says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import {
  EmbeddingProviderUnavailableError,
  embeddingProviderFromConfig,
} from '../../src/providers/embeddings/index.js';
import { loadModel, localEmbeddingProvider, tokenIds } from '../../src/providers/embeddings/local.js';

interface Reference {
  sentences: Array<{ text: string; ids: number[]; vector: number[] }>;
}

const reference = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/embeddings/minilm-reference.json'), 'utf8'),
) as Reference;
const config = loadConfig({ P8FS_EMBEDDING_PROVIDER: 'local' });
const modelDir = config.embeddings.local.modelDir;

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
};

describe('local embeddings (all-MiniLM-L6-v2, int8 ONNX)', () => {
  const provider = embeddingProviderFromConfig(config);
  afterAll(() => provider.close());

  it('has the model installed', () => {
    expect(
      existsSync(join(modelDir, 'model.onnx')),
      `${modelDir}: run scripts/install-embedding-model.sh`,
    ).toBe(true);
  });

  it('tokenizes exactly as the Rust tokenizers package (ids, incl. the 256-token cut)', async () => {
    const model = await loadModel(modelDir, 1);
    for (const s of reference.sentences) expect(tokenIds(model, s.text), s.text.slice(0, 40)).toEqual(s.ids);
    await model.session.release();
  });

  it('agrees with the fp32 numpy reference: cosine >= 0.98 for every sentence', async () => {
    expect(provider.name).toBe('all-MiniLM-L6-v2');
    expect(provider.dimensions).toBe(384);
    const vectors = await provider.embed(reference.sentences.map((s) => s.text));
    expect(vectors).toHaveLength(reference.sentences.length);
    const cosines = reference.sentences.map((s, i) => dot(vectors[i] as Float32Array, s.vector));
    for (const [i, v] of vectors.entries()) {
      expect(v.length).toBe(384);
      expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5);
      expect(cosines[i], reference.sentences[i]?.text.slice(0, 40)).toBeGreaterThanOrEqual(0.98);
    }
    console.log(`local embeddings vs reference: min cosine ${Math.min(...cosines).toFixed(4)}`);
  });

  it('keeps the order and the vector of a text whatever the batch around it', async () => {
    const texts = reference.sentences.map((s) => s.text);
    const alone = await provider.embed([texts[18] as string]);
    const small = localEmbeddingProvider({ modelDir, threads: 1, batchSize: 3 });
    const batched = await small.embed(texts);
    expect(dot(alone[0] as Float32Array, batched[18] as Float32Array)).toBeGreaterThan(0.9999);
    for (const [i, s] of reference.sentences.entries())
      expect(dot(batched[i] as Float32Array, s.vector)).toBeGreaterThanOrEqual(0.98);
  });

  it('puts paraphrases closer than unrelated sentences (the model known behaviour)', async () => {
    // Fixture sentences 0–5 are three paraphrase pairs (scripts/embedding-reference.py).
    const v = await provider.embed(reference.sentences.slice(0, 6).map((s) => s.text));
    for (const pair of [0, 2, 4]) {
      const a = v[pair] as Float32Array;
      const partner = dot(a, v[pair + 1] as Float32Array);
      for (const [j, other] of v.entries()) {
        if (j === pair || j === pair + 1) continue;
        expect(partner, `pair ${pair} vs sentence ${j}`).toBeGreaterThan(dot(a, other) + 0.3);
      }
    }
  });

  it('answers an empty list without loading anything, and honours an aborted signal', async () => {
    expect(await provider.embed([])).toEqual([]);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(provider.embed(['x'], controller.signal)).rejects.toThrow('stop');
  });

  it('fails clearly and non-retryably when the model is not installed', async () => {
    const missing = localEmbeddingProvider({ modelDir: '/nonexistent/minilm', threads: 1, batchSize: 32 });
    const error = await missing.embed(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddingProviderUnavailableError);
    expect((error as Error).message).toMatch(/P8FS_EMBEDDING_MODEL_DIR.*install-embedding-model\.sh/);
  });
});
