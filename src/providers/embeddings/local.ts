/**
 * The `local` embedding provider: all-MiniLM-L6-v2 (sentence-transformers, 384 dimensions, the original
 * P8FS's default) run in process by ONNX Runtime from the int8 model that scripts/install-embedding-model.sh
 * unpacks. Text → WordPiece ids (tokenizer.json, uncased; at most 256 tokens as the model was trained, the
 * rest of a longer text is cut) → last_hidden_state → mean over the real tokens → L2 norm, as
 * sentence-transformers does. The vectors agree with an independent fp32 reference (cosine ≥ 0.98 per
 * sentence: test/integration/embeddings-local.test.ts, docs/EMBEDDINGS.md).
 *
 * The session is loaded once per process and model folder (a module-level lazy singleton: 23 MB of
 * weights, ~0.3 s to load) and shared by every caller; ONNX Runtime's run() is safe to call concurrently.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { InferenceSession as Session } from 'onnxruntime-node';
import { EmbeddingProviderUnavailableError } from '../../domain/errors.js';
import type { EmbeddingProvider } from './provider.js';

export const LOCAL_PROVIDER_NAME = 'all-MiniLM-L6-v2';
export const LOCAL_MODEL = 'sentence-transformers/all-MiniLM-L6-v2';
export const LOCAL_DIMENSIONS = 384;
/** sentence-transformers' max_seq_length for this model (positions go to 512, training used 256). */
export const LOCAL_MAX_TOKENS = 256;

export interface LocalEmbeddingOptions {
  modelDir: string;
  /** ONNX Runtime intra-op threads. */
  threads: number;
  /** Texts per session run. */
  batchSize: number;
}

/** What one load yields: the session and the tokenizer, with the special ids the batches need. */
export interface LoadedModel {
  session: Session;
  tokenizer: Tokenizer;
  sepId: number;
  padId: number;
}

const REQUIRED_FILES = ['model.onnx', 'tokenizer.json', 'tokenizer_config.json'] as const;

