/**
 * The offline dream heuristic against the labelled dreaming samples (test/fixtures/dreaming/labels.json):
 * precision and recall per field, each sample analysed alone. Not a speed bench: what it measures is
 * whether the answers are worth reading; the target is precision >= 0.8 on goals, fears and tasks
 * (test/unit/dream-heuristic-labels.test.ts holds it there).
 */
import { heuristicDream } from '../src/domain/insight/dream-heuristic.js';
import type { DreamModel } from '../src/domain/insight/dream-model.js';
import { labelledSources, scoreAnswers } from '../test/support/dream-labels.js';
import { type BenchSection, fixed, progress } from './lib.js';

const TARGET = 0.8;

export async function runDreamHeuristicBench(): Promise<BenchSection> {
  progress('dream heuristic: precision and recall on the labelled dreaming samples');
  const sources = labelledSources();
  const answers: Record<string, DreamModel> = Object.fromEntries(
    sources.map((s) => [s.name, heuristicDream({ tenantId: 'bench', analysisId: 'bench', sources: [s] })]),
  );
  const scores = scoreAnswers(answers);
  const rows = scores.map(
    (s) =>
      `| ${s.field} | ${s.produced} | ${s.correct} | ${fixed(s.precision)} | ${s.labelled} | ${s.found} | ${fixed(s.recall)} |`,
  );
  const wrong = scores.flatMap((s) => s.wrong.map((w) => `${s.field}: ${w}`));
  const below = scores.filter((s) => s.precision < TARGET);
  return {
    title: 'Offline dream heuristic: precision and recall',
    compared: `the heuristic's goals, fears and pending tasks for each of the ${sources.length} dreaming samples against the items a person labelled (an item is right when it holds one of a label's phrases)`,
    table: [
      '| field | items | right | precision | labelled | found | recall |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      wrong.length
        ? `Items that matched no label: ${wrong.map((w) => `"${w}"`).join('; ')}.`
        : 'Every item matched a label.',
    ].join('\n'),
    interpretation: below.length
      ? `precision below the ${TARGET} target on ${below.map((s) => `${s.field} (${fixed(s.precision)})`).join(', ')}`
      : `precision ${scores.map((s) => `${s.field} ${fixed(s.precision)}`).join(', ')} (target ${TARGET}); recall ${scores.map((s) => `${s.field} ${fixed(s.recall)}`).join(', ')}: precise rather than plentiful`,
    notMeasured: [
      'the local model path (P8FS_LLM_PROVIDER=local): minutes of CPU, so scored apart by `npx tsx bench/dream-local.ts` (figures in docs/INSIGHTS.md)',
    ],
  };
}
