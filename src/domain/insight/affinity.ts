/**
 * Resource affinity (the original P8FS's algorithms/resource_affinity.py, `--task affinity`): the edges a
 * resource gets to the other resources of its tenant that say the same things. What the workflow's
 * history carries (input, pages of ids, counts), the edge shape kept in `graph_paths`, the seeded text
 * segments, the merge rule, and the LLM mode's question with its answer's shape and its rule-based
 * stand-in. Pure: workflow code imports the types and defaults.
 */

/** The original's limits: 3 segments of 20 words per resource, the 5 best edges, weight in [0.3, 1]. */
export const AFFINITY_SEGMENTS = 3;
export const AFFINITY_SEGMENT_WORDS = 20;
export const AFFINITY_MAX_EDGES = 5;
export const AFFINITY_MIN_WEIGHT = 0.3;
export const SEMANTIC_SIMILAR = 'semantic_similar';

export type AffinityMode = 'basic' | 'llm';
export type MatchType = 'semantic-basic' | 'llm-assessed';

export interface AffinityInput {
  tenantId: string;
  /** llm: each candidate pair is assessed by the model (or the heuristic stand-in). */
  useLlm?: boolean;
  /** Resources linked per run (P8FS_AFFINITY_RESOURCES_PER_RUN when absent); the rest waits. */
  maxResources?: number;
  /** Cosine similarity a neighbour needs (P8FS_AFFINITY_THRESHOLD when absent). */
  threshold?: number;
  /** Model calls one --use-llm run makes (P8FS_AFFINITY_MAX_MODEL_CALLS when absent). */
  maxModelCalls?: number;
  /** Link again resources linked already (their edges are merged, so the result is the same). */
  relink?: boolean;
}

export interface AffinityPlan {
  /** Resources with a current vector that this run links, oldest first. */
  resourceIds: string[];
  /** Resources waiting beyond the per-run bound. */
  remaining: number;
  /** The embedding provider whose vectors are compared (the configured one). */
  provider: string;
  threshold: number;
  maxModelCalls: number;
}

export interface LinkPageInput {
  tenantId: string;
  resourceIds: string[];
  mode: AffinityMode;
  provider: string;
  threshold: number;
  /** LLM mode: model calls this page may make; a resource whose candidates would pass it waits. */
  maxModelCalls: number;
}

export interface LinkPageOutcome {
  linked: number;
  /** Edges written that the rows did not hold before (a re-run adds none). */
  edgesAdded: number;
  /** Edges the rows hold after the page. */
  edgesHeld: number;
  modelCalls: number;
  /** Resources of the page left unlinked for the next run (the model call budget ran out). */
  deferred: number;
  /** Resources whose vector was gone or changed since the plan (linked by a later run). */
  skipped: number;
  generatedBy: 'model' | 'heuristic' | 'none';
}

export interface AffinityOutcome {
  status: 'completed' | 'skipped';
  tenantId: string;
  mode: AffinityMode;
  provider: string;
  linked: number;
  edgesAdded: number;
  edgesHeld: number;
  modelCalls: number;
  generatedBy: 'model' | 'heuristic' | 'none';
  /** Resources waiting for a later run: beyond the per-run bound or the model call budget. */
  remaining: number;
  reason?: string;
}

/** One edge in `graph_paths`, the original's InlineEdge. */
export interface GraphEdge {
  /** The neighbour's resource id. */
  dst: string;
  rel_type: string;
  weight: number;
  properties: Record<string, unknown> & { match_type: MatchType };
  created_at: string;
}

/** A small, fast generator seeded by a string: the same resource always gets the same segments. */
function seededRandom(seed: string): () => number {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  let state = h >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Three runs of 20 consecutive words at positions drawn from a generator seeded by the resource id (the
 * original draws them unseeded, so its edges changed from run to run). A text of 20 words or fewer is one
 * segment; repeated draws of the same position are kept once.
 */
export function affinitySegments(seed: string, content: string): string[] {
  const words = content.split(/\s+/).filter(Boolean);
  if (words.length === 0) return [];
  if (words.length <= AFFINITY_SEGMENT_WORDS) return [words.join(' ')];
  const next = seededRandom(seed);
  const starts = new Set<number>();
  for (let i = 0; i < AFFINITY_SEGMENTS; i++)
    starts.add(Math.floor(next() * (words.length - AFFINITY_SEGMENT_WORDS + 1)));
  return [...starts].map((s) => words.slice(s, s + AFFINITY_SEGMENT_WORDS).join(' '));
}

/** The original's weight of a similarity: clamped to [0.3, 1]. */
export function similarityWeight(similarity: number): number {
  return Math.min(1, Math.max(AFFINITY_MIN_WEIGHT, round(similarity)));
}

export function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/**
 * The original's _merge_edges: one edge per (dst, rel_type); a new edge replaces the held one only when
 * its weight is higher, so an equal re-run keeps the held edge (and its created_at) and writes nothing new.
 */
export function mergeEdges(
  held: readonly GraphEdge[],
  fresh: readonly GraphEdge[],
): { edges: GraphEdge[]; added: number } {
  const byKey = new Map<string, GraphEdge>();
  for (const e of held) byKey.set(`${e.dst}\u0000${e.rel_type}`, e);
  let added = 0;
  for (const e of fresh) {
    const key = `${e.dst}\u0000${e.rel_type}`;
    const current = byKey.get(key);
    if (!current) added++;
    if (!current || e.weight > current.weight) byKey.set(key, e);
  }
  return { edges: [...byKey.values()], added };
}

/** Reads a stored graph_paths value; entries that are not edges (an original's plain strings) are kept out. */
export function readEdges(value: unknown): GraphEdge[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (e): e is GraphEdge =>
      typeof e === 'object' &&
      e !== null &&
      typeof (e as GraphEdge).dst === 'string' &&
      typeof (e as GraphEdge).rel_type === 'string' &&
      typeof (e as GraphEdge).weight === 'number',
  );
}

