/**
 * The user summary (the original P8FS's summarize_user → the `p8fs-user-info` resource, category
 * user_context, which chat loads as context): what the model is given (recent sessions, moments,
 * resources and files of the tenant, by name and a line each), the answer's shape and its validator,
 * and the rule-based answer (no model) that says it is one. Pure.
 */
export const USER_INFO_NAME = 'p8fs-user-info';

/** The original's summarize_user limits. */
export const USER_SUMMARY_LIMITS = {
  maxSessions: 100,
  maxMoments: 20,
  maxResources: 20,
  maxFiles: 10,
} as const;

export interface UserSummaryInput {
  tenantId: string;
  maxSessions?: number;
  maxMoments?: number;
  maxResources?: number;
  maxFiles?: number;
}

export interface UserActivity {
  sessions: Array<{ name: string; date: string; messages: number; firstQuestion: string }>;
  moments: Array<{ name: string; date: string; summary: string; topics: string[] }>;
  resources: Array<{ name: string; category: string }>;
  files: Array<{ name: string; date: string }>;
}

export interface UserSummary {
  summary: string;
  interests: string[];
  active_projects: string[];
}

export interface UserSummaryOutcome {
  tenantId: string;
  resourceId: string;
  sessions: number;
  moments: number;
  resources: number;
  files: number;
  generatedBy: 'model' | 'heuristic';
  provider: string;
  model: string;
}

export const USER_SUMMARY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['summary', 'interests', 'active_projects'],
  properties: {
    summary: { type: 'string', description: 'Who the user is and what they are working on, 3-8 sentences' },
    interests: {
      type: 'array',
      items: { type: 'string' },
      description: 'topics the user keeps coming back to',
    },
    active_projects: {
      type: 'array',
      items: { type: 'string' },
      description: 'projects the user works on now',
    },
  },
} as const;

function strings(value: unknown, field: string, max: number): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new Error(`${field}: must be a list of strings`);
  return (value as string[])
    .map((v) => v.trim())
    .filter(Boolean)
    .slice(0, max);
}

export function validateUserSummary(value: unknown): UserSummary {
  if (typeof value !== 'object' || value === null) throw new Error('the answer must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.summary !== 'string' || v.summary.trim().length < 20)
    throw new Error('summary: must be a text of at least 20 characters');
  return {
    summary: v.summary.trim().slice(0, 4000),
    interests: strings(v.interests, 'interests', 12),
    active_projects: strings(v.active_projects, 'active_projects', 12),
  };
}

export function userSummaryMessages(
  tenantId: string,
  a: UserActivity,
): Array<{ role: 'system' | 'user'; content: string }> {
  const lines = [
    `user_id: ${tenantId}`,
    `## Recent chat sessions (${a.sessions.length})`,
    ...a.sessions.map((s) => `- ${s.date} ${s.name} (${s.messages} messages): ${s.firstQuestion}`),
    `## Recent moments (${a.moments.length})`,
    ...a.moments.map((m) => `- ${m.date} ${m.name} [${m.topics.join(', ')}]: ${m.summary}`),
    `## Recent resources (${a.resources.length})`,
    ...a.resources.map((r) => `- ${r.name} (${r.category})`),
    `## Recent file uploads (${a.files.length})`,
    ...a.files.map((f) => `- ${f.date} ${f.name}`),
  ];
  return [
    {
      role: 'system',
      content:
        'You keep a short profile of a user for an assistant that will chat with them. From their recent activity, write who they are and what they work on (summary), the topics they keep returning to (interests) and their current projects (active_projects). Use only what the activity shows.',
    },
    { role: 'user', content: lines.join('\n') },
  ];
}

/** Words that name a project: "Project Alpha", "Acme Corp" style capitalised runs in names and summaries. */
const PROJECT = /\b(?:Project [A-Z]\w+|[A-Z][a-z]+ (?:Corp|Inc|Ltd|Migration|Platform|API))\b/g;

/** The rule-based summary: counts, the most frequent moment topics and the named projects. */
export function heuristicUserSummary(tenantId: string, a: UserActivity): UserSummary {
  const topics = new Map<string, number>();
  for (const m of a.moments) for (const t of m.topics) topics.set(t, (topics.get(t) ?? 0) + 1);
  const interests = [...topics.entries()]
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .slice(0, 8)
    .map(([t]) => t);
  const projects = new Map<string, number>();
  const texts = [
    ...a.moments.flatMap((m) => [m.name, m.summary]),
    ...a.sessions.flatMap((s) => [s.name, s.firstQuestion]),
    ...a.files.map((f) => f.name.replace(/[_-]+/g, ' ')),
  ];
  for (const text of texts)
    for (const p of text.match(PROJECT) ?? []) projects.set(p, (projects.get(p) ?? 0) + 1);
  const active = [...projects.entries()]
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .slice(0, 6)
    .map(([p]) => p);
  const recent = a.moments.slice(0, 3).map((m) => m.name);
  const summary = [
    `[heuristic] Rule-based summary (no language model) of ${tenantId}'s recent activity:`,
    `${a.sessions.length} chat session(s), ${a.moments.length} moment(s), ${a.resources.length} resource(s) and ${a.files.length} uploaded file(s).`,
    active.length ? `Projects named most: ${active.join(', ')}.` : '',
    interests.length ? `Frequent topics: ${interests.join(', ')}.` : '',
    recent.length ? `Latest moments: ${recent.join('; ')}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return { summary, interests, active_projects: active };
}

/** The resource's content: the summary, then the lists, as chat reads it. */
export function userInfoContent(s: UserSummary): string {
  return [
    s.summary,
    s.interests.length ? `Interests: ${s.interests.join(', ')}` : '',
    s.active_projects.length ? `Active projects: ${s.active_projects.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}
