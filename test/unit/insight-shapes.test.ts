/**
 * DreamModel and MomentBuilder output in the seeds' and the original P8FS's shapes: the seeds' examples
 * (seed 001, "DreamModel Output", "MomentBuilder Output" and the eval YAML) parse; our schema and outputs
 * carry every field of the original's models (Healer-AI/p8fs, p8fs/src/p8fs/models/agentlets/
 * {dreaming,moments}.py and models/p8.py Moment), under the original's names; rows our earlier releases
 * stored under other names read in today's shape.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { finishMoments } from '../../src/activities/insight/moment-builder.js';
import { heuristicDream } from '../../src/domain/insight/dream-heuristic.js';
import {
  DREAM_MODEL_SCHEMA,
  type DreamModel,
  validateDreamModel,
  withKnownFacts,
} from '../../src/domain/insight/dream-model.js';
import { readDreamModel } from '../../src/domain/insight/dream-model-read.js';
import { heuristicMoments } from '../../src/domain/insight/moment-heuristic.js';
import { momentBuilderResult, readMomentBuilderOutput } from '../../src/domain/insight/moment-output.js';
import { parseTranscript } from '../../src/domain/insight/transcript.js';
import { modelDream } from '../support/dream-fixtures.js';
import { momentSamples } from '../support/moments.js';

const SEED_001 = readFileSync(resolve(process.cwd(), '../shared/seeds/001_49f658972abf2095.txt'), 'utf8');

/** The first fenced block of `lang` after the heading `title` in seed 001. */
function seedBlock(title: string, lang: string): string {
  const from = SEED_001.indexOf(title);
  expect(from, `seed 001 has no "${title}"`).toBeGreaterThanOrEqual(0);
  const open = SEED_001.indexOf(`\`\`\`${lang}\n`, from) + lang.length + 4;
  return SEED_001.slice(open, SEED_001.indexOf('```', open));
}

/** The original's fields (dreaming.py): the DreamModel's, and each nested model's. */
const ORIGINAL_DREAM_FIELDS = {
  '': [
    'user_id',
    'analysis_id',
    'executive_summary',
    'key_themes',
    'entity_relationships',
    'goals',
    'fears',
    'dreams',
    'pending_tasks',
    'appointments',
    'recommendations',
    'priority_actions',
    'metrics',
    'source_file_ids',
  ],
  entity_relationships: ['entity1', 'entity2', 'relationship_type', 'confidence', 'evidence'],
  goals: ['goal', 'category', 'priority', 'deadline', 'progress_indicators'],
  fears: ['fear', 'category', 'severity', 'related_goals'],
  dreams: ['dream', 'category', 'timeline', 'actionability'],
  pending_tasks: ['task', 'category', 'urgency', 'deadline', 'dependencies'],
  appointments: ['event', 'date_time', 'location', 'attendees', 'preparation_needed'],
  metrics: ['total_documents_analyzed', 'confidence_score', 'data_completeness'],
};

/** The original Moment's fields that MomentBuilder fills (moments.py's description, p8.py Moment). */
const ORIGINAL_MOMENT_FIELDS =
  'name content summary category uri resource_timestamp resource_ends_timestamp moment_type emotion_tags topic_tags present_persons speakers location background_sounds metadata'.split(
    ' ',
  );

type Props = Record<string, { properties?: Props; items?: { properties?: Props } }>;

