/**
 * The dreaming samples as dream sources (each read as dream analysis reads it: a session as its
 * `role: text` lines, a document as its text) and the labels a person wrote for them
 * (test/fixtures/dreaming/labels.json), with the scorer `make bench` and the unit test share: per field,
 * precision (answer items that match a label) and recall (labels some item matched).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DreamSource } from '../../src/domain/insight/dream-input.js';
import type { DreamModel } from '../../src/domain/insight/dream-model.js';
import { parseSessions, sessionText } from '../../src/domain/insight/session.js';
import { SAMPLES_DIR } from './samples.js';

export const SCORED_FIELDS = ['goals', 'fears', 'tasks'] as const;
export type ScoredField = (typeof SCORED_FIELDS)[number];

interface Label {
  label: string;
  match: string[];
}
type SourceLabels = Record<ScoredField, Label[]>;

const LABELS = fileURLToPath(new URL('../fixtures/dreaming/labels.json', import.meta.url));

export function dreamLabels(): Record<string, SourceLabels> {
  return (JSON.parse(readFileSync(LABELS, 'utf8')) as { sources: Record<string, SourceLabels> }).sources;
}

/** Every dreaming sample as one source, named by its file. */
export function labelledSources(): DreamSource[] {
  const dir = join(SAMPLES_DIR, 'dreaming');
  const sources: DreamSource[] = [];
  for (const file of readdirSync(join(dir, 'sessions')).sort()) {
    const json = JSON.parse(readFileSync(join(dir, 'sessions', file), 'utf8'));
    for (const session of parseSessions(json, file))
      sources.push({ kind: 'session', id: file, name: file, text: sessionText(session.messages) });
  }
  for (const file of readdirSync(join(dir, 'resources')).sort())
    sources.push({
      kind: 'resource',
      id: file,
      name: file,
      text: readFileSync(join(dir, 'resources', file), 'utf8'),
    });
  return sources;
}

export interface FieldScore {
  field: ScoredField;
  produced: number;
  correct: number;
  labelled: number;
  found: number;
  precision: number;
  recall: number;
  /** Items that matched no label, as `source: item` (what to look at when precision drops). */
  wrong: string[];
}

function itemsOf(model: DreamModel, field: ScoredField): string[] {
  if (field === 'goals') return model.goals.map((g) => g.goal);
  if (field === 'fears') return model.fears.map((f) => f.fear);
  return model.pending_tasks.map((t) => t.task);
}

/**
 * Scores one answer per source (`answers[source name]`) against the labels: an item is correct when it
 * contains one of a label's match phrases (case-insensitive), and each label is found at most once.
 */
export function scoreAnswers(answers: Record<string, DreamModel>): FieldScore[] {
  const labels = dreamLabels();
  return SCORED_FIELDS.map((field) => {
    const score: FieldScore = {
      field,
      produced: 0,
      correct: 0,
      labelled: 0,
      found: 0,
      precision: 1,
      recall: 1,
      wrong: [],
    };
    for (const [source, model] of Object.entries(answers)) {
      const wanted = labels[source]?.[field] ?? [];
      score.labelled += wanted.length;
      const found = new Set<number>();
      for (const item of itemsOf(model, field)) {
        score.produced++;
        const text = item.toLowerCase();
        const hits = wanted.flatMap((label, i) => (label.match.some((m) => text.includes(m)) ? [i] : []));
        if (hits.length === 0) {
          score.wrong.push(`${source}: ${item}`);
          continue;
        }
        score.correct++;
        for (const i of hits) found.add(i);
      }
      score.found += found.size;
    }
    score.precision = score.produced === 0 ? 1 : score.correct / score.produced;
    score.recall = score.labelled === 0 ? 1 : score.found / score.labelled;
    return score;
  });
}
