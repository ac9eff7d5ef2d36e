/**
 * The retrieval evaluation's data and arithmetic (bench/retrieval/metrics.ts): the committed corpus and
 * questions hold what the evaluation promises, and recall@k and MRR are computed as defined.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CORPUS_DIR,
  type CorpusDocument,
  loadManifest,
  loadQuestions,
  outcomeOf,
  parseQuestions,
  type Question,
  summarize,
} from '../../bench/retrieval/metrics.js';

describe('the retrieval corpus and questions', () => {
  const documents = loadManifest();
  const questions = loadQuestions(documents);

  it('holds at least 25 documents, each on disk with its source and licence, a few MB at most', () => {
    expect(documents.length).toBeGreaterThanOrEqual(25);
    let bytes = 0;
    for (const d of documents) {
      const file = path.join(CORPUS_DIR, d.file);
      expect(existsSync(file), d.file).toBe(true);
      expect(d.source).toMatch(/Debian package/);
      expect(d.licence.length).toBeGreaterThan(2);
      bytes += statSync(file).size;
    }
    expect(bytes).toBeLessThan(3 * 1024 * 1024);
    expect(new Set(documents.map((d) => d.file)).size).toBe(documents.length);
  });

  it('asks at least 25 paraphrased questions and 5 in the documents’ own words', () => {
    expect(questions.filter((q) => q.kind === 'paraphrase').length).toBeGreaterThanOrEqual(25);
    expect(questions.filter((q) => q.kind === 'shared').length).toBeGreaterThanOrEqual(5);
  });
});

const DOCS: CorpusDocument[] = [
  { id: 'a', file: 'a.md', topic: 'a', source: 's', licence: 'MIT' },
  { id: 'b', file: 'b.md', topic: 'b', source: 's', licence: 'MIT' },
];
const q = (id: string, kind: Question['kind'], doc = 'a.md'): Question => ({
  id,
  kind,
  doc,
  section: 'Usage',
  question: `question ${id}`,
});

describe('parseQuestions', () => {
  it('says which question is wrong and why', () => {
    expect(() => parseQuestions({}, DOCS)).toThrow(/no "questions" array/);
    expect(() => parseQuestions({ questions: [q('x', 'paraphrase', 'c.md')] }, DOCS)).toThrow(
      /question 1 \(x\): doc "c.md" is not in the corpus manifest/,
    );
    expect(() => parseQuestions({ questions: [q('x', 'paraphrase'), q('x', 'shared')] }, DOCS)).toThrow(
      /question 2 \(x\): id x is used twice/,
    );
    expect(() => parseQuestions({ questions: [{ ...q('y', 'shared'), kind: 'other' }] }, DOCS)).toThrow(
      /kind must be one of paraphrase, shared/,
    );
    expect(() => parseQuestions({ questions: [{ ...q('z', 'shared'), question: ' ' }] }, DOCS)).toThrow(
      /empty question/,
    );
  });
});

describe('outcomeOf and summarize', () => {
  it('ranks the first hit of the right document and of its section', () => {
    const o = outcomeOf(q('1', 'paraphrase'), 'text', [
      { fileName: 'b.md', heading: 'B > Usage' },
      { fileName: 'a.md', heading: 'A > NAME' },
      { fileName: 'a.md', heading: 'A > usage' },
    ]);
    expect(o.rank).toBe(2);
    expect(o.sectionRank).toBe(3);
    expect(outcomeOf(q('2', 'shared'), 'text', [{ fileName: 'b.md' }]).rank).toBeUndefined();
  });

  it('computes recall@k, section recall@k and MRR per mode and kind', () => {
    const p1 = q('p1', 'paraphrase');
    const p2 = q('p2', 'paraphrase');
    const s1 = q('s1', 'shared');
    const outcomes = [
      { question: p1, mode: 'text', rank: 1, sectionRank: 1 },
      { question: p2, mode: 'text', rank: 6 },
      { question: s1, mode: 'text' },
      { question: p1, mode: 'hybrid', rank: 2, sectionRank: 4 },
      { question: p2, mode: 'hybrid', rank: 5 },
      { question: s1, mode: 'hybrid', rank: 1, sectionRank: 1 },
    ];
    const rows = summarize(outcomes, ['text', 'hybrid'], 5);
    const row = (mode: string, kind: string) => rows.find((r) => r.mode === mode && r.kind === kind);
    expect(rows.map((r) => `${r.mode}/${r.kind}`)).toEqual([
      'text/paraphrase',
      'text/shared',
      'text/all',
      'hybrid/paraphrase',
      'hybrid/shared',
      'hybrid/all',
    ]);
    expect(row('text', 'paraphrase')).toMatchObject({ questions: 2, recall: 0.5, sectionRecall: 0.5 });
    expect(row('text', 'paraphrase')?.mrr).toBeCloseTo((1 + 1 / 6) / 2);
    expect(row('text', 'shared')).toMatchObject({ questions: 1, recall: 0, mrr: 0 });
    expect(row('hybrid', 'paraphrase')).toMatchObject({ recall: 1, sectionRecall: 0.5 });
    expect(row('hybrid', 'paraphrase')?.mrr).toBeCloseTo((1 / 2 + 1 / 5) / 2);
    expect(row('hybrid', 'all')?.recall).toBe(1);
    expect(row('hybrid', 'all')?.mrr).toBeCloseTo((1 / 2 + 1 / 5 + 1) / 3);
  });
});