describe("DreamModel in the seeds' and the original's shape", () => {
  it("the seeds' DreamModel output parses, with its goals, dreams and metrics as written", () => {
    const seed = JSON.parse(seedBlock('### DreamModel Output', 'python'));
    const model = readDreamModel(seed, 'seed 001');
    expect(model.goals).toEqual([
      expect.objectContaining({ goal: 'Learn programming', category: 'career', priority: 'high' }),
    ]);
    expect(model.dreams).toEqual([
      expect.objectContaining({ dream: 'Travel to Japan', category: 'lifestyle', timeline: 'short-term' }),
    ]);
    expect(model.metrics).toEqual({
      total_documents_analyzed: 3,
      confidence_score: 0.8,
      data_completeness: 0.9,
    });
    expect(model).toMatchObject({ user_id: 'tenant-id', executive_summary: 'Analysis summary' });
  });

  it("asks the model for every field of the original's DreamModel, under its names", () => {
    const top = DREAM_MODEL_SCHEMA.properties as Props;
    for (const [field, names] of Object.entries(ORIGINAL_DREAM_FIELDS)) {
      const node = field === '' ? top : (top[field]?.items?.properties ?? top[field]?.properties);
      expect(Object.keys(node ?? {}), field || 'DreamModel').toEqual(expect.arrayContaining(names));
    }
    // The original's plain-string lists stay plain strings.
    expect(top.recommendations?.items).toEqual({ type: 'string' });
    expect(top.priority_actions?.items).toEqual({ type: 'string' });
  });

  it('the heuristic writes that shape, and what is stored reads back unchanged', () => {
    const answer = validateDreamModel(
      heuristicDream({
        tenantId: 't1',
        analysisId: 'a1',
        sources: [
          {
            kind: 'resource',
            id: 'r1',
            name: 'plan.md',
            fileId: 'f1',
            text: 'My goal is to learn Rust this year. I am worried about the budget. We need to renew the insurance by March 3.',
          },
        ],
      }),
    );
    const stored = withKnownFacts(answer, {
      userId: 't1',
      analysisId: 'a1',
      generatedBy: 'heuristic',
      sessions: 0,
      resources: 1,
      sourceFileIds: ['f1'],
      analysisDate: '2025-01-10T00:00:00.000Z',
    });
    expect(stored.goals[0]).toMatchObject({
      goal: 'My goal is to learn Rust this year',
      category: 'learning',
    });
    expect(stored.fears[0]).toMatchObject({ category: 'financial', source: 'plan.md' });
    expect(stored.pending_tasks[0]).toMatchObject({ category: 'administrative', deadline: 'March 3' });
    expect(stored.metrics).toEqual({
      total_documents_analyzed: 1,
      confidence_score: 0.3,
      data_completeness: 0.5,
      analysis_date: '2025-01-10T00:00:00.000Z',
      sessions_analyzed: 0,
      resources_analyzed: 1,
    });
    expect(readDreamModel(JSON.parse(JSON.stringify(stored)))).toEqual(stored);
  });

  it('a dreams row of an earlier release (other field names) reads in the new shape, details kept', () => {
    const old = {
      user_id: 't1',
      analysis_id: 'a1',
      generated_by: 'model',
      executive_summary: 'Busy week.',
      key_themes: ['alpha'],
      entity_relationships: [
        { entity: 'Sarah Chen', related_to: 'Alpha', relationship: 'leads', evidence: 'spec' },
      ],
      goals: [
        { title: 'Ship', description: 'Ship it', target_date: 'March 1', priority: 'high', source: 'a.md' },
      ],
      dreams: [{ title: 'Lead a team', description: 'Someday', source: 'b.md' }],
      fears: [{ title: 'Slip', description: 'Timeline', severity: 'medium', source: 'a.md' }],
      pending_tasks: [
        { title: 'Review', description: 'Contract', due_date: null, priority: 'high', source: 'a.md' },
      ],
      appointments: [
        { title: 'Standup', date: 'Monday', time: '2 PM', participants: ['Sam'], source: 'c.md' },
      ],
      recommendations: [{ title: 'Ask for help', description: 'Early', rationale: 'stated worry' }],
      priority_actions: [{ action: 'Finish the spec', reason: 'due Friday', urgency: 'high' }],
      metrics: { sessions_analyzed: 1, resources_analyzed: 7, confidence: 0.8 },
      source_file_ids: ['f1'],
    };
    const model: DreamModel = readDreamModel(old);
    expect(model.goals[0]).toEqual({
      goal: 'Ship',
      description: 'Ship it',
      deadline: 'March 1',
      priority: 'high',
      source: 'a.md',
      category: 'general',
      progress_indicators: [],
    });
    expect(model.dreams[0]).toMatchObject({
      dream: 'Lead a team',
      timeline: 'long-term',
      actionability: 'aspirational',
    });
    expect(model.fears[0]).toMatchObject({ fear: 'Slip', severity: 'medium' });
    expect(model.pending_tasks[0]).toMatchObject({ task: 'Review', urgency: 'urgent', deadline: null });
    expect(model.appointments[0]).toMatchObject({
      event: 'Standup',
      date_time: 'Monday 2 PM',
      attendees: ['Sam'],
    });
    expect(model.entity_relationships[0]).toMatchObject({
      entity1: 'Sarah Chen',
      entity2: 'Alpha',
      relationship_type: 'leads',
    });
    expect(model.recommendations).toEqual(['Ask for help: Early; stated worry']);
    expect(model.priority_actions).toEqual(['Finish the spec: due Friday']);
    expect(model.metrics).toMatchObject({
      total_documents_analyzed: 8,
      confidence_score: 0.8,
      data_completeness: 0.9,
    });
    for (const item of [model.goals[0], model.dreams[0], model.appointments[0]])
      for (const key of ['title', 'target_date', 'date', 'time', 'participants'])
        expect(item).not.toHaveProperty(key);
  });

  it('names the field that cannot be read', () => {
    expect(() => readDreamModel({ goals: [{ goal: 'x', priority: 'extreme' }] }, 'dreams row 7')).toThrow(
      /^dreams row 7: goals\[0\]\.priority: /,
    );
    expect(readDreamModel(modelDream('user_id: t\nanalysis_id: a')).goals).toHaveLength(2);
  });
});