/** Loads the session and the tokenizer; a missing file is a clear, non-retryable error. */
export async function loadModel(modelDir: string, threads: number): Promise<LoadedModel> {
  const missing = REQUIRED_FILES.filter((f) => !existsSync(join(modelDir, f)));
  if (missing.length > 0)
    throw new EmbeddingProviderUnavailableError(
      `the local embedding model is not installed: ${missing.join(', ')} missing in ${modelDir} (P8FS_EMBEDDING_MODEL_DIR); run scripts/install-embedding-model.sh`,
    );
  // Imported here, not at the top: processes that never embed do not load the native runtime.
  const ort = await import('onnxruntime-node');
  const [tokenizerJson, tokenizerConfig] = await Promise.all(
    ['tokenizer.json', 'tokenizer_config.json'].map(async (f) =>
      JSON.parse(await readFile(join(modelDir, f), 'utf8')),
    ),
  );
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  const sepId = tokenizer.token_to_id('[SEP]');
  const padId = tokenizer.token_to_id('[PAD]');
  if (sepId === undefined || padId === undefined)
    throw new EmbeddingProviderUnavailableError(
      `${modelDir}/tokenizer.json has no [SEP] or [PAD] token: not a BERT tokenizer`,
    );
  let session: Session;
  try {
    session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // ONNX Runtime's CPU arena on: with runs capped at 4 × 256 tokens it holds their peak and stays
      // there (measured: 478 MiB resident, flat over 1,800 runs of mixed shapes, and ~1.4× faster). Off,
      // every run's tensors went through glibc malloc, whose heap fragmented and never shrank: a soak's
      // small-tier worker reached 3 GiB resident (2.5 GiB of it [heap]) after ten minutes of embedding.
      enableCpuMemArena: true,
    });
  } catch (err) {
    throw new EmbeddingProviderUnavailableError(
      `cannot load ${modelDir}/model.onnx: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const expected = ['input_ids', 'attention_mask', 'token_type_ids'];
  if (
    !expected.every((n) => session.inputNames.includes(n)) ||
    !session.outputNames.includes('last_hidden_state')
  )
    throw new EmbeddingProviderUnavailableError(
      `${modelDir}/model.onnx is not a BERT encoder (inputs ${session.inputNames.join(', ')}; outputs ${session.outputNames.join(', ')})`,
    );
  return { session, tokenizer, sepId, padId };
}

/** Token ids with [CLS] … [SEP], cut to LOCAL_MAX_TOKENS keeping the closing [SEP] (as HF truncation does). */
export function tokenIds(model: Pick<LoadedModel, 'tokenizer' | 'sepId'>, text: string): number[] {
  const ids = model.tokenizer.encode(text).ids;
  if (ids.length <= LOCAL_MAX_TOKENS) return ids;
  return [...ids.slice(0, LOCAL_MAX_TOKENS - 1), model.sepId];
}

/**
 * One session run over texts already tokenized: padded to the longest, mean-pooled over the attention
 * mask, L2-normalised. Exported for the bench, which times the bare session on the same tensors.
 */
export function batchTensors(ids: readonly number[][], padId: number) {
  const rows = ids.length;
  const cols = Math.max(...ids.map((r) => r.length));
  const inputIds = new BigInt64Array(rows * cols).fill(BigInt(padId));
  const mask = new BigInt64Array(rows * cols);
  ids.forEach((row, i) => {
    row.forEach((id, j) => {
      inputIds[i * cols + j] = BigInt(id);
      mask[i * cols + j] = 1n;
    });
  });
  return { rows, cols, inputIds, mask, typeIds: new BigInt64Array(rows * cols) };
}

export async function runBatch(model: LoadedModel, ids: readonly number[][]): Promise<Float32Array[]> {
  const ort = await import('onnxruntime-node');
  const { rows, cols, inputIds, mask, typeIds } = batchTensors(ids, model.padId);
  const dims = [rows, cols];
  const out = await model.session.run({
    input_ids: new ort.Tensor('int64', inputIds, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
    token_type_ids: new ort.Tensor('int64', typeIds, dims),
  });
  const hidden = out.last_hidden_state;
  if (!hidden) throw new Error('model.onnx returned no last_hidden_state');
  const data = hidden.data as Float32Array;
  const width = hidden.dims[2] ?? 0;
  if (width !== LOCAL_DIMENSIONS)
    throw new EmbeddingProviderUnavailableError(
      `model.onnx gives ${width}-dimensional states, not ${LOCAL_DIMENSIONS}`,
    );
  const vectors: Float32Array[] = [];
  for (let i = 0; i < rows; i++) {
    const v = new Float32Array(width);
    const length = ids[i]?.length ?? 0;
    for (let t = 0; t < length; t++) {
      const base = (i * cols + t) * width;
      for (let d = 0; d < width; d++) v[d] = (v[d] ?? 0) + (data[base + d] ?? 0);
    }
    normalise(v);
    vectors.push(v);
  }
  hidden.dispose();
  return vectors;
}

/** In place; a zero vector stays zero. Mean pooling's division cancels out in the norm, so it is skipped. */
export function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let d = 0; d < v.length; d++) v[d] = (v[d] ?? 0) / norm;
  return v;
}

/**
 * Padded tokens (rows × longest row) in one session run. The run's transient memory grows with it (peak
 * resident memory of a fresh process, measured on 2 busy cores: ~500 MiB at 4 × 256, 750–890 MiB at
 * 8 × 256, ~1 GiB at 32 × 256), while CPU time per token hardly changes with the batch's size, so long
 * texts go in small batches.
 */
export const MAX_PADDED_TOKENS_PER_RUN = 4 * LOCAL_MAX_TOKENS;

/**
 * Indexes of `ids` in batches of at most `size` texts and MAX_PADDED_TOKENS_PER_RUN padded tokens, in
 * length order: a batch is padded to its longest text, and attention costs grow with that length, so texts
 * of very different lengths go in different batches (a new batch starts when a text is over 1.5 times the
 * batch's shortest plus 8 tokens). Callers get their order back by index.
 */
export function lengthBatches(ids: readonly number[][], size: number): number[][] {
  const order = ids.map((_, i) => i).sort((a, b) => (ids[a]?.length ?? 0) - (ids[b]?.length ?? 0));
  const batches: number[][] = [];
  let current: number[] = [];
  let shortest = 0;
  for (const i of order) {
    const length = ids[i]?.length ?? 0;
    const full =
      current.length === size ||
      (current.length + 1) * length > MAX_PADDED_TOKENS_PER_RUN ||
      length > shortest * 1.5 + 8;
    if (current.length > 0 && full) {
      batches.push(current);
      current = [];
    }
    if (current.length === 0) shortest = length;
    current.push(i);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Loaded models by folder and thread count: one per process however many providers are made. */
const models = new Map<string, Promise<LoadedModel>>();

function sharedModel(modelDir: string, threads: number): Promise<LoadedModel> {
  const key = `${modelDir}\0${threads}`;
  let loading = models.get(key);
  if (!loading) {
    loading = loadModel(modelDir, threads);
    // A failed load is not cached: installing the model and retrying the activity then works.
    loading.catch(() => models.delete(key));
    models.set(key, loading);
  }
  return loading;
}

export function localEmbeddingProvider(options: LocalEmbeddingOptions): EmbeddingProvider {
  const key = `${options.modelDir}\0${options.threads}`;
  return {
    name: LOCAL_PROVIDER_NAME,
    model: LOCAL_MODEL,
    dimensions: LOCAL_DIMENSIONS,
    async embed(texts, signal) {
      signal?.throwIfAborted();
      if (texts.length === 0) return [];
      const model = await sharedModel(options.modelDir, options.threads);
      const ids = texts.map((t) => tokenIds(model, t));
      const vectors: Float32Array[] = new Array(texts.length);
      for (const batch of lengthBatches(ids, options.batchSize)) {
        signal?.throwIfAborted();
        const out = await runBatch(
          model,
          batch.map((i) => ids[i] ?? []),
        );
        batch.forEach((i, k) => {
          vectors[i] = out[k] as Float32Array;
        });
      }
      return vectors;
    },
    /** Releases the shared session (all callers'); the next embed loads it again. For process shutdown. */
    async close() {
      const loading = models.get(key);
      if (!loading) return;
      models.delete(key);
      const model = await loading.catch(() => undefined);
      await model?.session.release();
    },
  };
}
