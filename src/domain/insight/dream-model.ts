/**
 * DreamModel: what a dream analysis finds in a tenant's sessions and resources (the seeds' model:
 * user_id, analysis_id, executive_summary, key_themes, entity_relationships, goals, dreams, fears,
 * pending_tasks, appointments, recommendations, priority_actions, metrics, source_file_ids), plus
 * `generated_by`, which says whether a model or the rule-based heuristic wrote it. One schema serves
 * as the model's structured-output schema (OpenAI strict mode: every field required, nullable where
 * a value may be unknown, no extra fields) and as the validator of every answer.
 */
import { checkShape, type Schema } from './json-shape.js';

const str = { type: 'string' };
const nullableStr = { type: ['string', 'null'] };
const level = { type: 'string', enum: ['high', 'medium', 'low'] };

function obj(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}
const list = (items: Schema): Schema => ({ type: 'array', items });

export const DREAM_MODEL_SCHEMA: Schema = obj({
  user_id: str,
  analysis_id: str,
  generated_by: { type: 'string', enum: ['model', 'heuristic'] },
  executive_summary: str,
  key_themes: list(str),
  entity_relationships: list(obj({ entity: str, related_to: str, relationship: str, evidence: str })),
  goals: list(obj({ title: str, description: str, target_date: nullableStr, priority: level, source: str })),
  dreams: list(obj({ title: str, description: str, source: str })),
  fears: list(obj({ title: str, description: str, severity: level, source: str })),
  pending_tasks: list(
    obj({ title: str, description: str, due_date: nullableStr, priority: level, source: str }),
  ),
  appointments: list(
    obj({ title: str, date: nullableStr, time: nullableStr, participants: list(str), source: str }),
  ),
  recommendations: list(obj({ title: str, description: str, rationale: str })),
  priority_actions: list(obj({ action: str, reason: str, urgency: level })),
  metrics: obj({
    sessions_analyzed: { type: 'integer' },
    resources_analyzed: { type: 'integer' },
    confidence: { type: 'number' },
  }),
  source_file_ids: list(str),
});

type Level = 'high' | 'medium' | 'low';

export interface DreamModel {
  user_id: string;
  analysis_id: string;
  generated_by: 'model' | 'heuristic';
  executive_summary: string;
  key_themes: string[];
  entity_relationships: Array<{ entity: string; related_to: string; relationship: string; evidence: string }>;
  goals: Array<{
    title: string;
    description: string;
    target_date: string | null;
    priority: Level;
    source: string;
  }>;
  dreams: Array<{ title: string; description: string; source: string }>;
  fears: Array<{ title: string; description: string; severity: Level; source: string }>;
  pending_tasks: Array<{
    title: string;
    description: string;
    due_date: string | null;
    priority: Level;
    source: string;
  }>;
  appointments: Array<{
    title: string;
    date: string | null;
    time: string | null;
    participants: string[];
    source: string;
  }>;
  recommendations: Array<{ title: string; description: string; rationale: string }>;
  priority_actions: Array<{ action: string; reason: string; urgency: Level }>;
  metrics: { sessions_analyzed: number; resources_analyzed: number; confidence: number };
  source_file_ids: string[];
}

/** Throws a ShapeError naming the field (e.g. `goals[0].priority: expected one of …`). */
export function validateDreamModel(value: unknown): DreamModel {
  checkShape(DREAM_MODEL_SCHEMA, value);
  const model = value as DreamModel;
  if (model.metrics.confidence < 0 || model.metrics.confidence > 1) {
    throw new Error(`metrics.confidence: expected a number from 0 to 1, got ${model.metrics.confidence}`);
  }
  return model;
}

/** The facts we know better than any model: who, which analysis, what it read, who wrote it. */
export function withKnownFacts(
  model: DreamModel,
  facts: {
    userId: string;
    analysisId: string;
    generatedBy: DreamModel['generated_by'];
    sessions: number;
    resources: number;
    sourceFileIds: string[];
  },
): DreamModel {
  return {
    ...model,
    user_id: facts.userId,
    analysis_id: facts.analysisId,
    generated_by: facts.generatedBy,
    metrics: { ...model.metrics, sessions_analyzed: facts.sessions, resources_analyzed: facts.resources },
    source_file_ids: facts.sourceFileIds,
  };
}
