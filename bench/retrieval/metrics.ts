/**
 * The retrieval evaluation's data and arithmetic, apart from any server: the labelled questions
 * (questions.json) checked against the corpus manifest, and recall@k and MRR per search mode and per
 * question kind. bench/retrieval.ts runs the searches; test/unit/retrieval-metrics.test.ts checks this.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const RETRIEVAL_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname));
export const CORPUS_DIR = path.join(RETRIEVAL_DIR, 'corpus');

export const QUESTION_KINDS = ['paraphrase', 'shared'] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

export interface Question {
  id: string;
  kind: QuestionKind;
  /** The corpus file that answers it. */
  doc: string;
  /** The heading under which the answer is (a chunk's heading path ends with or contains it). */
  section: string;
  question: string;
}

export interface CorpusDocument {
  id: string;
  file: string;
  topic: string;
  source: string;
  licence: string;
}

/** One question asked in one mode: where the answer's document first appears among the hits. */
export interface Outcome {
  question: Question;
  mode: string;
  /** 1-based rank of the first hit from the right document; undefined when none of the hits is. */
  rank?: number;
  /** 1-based rank of the first hit from the right document whose heading holds the labelled section. */
  sectionRank?: number;
}

export interface Summary {
  mode: string;
  kind: QuestionKind | 'all';
  questions: number;
  /** Share of questions whose document is among the first `k` hits. */
  recall: number;
  /** Share whose labelled section is among the first `k` hits. */
  sectionRecall: number;
  /** Mean reciprocal rank of the first right hit over the hits returned (0 when it is not among them). */
  mrr: number;
}

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

export function loadManifest(file = path.join(RETRIEVAL_DIR, 'manifest.json')): CorpusDocument[] {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { documents?: CorpusDocument[] };
  if (!Array.isArray(parsed.documents) || parsed.documents.length === 0) fail(file, 'no "documents" array');
  for (const d of parsed.documents)
    if (!d.file || !d.licence || !d.source)
      fail(file, `document ${JSON.stringify(d.id)} lacks file, source or licence`);
  return parsed.documents;
}

/** The questions, each checked: known kind, unique id, a document of the manifest, non-empty text. */
export function parseQuestions(
  raw: unknown,
  documents: CorpusDocument[],
  where = 'questions.json',
): Question[] {
  const list = (raw as { questions?: unknown })?.questions;
  if (!Array.isArray(list) || list.length === 0) fail(where, 'no "questions" array');
  const files = new Set(documents.map((d) => d.file));
  const seen = new Set<string>();
  return list.map((item, index) => {
    const q = item as Partial<Question>;
    const at = `${where} question ${index + 1}${q.id ? ` (${q.id})` : ''}`;
    if (typeof q.id !== 'string' || q.id === '') fail(at, 'no id');
    if (seen.has(q.id)) fail(at, `id ${q.id} is used twice`);
    seen.add(q.id);
    if (!QUESTION_KINDS.includes(q.kind as QuestionKind))
      fail(at, `kind must be one of ${QUESTION_KINDS.join(', ')}, got ${JSON.stringify(q.kind)}`);
    if (typeof q.doc !== 'string' || !files.has(q.doc))
      fail(at, `doc ${JSON.stringify(q.doc)} is not in the corpus manifest`);
    if (typeof q.question !== 'string' || q.question.trim() === '') fail(at, 'empty question');
    if (typeof q.section !== 'string' || q.section === '') fail(at, 'no section');
    return { id: q.id, kind: q.kind as QuestionKind, doc: q.doc, section: q.section, question: q.question };
  });
}

export function loadQuestions(documents: CorpusDocument[]): Question[] {
  const file = path.join(RETRIEVAL_DIR, 'questions.json');
  return parseQuestions(JSON.parse(readFileSync(file, 'utf8')), documents, file);
}

export interface RankedHit {
  fileName: string;
  heading?: string | null;
}

/** Where the question's document (and its section) first appears in `hits`, best first. */
export function outcomeOf(question: Question, mode: string, hits: RankedHit[]): Outcome {
  const section = question.section.toLowerCase();
  let rank: number | undefined;
  let sectionRank: number | undefined;
  hits.forEach((hit, i) => {
    if (hit.fileName !== question.doc) return;
    rank ??= i + 1;
    if (sectionRank === undefined && (hit.heading ?? '').toLowerCase().includes(section)) sectionRank = i + 1;
  });
  return { question, mode, rank, sectionRank };
}

function summaryOf(outcomes: Outcome[], mode: string, kind: QuestionKind | 'all', k: number): Summary {
  const n = outcomes.length;
  const within = (r: number | undefined) => r !== undefined && r <= k;
  return {
    mode,
    kind,
    questions: n,
    recall: n ? outcomes.filter((o) => within(o.rank)).length / n : Number.NaN,
    sectionRecall: n ? outcomes.filter((o) => within(o.sectionRank)).length / n : Number.NaN,
    mrr: n ? outcomes.reduce((sum, o) => sum + (o.rank ? 1 / o.rank : 0), 0) / n : Number.NaN,
  };
}

/** recall@k, section recall@k and MRR for every mode, per kind and over all questions, in mode order. */
export function summarize(outcomes: Outcome[], modes: string[], k = 5): Summary[] {
  const rows: Summary[] = [];
  for (const mode of modes) {
    const ofMode = outcomes.filter((o) => o.mode === mode);
    for (const kind of QUESTION_KINDS)
      rows.push(
        summaryOf(
          ofMode.filter((o) => o.question.kind === kind),
          mode,
          kind,
          k,
        ),
      );
    rows.push(summaryOf(ofMode, mode, 'all', k));
  }
  return rows;
}