// ---- LLM mode -----------------------------------------------------------------------------------------

export const RELATIONSHIP_TYPES = [
  'similar_topic',
  'complementary',
  'contrasting_view',
  'related_domain',
  'unrelated',
] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];
export const STRENGTHS = ['strong', 'moderate', 'weak'] as const;
export type Strength = (typeof STRENGTHS)[number];
/** The original's strength → weight map. */
export const STRENGTH_WEIGHT: Record<Strength, number> = { strong: 0.9, moderate: 0.6, weak: 0.4 };

export interface RelationAssessment {
  relationship_type: RelationshipType;
  strength: Strength;
  connecting_entities: string[];
  edge_labels: string[];
  explanation: string;
}

export interface RelationPair {
  source: { name: string; category: string; content: string };
  target: { name: string; category: string; content: string };
  similarity: number;
}

export const RELATION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['relationship_type', 'strength', 'connecting_entities', 'edge_labels', 'explanation'],
  properties: {
    relationship_type: { type: 'string', enum: [...RELATIONSHIP_TYPES] },
    strength: { type: 'string', enum: [...STRENGTHS] },
    connecting_entities: {
      type: 'array',
      items: { type: 'string' },
      description: 'people, projects or topics both resources mention',
    },
    edge_labels: { type: 'array', items: { type: 'string' }, description: '1-3 short labels for the edge' },
    explanation: { type: 'string', description: 'one or two sentences' },
  },
} as const;

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new Error(`${field}: must be a list of strings`);
  return (value as string[])
    .map((v) => v.trim())
    .filter(Boolean)
    .slice(0, 5);
}

export function validateRelation(value: unknown): RelationAssessment {
  if (typeof value !== 'object' || value === null) throw new Error('the answer must be an object');
  const v = value as Record<string, unknown>;
  if (!RELATIONSHIP_TYPES.includes(v.relationship_type as RelationshipType))
    throw new Error(`relationship_type: must be one of ${RELATIONSHIP_TYPES.join(', ')}`);
  if (!STRENGTHS.includes(v.strength as Strength))
    throw new Error(`strength: must be one of ${STRENGTHS.join(', ')}`);
  if (typeof v.explanation !== 'string') throw new Error('explanation: must be a text');
  return {
    relationship_type: v.relationship_type as RelationshipType,
    strength: v.strength as Strength,
    connecting_entities: stringList(v.connecting_entities, 'connecting_entities'),
    edge_labels: stringList(v.edge_labels, 'edge_labels'),
    explanation: v.explanation.trim().slice(0, 500),
  };
}

const excerpt = (text: string) => (text.length > 500 ? `${text.slice(0, 500)}…` : text);

export function relationMessages(p: RelationPair): Array<{ role: 'system' | 'user'; content: string }> {
  return [
    {
      role: 'system',
      content:
        'You are an expert at analysing semantic relationships between documents. Say how the target relates to the source: the relationship type (unrelated when they only share common words), its strength, the people, projects or topics that connect them, 1-3 short edge labels, and why.',
    },
    {
      role: 'user',
      content: [
        'SOURCE RESOURCE',
        `Name: ${p.source.name}`,
        `Category: ${p.source.category || 'unknown'}`,
        `Content: ${excerpt(p.source.content)}`,
        '',
        'TARGET RESOURCE',
        `Name: ${p.target.name}`,
        `Category: ${p.target.category || 'unknown'}`,
        `Content: ${excerpt(p.target.content)}`,
      ].join('\n'),
    },
  ];
}

const STOP = new Set(
  'about above after again against because before being below between could doing during every further having other their there these those through under until where which while would should shall might maybe really there thing things which about among within without also into onto from with that this have will were been than then them they what when your yours ours'.split(
    ' ',
  ),
);

/** Words of five letters or more that are not function words, lower case, with how often each occurs. */
function salientWords(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of text.toLowerCase().match(/\p{L}{5,}/gu) ?? [])
    if (!STOP.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/**
 * The stand-in when no model is configured, and it says so: the words both texts use (five letters or
 * more, not function words) are the connecting entities, ranked by how often they occur in both; the
 * strength is read off the vector similarity (≥ 0.75 strong, ≥ 0.55 moderate, else weak); three shared
 * words or more make it similar_topic, fewer related_domain. It judges nothing a model would.
 */
export function heuristicRelation(p: RelationPair): RelationAssessment {
  const a = salientWords(`${p.source.name} ${p.source.content}`);
  const b = salientWords(`${p.target.name} ${p.target.content}`);
  const shared = [...a.keys()]
    .filter((w) => b.has(w))
    .sort(
      (x, y) => (b.get(y) ?? 0) + (a.get(y) ?? 0) - (b.get(x) ?? 0) - (a.get(x) ?? 0) || x.localeCompare(y),
    );
  const strength: Strength = p.similarity >= 0.75 ? 'strong' : p.similarity >= 0.55 ? 'moderate' : 'weak';
  const type: RelationshipType = shared.length >= 3 ? 'similar_topic' : 'related_domain';
  const entities = shared.slice(0, 3);
  return {
    relationship_type: type,
    strength,
    connecting_entities: entities,
    edge_labels: entities.length ? [`shares ${entities[0]}`] : ['similar wording'],
    explanation: `[heuristic] Rule-based (no language model): vector similarity ${round(p.similarity)}, ${shared.length} shared word(s)${entities.length ? `: ${entities.join(', ')}` : ''}.`,
  };
}
