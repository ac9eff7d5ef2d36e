/**
 * DreamModel: what a dream analysis finds in a tenant's sessions and resources, in the original
 * P8FS's shape (Healer-AI/p8fs, p8fs/src/p8fs/models/agentlets/dreaming.py, and the seeds' DreamModel
 * output): goals[{goal, category, priority, deadline, progress_indicators}], dreams[{dream, category,
 * timeline, actionability}], fears, pending_tasks, appointments, entity_relationships, recommendations
 * and priority_actions (plain strings), metrics{total_documents_analyzed, confidence_score,
 * data_completeness, analysis_date}, source_file_ids. Ours on top, never instead: `generated_by` (model
 * or heuristic), each item's `source` (the session or document it came from) and the split of the
 * document count (metrics.sessions_analyzed, resources_analyzed).
 *
 * DREAM_MODEL_SCHEMA is what a model is asked for (OpenAI strict mode: every field required, nullable
 * where a value may be unknown, no extra fields) and what its answer is checked against; the facts we
 * know better (ids, counts, analysis_date) are set afterwards by withKnownFacts. Stored models, the
 * seeds' example and rows of earlier releases are read with readDreamModel (dream-model-read.ts).
 */
import { checkShape, type Schema } from './json-shape.js';

const str = { type: 'string' };
const nullableStr = { type: ['string', 'null'] };
const oneOf = (values: readonly string[]) => ({ type: 'string', enum: [...values] });

function obj(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}
const list = (items: Schema): Schema => ({ type: 'array', items });

export const LEVELS = ['high', 'medium', 'low'] as const;
export const TIMELINES = ['short-term', 'medium-term', 'long-term'] as const;
export const ACTIONABILITY = ['concrete', 'aspirational', 'abstract'] as const;
export const URGENCIES = ['urgent', 'soon', 'sometime'] as const;

type Level = (typeof LEVELS)[number];

export interface EntityRelationship {
  entity1: string;
  entity2: string;
  /** e.g. works_for, collaborates_with, reports_to */
  relationship_type: string;
  confidence: number;
  evidence: string;
}

export interface PersonalGoal {
  goal: string;
  /** career, health, learning, financial, … */
  category: string;
  priority: Level;
  deadline: string | null;
  progress_indicators: string[];
  source: string;
}

export interface PersonalFear {
  fear: string;
  category: string;
  severity: Level;
  related_goals: string[];
  source: string;
}

export interface PersonalDream {
  dream: string;
  /** career, lifestyle, creative, impact, … */
  category: string;
  timeline: (typeof TIMELINES)[number];
  actionability: (typeof ACTIONABILITY)[number];
  source: string;
}

export interface PendingTask {
  task: string;
  /** work, personal, administrative, … */
  category: string;
  urgency: (typeof URGENCIES)[number];
  deadline: string | null;
  dependencies: string[];
  source: string;
}

export interface Appointment {
  event: string;
  date_time: string | null;
  location: string | null;
  attendees: string[];
  preparation_needed: string[];
  source: string;
}

export interface DreamMetrics {
  total_documents_analyzed: number;
  confidence_score: number;
  data_completeness: number;
  /** Set by the code (the end of the analysed window), not asked of the model. */
  analysis_date?: string;
  /** Ours: the documents counted above, split into chat sessions and resources. */
  sessions_analyzed?: number;
  resources_analyzed?: number;
}

export interface DreamModel {
  user_id: string;
  analysis_id: string;
  generated_by: 'model' | 'heuristic';
  executive_summary: string;
  key_themes: string[];
  entity_relationships: EntityRelationship[];
  goals: PersonalGoal[];
  dreams: PersonalDream[];
  fears: PersonalFear[];
  pending_tasks: PendingTask[];
  appointments: Appointment[];
  recommendations: string[];
  priority_actions: string[];
  metrics: DreamMetrics;
  source_file_ids: string[];
}

export const DREAM_MODEL_SCHEMA: Schema = obj({
  user_id: str,
  analysis_id: str,
  generated_by: oneOf(['model', 'heuristic']),
  executive_summary: str,
  key_themes: list(str),
  entity_relationships: list(
    obj({
      entity1: str,
      entity2: str,
      relationship_type: str,
      confidence: { type: 'number' },
      evidence: str,
    }),
  ),
  goals: list(
    obj({
      goal: str,
      category: str,
      priority: oneOf(LEVELS),
      deadline: nullableStr,
      progress_indicators: list(str),
      source: str,
    }),
  ),
  dreams: list(
    obj({
      dream: str,
      category: str,
      timeline: oneOf(TIMELINES),
      actionability: oneOf(ACTIONABILITY),
      source: str,
    }),
  ),
  fears: list(
    obj({ fear: str, category: str, severity: oneOf(LEVELS), related_goals: list(str), source: str }),
  ),
  pending_tasks: list(
    obj({
      task: str,
      category: str,
      urgency: oneOf(URGENCIES),
      deadline: nullableStr,
      dependencies: list(str),
      source: str,
    }),
  ),
  appointments: list(
    obj({
      event: str,
      date_time: nullableStr,
      location: nullableStr,
      attendees: list(str),
      preparation_needed: list(str),
      source: str,
    }),
  ),
  recommendations: list(str),
  priority_actions: list(str),
  metrics: obj({
    total_documents_analyzed: { type: 'integer' },
    confidence_score: { type: 'number' },
    data_completeness: { type: 'number' },
  }),
  source_file_ids: list(str),
});

function fraction(value: number, field: string): void {
  if (value < 0 || value > 1) throw new Error(`${field}: expected a number from 0 to 1, got ${value}`);
}

/** Throws a ShapeError naming the field (e.g. `goals[0].priority: expected one of …`). */
export function validateDreamModel(value: unknown): DreamModel {
  checkShape(DREAM_MODEL_SCHEMA, value);
  const model = value as DreamModel;
  fraction(model.metrics.confidence_score, 'metrics.confidence_score');
  fraction(model.metrics.data_completeness, 'metrics.data_completeness');
  model.entity_relationships.forEach((r, i) => {
    fraction(r.confidence, `entity_relationships[${i}].confidence`);
  });
  return model;
}

/** The facts we know better than any model: who, which analysis, what it read and when, who wrote it. */
export function withKnownFacts(
  model: DreamModel,
  facts: {
    userId: string;
    analysisId: string;
    generatedBy: DreamModel['generated_by'];
    sessions: number;
    resources: number;
    sourceFileIds: string[];
    /** The end of the analysed window: the same on every retry, unlike the clock. */
    analysisDate: string;
  },
): DreamModel {
  return {
    ...model,
    user_id: facts.userId,
    analysis_id: facts.analysisId,
    generated_by: facts.generatedBy,
    metrics: {
      ...model.metrics,
      total_documents_analyzed: facts.sessions + facts.resources,
      analysis_date: facts.analysisDate,
      sessions_analyzed: facts.sessions,
      resources_analyzed: facts.resources,
    },
    source_file_ids: facts.sourceFileIds,
  };
}
