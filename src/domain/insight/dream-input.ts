/**
 * A dream analysis's input: the tenant's sessions and resources as text sources, packed newest first
 * into the model's context (minus the answer's budget and the instructions), and the prompt around them.
 * Pure: the activity reads the rows; this decides what fits.
 */
import { countTokens } from '../chunking.js';

export interface DreamSource {
  kind: 'session' | 'resource';
  /** Session id or resource id. */
  id: string;
  name: string;
  /** The file a resource came from (resources only): these become source_file_ids. */
  fileId?: string;
  timestamp?: string;
  text: string;
}

export interface PackedInput {
  tenantId: string;
  analysisId: string;
  sources: DreamSource[];
  tokens: number;
  budgetTokens: number;
  /** Sources left out because the budget was spent, and sources cut short to fit. */
  dropped: number;
  truncated: number;
}

/** How a source appears in the prompt. */
export function renderSource(source: DreamSource): string {
  const when = source.timestamp ? ` (${source.timestamp})` : '';
  return `### [${source.kind}] ${source.name}${when}\n${source.text.trim()}\n`;
}

/** A source cut to at most `tokens` tokens of rendered text (characters shrunk until it fits). */
function truncateToTokens(
  source: DreamSource,
  tokens: number,
  count: (text: string) => number,
): DreamSource | undefined {
  let text = source.text;
  const marker = '\n[… cut to fit the model context]';
  for (let i = 0; i < 20 && text.length > 0; i++) {
    const candidate = { ...source, text: `${text}${marker}` };
    const used = count(renderSource(candidate));
    if (used <= tokens) return candidate;
    text = text.slice(0, Math.floor(((text.length * tokens) / used) * 0.95));
  }
  return undefined;
}

/** Smallest leftover worth filling with a cut source; below it the rest is left out. */
export const MIN_TRUNCATED_TOKENS = 200;

/**
 * Sessions first (the person's own words), then resources, each newest first as given; whole sources
 * while they fit, then at most one cut to fill the rest; everything after that is counted as dropped.
 */
export function packSources(
  sources: DreamSource[],
  budgetTokens: number,
  count: (text: string) => number = countTokens,
): { sources: DreamSource[]; tokens: number; dropped: number; truncated: number } {
  const ordered = [
    ...sources.filter((s) => s.kind === 'session'),
    ...sources.filter((s) => s.kind === 'resource'),
  ];
  const packed: DreamSource[] = [];
  let tokens = 0;
  let dropped = 0;
  let truncated = 0;
  for (const source of ordered) {
    const need = count(renderSource(source));
    if (tokens + need <= budgetTokens) {
      packed.push(source);
      tokens += need;
      continue;
    }
    const left = budgetTokens - tokens;
    const cut = left >= MIN_TRUNCATED_TOKENS ? truncateToTokens(source, left, count) : undefined;
    if (cut) {
      packed.push(cut);
      tokens += count(renderSource(cut));
      truncated++;
    } else dropped++;
  }
  return { sources: packed, tokens, dropped, truncated };
}

export const DREAM_SYSTEM_PROMPT = [
  "You analyse one person's recent chat sessions and documents and return a DreamModel as JSON.",
  'Find their goals (goal, category such as career, health, learning, financial; priority high, medium',
  'or low; deadline when stated; how progress could be measured), dreams (long-term aspirations: dream,',
  'category such as career, lifestyle, creative, impact; timeline short-term, medium-term or long-term;',
  'actionability concrete, aspirational or abstract), fears and worries (fear, category, severity, the',
  'goals they put at risk), pending tasks (task, category such as work, personal, administrative; urgency',
  'urgent, soon or sometime; deadline; the people or tasks they depend on), appointments (event, date_time',
  'as written, location, attendees, preparation), the people and organisations they deal with and how',
  'they relate (entity1, entity2, relationship_type such as works_for or collaborates_with, a confidence',
  'from 0 to 1, the evidence), the key themes, recommendations and the few priority actions that matter',
  'most now (one sentence each). Use only what the sources say; quote dates as written; name the source',
  '(its name after [session] or [resource]) of every item. Write an executive summary of 3-6 sentences.',
  'In metrics give your confidence_score and how complete the data seems (data_completeness), both from',
  '0 to 1. Set generated_by to "model".',
].join(' ');

export function dreamUserPrompt(input: {
  tenantId: string;
  analysisId: string;
  sources: DreamSource[];
}): string {
  const sessions = input.sources.filter((s) => s.kind === 'session').length;
  const resources = input.sources.length - sessions;
  const fileIds = [...new Set(input.sources.flatMap((s) => (s.fileId ? [s.fileId] : [])))];
  return [
    `user_id: ${input.tenantId}`,
    `analysis_id: ${input.analysisId}`,
    `metrics: total_documents_analyzed=${sessions + resources} (${sessions} session(s), ${resources} resource(s)); give confidence_score and data_completeness (0-1).`,
    `source_file_ids: ${JSON.stringify(fileIds)}`,
    '',
    'Sources (newest first):',
    '',
    ...input.sources.map(renderSource),
  ].join('\n');
}

/** Tokens the instructions and the header take, before any source. */
export function promptOverheadTokens(
  tenantId: string,
  count: (text: string) => number = countTokens,
): number {
  // File ids are listed in the header: reserve room for many of them.
  return (
    count(DREAM_SYSTEM_PROMPT) +
    count(dreamUserPrompt({ tenantId, analysisId: '0'.repeat(36), sources: [] })) +
    2048
  );
}

/** The token budget for sources: context − answer budget − instructions, with a 5 % safety margin. */
export function sourceBudget(contextTokens: number, maxOutputTokens: number, overheadTokens: number): number {
  return Math.max(0, Math.floor((contextTokens - maxOutputTokens - overheadTokens) * 0.95));
}
