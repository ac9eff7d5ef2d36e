/**
 * Reading a stored DreamModel: the `dreams.model` and `jobs.result` of this release, the seeds' example
 * (Healer-AI/p8fs's DreamModel, whose lists and optional fields have defaults), and the rows our earlier
 * releases wrote under other names (goals[{title, description, target_date}], dreams[{title}],
 * pending_tasks[{title, due_date, priority}], appointments[{title, date, time, participants}],
 * recommendations[{title, description, rationale}], priority_actions[{action, reason, urgency}],
 * entity_relationships[{entity, related_to, relationship}], metrics{sessions_analyzed,
 * resources_analyzed, confidence}). Everything comes out in today's shape, so the CLI, the API and the
 * demo read old and new rows alike and no migration has to rewrite them. What an old row never said
 * gets the weakest value (a dream's timeline long-term and actionability aspirational, category
 * general); an old item's description is kept beside the renamed fields.
 */
import { z } from 'zod';
import { ACTIONABILITY, type DreamModel, LEVELS, TIMELINES, URGENCIES } from './dream-model.js';
import { readProblem } from './read-problem.js';

type Raw = Record<string, unknown>;

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Moves old keys to their new names (unless the new one is there already); other keys stay. */
function renamed(
  value: unknown,
  names: Record<string, string>,
  more: (old: Raw) => Raw = () => ({}),
): unknown {
  if (!isObject(value)) return value;
  const out: Raw = { ...value };
  for (const [old, now] of Object.entries(names)) {
    if (!(old in out)) continue;
    if (!(now in out)) out[now] = out[old];
    delete out[old];
  }
  return { ...more(value), ...out };
}

const lower = (schema: z.ZodType) =>
  z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), schema);
const text = z.string();
const strings = z.array(z.string()).default([]);
const nullableText = z.string().nullable().default(null);
const source = z.string().default('');
const category = z.string().default('general');
const fraction = z.number().min(0).max(1);
const OLD_PRIORITY_TO_URGENCY: Record<string, string> = { high: 'urgent', medium: 'soon', low: 'sometime' };

const relationship = z.preprocess(
  (v) => renamed(v, { entity: 'entity1', related_to: 'entity2', relationship: 'relationship_type' }),
  z.looseObject({
    entity1: text,
    entity2: text,
    relationship_type: text,
    // Old rows had no confidence: a relationship stated in the sources, not judged.
    confidence: fraction.default(0.5),
    evidence: z.string().default(''),
  }),
);

const goal = z.preprocess(
  (v) => renamed(v, { title: 'goal', target_date: 'deadline' }),
  z.looseObject({
    goal: text,
    category,
    priority: lower(z.enum(LEVELS)).default('medium'),
    deadline: nullableText,
    progress_indicators: strings,
    source,
  }),
);

const dream = z.preprocess(
  (v) => renamed(v, { title: 'dream' }),
  z.looseObject({
    dream: text,
    category,
    timeline: lower(z.enum(TIMELINES)).default('long-term'),
    actionability: lower(z.enum(ACTIONABILITY)).default('aspirational'),
    source,
  }),
);

const fear = z.preprocess(
  (v) => renamed(v, { title: 'fear' }),
  z.looseObject({
    fear: text,
    category,
    severity: lower(z.enum(LEVELS)).default('medium'),
    related_goals: strings,
    source,
  }),
);

const task = z.preprocess(
  (v) =>
    renamed(v, { title: 'task', due_date: 'deadline' }, (old) =>
      typeof old.priority === 'string' && !('urgency' in old)
        ? { urgency: OLD_PRIORITY_TO_URGENCY[old.priority] ?? 'soon' }
        : {},
    ),
  z.looseObject({
    task: text,
    category,
    urgency: lower(z.enum(URGENCIES)).default('soon'),
    deadline: nullableText,
    dependencies: strings,
    source,
  }),
);

const appointment = z.preprocess(
  (v) => {
    if (!isObject(v) || 'event' in v || !('title' in v)) return v;
    const { title, date, time, participants, ...rest } = v;
    const when = [date, time].filter((part) => typeof part === 'string' && part !== '').join(' ');
    return { ...rest, event: title, date_time: when || null, attendees: participants ?? [] };
  },
  z.looseObject({
    event: text,
    date_time: nullableText,
    location: nullableText,
    attendees: strings,
    preparation_needed: strings,
    source,
  }),
);

/** An old row's recommendation or priority action object → the sentence it stood for. */
function sentence(value: unknown): unknown {
  if (!isObject(value)) return value;
  const head = value.title ?? value.action;
  const detail = [value.description, value.reason, value.rationale].filter((p) => typeof p === 'string');
  return detail.length > 0 ? `${head}: ${detail.join('; ')}` : head;
}

const metrics = z.preprocess(
  (v) => {
    if (!isObject(v) || 'total_documents_analyzed' in v) return v;
    const sessions = Number(v.sessions_analyzed ?? 0);
    const resources = Number(v.resources_analyzed ?? 0);
    const { confidence, ...rest } = v;
    return {
      ...rest,
      total_documents_analyzed: sessions + resources,
      confidence_score: confidence,
      // The original's rule when a model gave no completeness: both kinds of data, or only one.
      data_completeness: sessions > 0 && resources > 0 ? 0.9 : 0.5,
    };
  },
  z.looseObject({
    total_documents_analyzed: z.number().int().min(0),
    confidence_score: fraction,
    data_completeness: fraction,
    analysis_date: z.string().optional(),
    sessions_analyzed: z.number().int().optional(),
    resources_analyzed: z.number().int().optional(),
  }),
);

const DREAM_MODEL_READ = z.looseObject({
  user_id: z.string().default(''),
  analysis_id: z.string().default(''),
  generated_by: z.enum(['model', 'heuristic']).default('model'),
  executive_summary: z.string().nullable().default(null),
  key_themes: strings,
  entity_relationships: z.array(relationship).default([]),
  goals: z.array(goal).default([]),
  dreams: z.array(dream).default([]),
  fears: z.array(fear).default([]),
  pending_tasks: z.array(task).default([]),
  appointments: z.array(appointment).default([]),
  recommendations: z.array(z.preprocess(sentence, text)).default([]),
  priority_actions: z.array(z.preprocess(sentence, text)).default([]),
  metrics: metrics.optional(),
  source_file_ids: strings,
});

/**
 * A stored or received DreamModel in today's shape; throws naming the first bad field. `where` names the
 * row or file in the message.
 */
export function readDreamModel(value: unknown, where = 'DreamModel'): DreamModel {
  const parsed = DREAM_MODEL_READ.safeParse(value);
  if (!parsed.success) throw readProblem(where, parsed.error);
  const model = parsed.data;
  return {
    ...model,
    executive_summary: model.executive_summary ?? '',
    metrics: model.metrics ?? { total_documents_analyzed: 0, confidence_score: 0, data_completeness: 0 },
  } as DreamModel;
}