describe("MomentBuilder output in the seeds' and the original's shape", () => {
  it("the seeds' MomentBuilder output and eval YAML parse", () => {
    const output = readMomentBuilderOutput(
      JSON.parse(seedBlock('### MomentBuilder Output', 'python')),
      'seed',
    );
    expect(output).toMatchObject({ total_moments: 1, analysis_summary: expect.stringContaining('standup') });
    expect(output.moments[0]?.metadata).toEqual({
      transcript_id: 't1_20250113_090000',
      duration_seconds: 72,
    });
    const yaml = readMomentBuilderOutput(parseYaml(seedBlock('**Example Output**', 'yaml')), 'seed yaml');
    expect(yaml.moments[0]).toMatchObject({ name: 'Morning Standup with Team', moment_type: 'meeting' });
    expect(yaml.total_moments).toBe(1);
  });

  it("each moment has the original Moment's fields, metadata transcript_id and duration_seconds", () => {
    const sample = momentSamples()[0];
    if (!sample) throw new Error('no moment samples');
    const t = parseTranscript(sample.input);
    const window = { windowStartMs: t.startMs, windowEndMs: t.endMs };
    const answer = heuristicMoments(t, t.segments, window);
    const { moments } = finishMoments(t, [window], [answer.moments], {
      provider: 'heuristic',
      model: 'rules',
      transcriptRef: sample.input.transcript_id,
    });
    const output = momentBuilderResult(moments, [answer.analysis_summary]);
    expect(Object.keys(output)).toEqual(['moments', 'analysis_summary', 'total_moments']);
    expect(output.total_moments).toBe(moments.length);
    expect(output.analysis_summary).toBe(answer.analysis_summary);
    for (const m of output.moments) {
      expect(Object.keys(m)).toEqual(expect.arrayContaining(ORIGINAL_MOMENT_FIELDS));
      expect(m.metadata).toMatchObject({
        transcript_id: sample.input.transcript_id,
        duration_seconds: (Date.parse(m.resource_ends_timestamp) - Date.parse(m.resource_timestamp)) / 1000,
      });
      for (const p of m.present_persons)
        expect(Object.keys(p)).toEqual(['fingerprint_id', 'user_id', 'user_label']);
    }
    expect(readMomentBuilderOutput(JSON.parse(JSON.stringify(output))).total_moments).toBe(moments.length);
  });

  it('joins the summaries of several groups once each, in order, and counts the moments', () => {
    expect(momentBuilderResult([], ['A.', null, 'B.', 'A.', ' '])).toEqual({
      moments: [],
      analysis_summary: 'A. B.',
      total_moments: 0,
    });
    expect(momentBuilderResult([], [undefined]).analysis_summary).toBeNull();
  });
});
