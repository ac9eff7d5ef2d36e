/**
 * The offline heuristic against the labelled dreaming samples (test/fixtures/dreaming/labels.json):
 * precision at least 0.8 on goals, fears and tasks, each sample analysed alone as scored by `make bench`,
 * with a recall floor so that answering nothing cannot pass. And the faults the issue saw in `make demo`:
 * chat roles and questions taken as fears, long lists from one session.
 */
import { describe, expect, it } from 'vitest';
import { heuristicDream } from '../../src/domain/insight/dream-heuristic.js';
import type { DreamModel } from '../../src/domain/insight/dream-model.js';
import { labelledSources, SCORED_FIELDS, scoreAnswers } from '../support/dream-labels.js';

const sources = labelledSources();
const answers: Record<string, DreamModel> = Object.fromEntries(
  sources.map((s) => [s.name, heuristicDream({ tenantId: 't', analysisId: 'a', sources: [s] })]),
);

describe('heuristic dream against the labelled samples', () => {
  const scores = scoreAnswers(answers);

  it.each(SCORED_FIELDS)('%s: precision >= 0.8, recall >= 0.4', (field) => {
    const score = scores.find((s) => s.field === field);
    expect(score?.precision, `wrong: ${score?.wrong.join(' | ')}`).toBeGreaterThanOrEqual(0.8);
    expect(score?.recall).toBeGreaterThanOrEqual(0.4);
  });

  it('takes no chat role, speaker or question as a goal, fear or task', () => {
    const all = sources.map((s) => s.name);
    const items = all.flatMap((name) => {
      const m = answers[name] as DreamModel;
      return [
        ...m.goals.map((g) => g.goal),
        ...m.fears.map((f) => f.fear),
        ...m.pending_tasks.map((t) => t.task),
      ];
    });
    expect(items.length).toBeGreaterThan(20);
    for (const item of items) {
      expect(item).not.toMatch(/^(user|assistant|Self|[A-Z][a-z]+ [A-Z][a-z]+)\s*:/);
      expect(item).not.toMatch(/\?$/);
    }
  });

  it('keeps a few items per source and field, each once, in a dream of every sample together', () => {
    const chat = sources.filter((s) => s.kind === 'session');
    const one = heuristicDream({ tenantId: 't', analysisId: 'a', sources: [...chat, ...chat] });
    for (const list of [one.goals, one.fears, one.pending_tasks]) expect(list.length).toBeLessThanOrEqual(4);
    const all = heuristicDream({ tenantId: 't', analysisId: 'a', sources });
    for (const list of [
      all.goals.map((g) => g.goal),
      all.fears.map((f) => f.fear),
      all.pending_tasks.map((t) => t.task),
    ]) {
      expect(list.length).toBeLessThanOrEqual(10);
      expect(new Set(list.map((t) => t.toLowerCase())).size).toBe(list.length);
    }
  });
});
