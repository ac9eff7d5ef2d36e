/**
 * The `local` model path (P8FS_LLM_PROVIDER=local: SmolLM2-135M-Instruct through node-llama-cpp) scored
 * on the labelled dreaming samples exactly as bench/dream-heuristic.bench.ts scores the heuristic: each
 * sample alone, packed as dream analysis packs it, one grammar-constrained answer, the same scorer. A
 * sample whose answer fails validation counts as an answer with no items (its labels still count for
 * recall). Minutes of CPU on 2 cores, so not in `make test` nor `make bench`: run it by hand,
 * `npx tsx bench/dream-local.ts`; it prints both tables and says so when the model file is missing.
 */
import { existsSync } from 'node:fs';
import { createLlmProvider } from '../src/activities/insight/llm/index.js';
import { disposeLocalModels } from '../src/activities/insight/llm/local.js';
import { loadConfig } from '../src/config/config.js';
import { heuristicDream } from '../src/domain/insight/dream-heuristic.js';
import {
  DREAM_SYSTEM_PROMPT,
  dreamUserPrompt,
  packSources,
  promptOverheadTokens,
  sourceBudget,
} from '../src/domain/insight/dream-input.js';
import {
  DREAM_MODEL_SCHEMA,
  type DreamModel,
  validateDreamModel,
} from '../src/domain/insight/dream-model.js';
import { type FieldScore, labelledSources, scoreAnswers } from '../test/support/dream-labels.js';

const cfg = loadConfig({
  ...process.env,
  P8FS_LLM_PROVIDER: 'local',
  // As the local inference test runs it: a 4k window and a short answer keep one sample within a minute.
  P8FS_LOCAL_CONTEXT_TOKENS: process.env.P8FS_LOCAL_CONTEXT_TOKENS ?? '4096',
  P8FS_LLM_MAX_OUTPUT_TOKENS: process.env.P8FS_LLM_MAX_OUTPUT_TOKENS ?? '600',
  P8FS_LLM_SCHEMA_RETRIES: process.env.P8FS_LLM_SCHEMA_RETRIES ?? '0',
});

function table(title: string, scores: FieldScore[]): string {
  const f = (n: number) => n.toFixed(2);
  return [
    title,
    '| field | items | right | precision | labelled | found | recall |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...scores.map(
      (s) =>
        `| ${s.field} | ${s.produced} | ${s.correct} | ${s.produced === 0 ? 'n/a (no items)' : f(s.precision)} | ${s.labelled} | ${s.found} | ${f(s.recall)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(cfg.llm.local.modelPath)) {
    console.log(
      `no local model at ${cfg.llm.local.modelPath}: nothing scored (scripts/install-servers.sh unpacks it)`,
    );
    return;
  }
  const llm = createLlmProvider(cfg);
  const sources = labelledSources();
  const heuristic: Record<string, DreamModel> = {};
  const local: Record<string, DreamModel> = {};
  const failures: string[] = [];
  const started = Date.now();
  for (const source of sources) {
    const budget = sourceBudget(llm.contextTokens, cfg.llm.maxOutputTokens, promptOverheadTokens('bench'));
    const packed = { tenantId: 'bench', analysisId: 'bench', sources: packSources([source], budget).sources };
    heuristic[source.name] = heuristicDream({ tenantId: 'bench', analysisId: 'bench', sources: [source] });
    const t0 = Date.now();
    try {
      const answer = await llm.generate({
        task: 'dream_analysis',
        messages: [
          { role: 'system', content: DREAM_SYSTEM_PROMPT },
          { role: 'user', content: dreamUserPrompt(packed) },
        ],
        schema: DREAM_MODEL_SCHEMA,
        validate: validateDreamModel,
        heuristic: () => heuristicDream(packed),
      });
      local[source.name] = answer.value;
      console.log(`[dream-local] ${source.name}: answered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (error) {
      failures.push(`${source.name}: ${(error as Error).message.slice(0, 160)}`);
      local[source.name] = { goals: [], fears: [], pending_tasks: [] } as unknown as DreamModel;
      console.log(
        `[dream-local] ${source.name}: no valid answer in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
  }
  const localScores = scoreAnswers(local);
  console.log(table('heuristic', scoreAnswers(heuristic)));
  console.log(
    table(
      `local (${llm.model}, ${sources.length} samples, ${((Date.now() - started) / 1000).toFixed(0)} s)`,
      localScores,
    ),
  );
  console.log(
    `no valid answer: ${failures.length}/${sources.length}${failures.map((f) => `\n  ${f}`).join('')}`,
  );
  for (const s of localScores) for (const w of s.wrong) console.log(`  wrong ${s.field}: ${w.slice(0, 140)}`);
  await disposeLocalModels();
}

await main();
