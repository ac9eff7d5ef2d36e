/**
 * The rule-based dream analysis (no model): sentences that say "goal", "want to", "plan to" become
 * goals; "worried", "afraid", "concerned" fears; "need to", "TODO", "follow up" tasks; a date or time
 * next to a meeting word an appointment; capitalised names in one sentence a relationship. Every output
 * says it is heuristic (generated_by and the summary). Deterministic: same sources, same answer.
 */

import type { DreamSource } from './dream-input.js';
import type { DreamModel } from './dream-model.js';

const MAX_ITEMS = 20;

const RULES = {
  goal: /\b(goals?|objectives?|aim to|want to|plan to|planning to|intend to|hope to|target(?:ing|ed)? )\b/i,
  dream: /\b(dream(?:s|ing)?|someday|one day|would love to|aspir(?:e|ation)s?|long[- ]term vision)\b/i,
  fear: /\b(worr(?:ied|y|ies|ying)|afraid|fears?|concern(?:ed|s)?|anxious|nervous|scared|stress(?:ed|ful)?)\b/i,
  task: /\b(need to|needs to|have to|has to|must|todo|to-do|to do:|action items?|follow[- ]up|remember to|should (?:probably )?(?:get|check|ping|review|finish|send|schedule))\b|TODO/i,
  meeting:
    /\b(meeting|call|standup|stand-up|appointment|review|demo|sync|lunch|dinner|interview|deadline|due|launch|presentation|workshop|session)\b/i,
  urgent:
    /\b(urgent|asap|critical|today|immediately|tomorrow|end of (?:the )?(?:day|week)|deadline|blocker)\b/i,
  severe: /\b(very|really|seriously|major|big|critical|serious|significant)\b/i,
};

const MONTHS =
  '(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)';
const DATE = new RegExp(
  `\\b(\\d{4}-\\d{2}-\\d{2}|${MONTHS}\\.? \\d{1,2}(?:st|nd|rd|th)?(?:,? \\d{4})?|\\d{1,2} ${MONTHS}(?: \\d{4})?|(?:next |this )?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|tomorrow|end of (?:the )?(?:week|month)|Q[1-4](?: \\d{4})?)\\b`,
  'i',
);
const TIME = /\b(\d{1,2}(?::\d{2})? ?(?:AM|PM|am|pm)|\d{1,2}:\d{2})\b/;
const NAME = /\b([A-Z][a-z]+(?: [A-Z][a-z]+| Corp| Inc| Ltd)+)\b/g;

const STOPWORDS = new Set(
  'that this with from have will been they their there what when which would about could should into also than then them were your just like more some only over very much need want make time think going really well good most other these those first being after before while where because through week today said does done each many such here every still back know project'.split(
    ' ',
  ),
);

/** Plain sentences of a text: markdown markers and timestamps removed, split at sentence ends and lines. */
export function sentencesOf(text: string): string[] {
  return text
    .replace(/\*\*\[[^\]]*\]\*\*/g, ' ')
    .replace(/\[\d{1,2}:\d{2}(?::\d{2})?\]/g, ' ')
    .replace(/[*_`#>|]+/g, ' ')
    .split(/\n+|(?<=[.!?])\s+/)
    .map((s) =>
      s
        .replace(/^\s*(?:[-+]|\d+[.)])\s+/, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((s) => s.length >= 12 && /[a-z]/i.test(s));
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

function titleOf(sentence: string): string {
  return clip(sentence.replace(/[.!?]+$/, ''), 90);
}

interface Found {
  sentence: string;
  source: string;
}

function uniqueByTitle<T extends { title: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items
    .filter((item) => {
      const key = item.title.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, MAX_ITEMS);
}

export function heuristicDream(input: {
  tenantId: string;
  analysisId: string;
  sources: DreamSource[];
}): DreamModel {
  const found: Record<'goal' | 'dream' | 'fear' | 'task' | 'appointment', Found[]> = {
    goal: [],
    dream: [],
    fear: [],
    task: [],
    appointment: [],
  };
  const words = new Map<string, number>();
  const pairs = new Map<string, { a: string; b: string; evidence: string }>();
  for (const source of input.sources) {
    for (const sentence of sentencesOf(source.text)) {
      const hit = { sentence, source: source.name };
      if (RULES.goal.test(sentence)) found.goal.push(hit);
      if (RULES.dream.test(sentence)) found.dream.push(hit);
      if (RULES.fear.test(sentence)) found.fear.push(hit);
      if (RULES.task.test(sentence)) found.task.push(hit);
      if ((DATE.test(sentence) || TIME.test(sentence)) && RULES.meeting.test(sentence))
        found.appointment.push(hit);
      for (const word of sentence.toLowerCase().match(/[a-z][a-z-]{3,}/g) ?? []) {
        if (!STOPWORDS.has(word)) words.set(word, (words.get(word) ?? 0) + 1);
      }
      const names = [...new Set([...sentence.matchAll(NAME)].map((m) => m[1] as string))];
      for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
          const [a, b] = [names[i] as string, names[j] as string].sort();
          const key = `${a}|${b}`;
          if (!pairs.has(key))
            pairs.set(key, { a: a as string, b: b as string, evidence: clip(sentence, 200) });
        }
      }
    }
  }
  const priority = (s: string) => (RULES.urgent.test(s) ? 'high' : 'medium') as 'high' | 'medium';
  const dateIn = (s: string) => DATE.exec(s)?.[1] ?? null;
  const goals = uniqueByTitle(
    found.goal.map((f) => ({
      title: titleOf(f.sentence),
      description: clip(f.sentence, 400),
      target_date: dateIn(f.sentence),
      priority: priority(f.sentence),
      source: f.source,
    })),
  );
  const dreams = uniqueByTitle(
    found.dream.map((f) => ({
      title: titleOf(f.sentence),
      description: clip(f.sentence, 400),
      source: f.source,
    })),
  );
  const fears = uniqueByTitle(
    found.fear.map((f) => ({
      title: titleOf(f.sentence),
      description: clip(f.sentence, 400),
      severity: (RULES.severe.test(f.sentence) ? 'high' : 'medium') as 'high' | 'medium',
      source: f.source,
    })),
  );
  const tasks = uniqueByTitle(
    found.task.map((f) => ({
      title: titleOf(f.sentence),
      description: clip(f.sentence, 400),
      due_date: dateIn(f.sentence),
      priority: priority(f.sentence),
      source: f.source,
    })),
  );
  const appointments = uniqueByTitle(
    found.appointment.map((f) => ({
      title: titleOf(f.sentence),
      date: dateIn(f.sentence),
      time: TIME.exec(f.sentence)?.[1] ?? null,
      participants: [...new Set([...f.sentence.matchAll(NAME)].map((m) => m[1] as string))],
      source: f.source,
    })),
  );
  const themes = [...words.entries()]
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .slice(0, 6)
    .map(([word]) => word);
  const relationships = [...pairs.values()]
    .sort((x, y) => `${x.a}|${x.b}`.localeCompare(`${y.a}|${y.b}`))
    .slice(0, MAX_ITEMS)
    .map((p) => ({ entity: p.a, related_to: p.b, relationship: 'mentioned together', evidence: p.evidence }));
  const urgentTasks = tasks.filter((t) => t.priority === 'high');
  const priorityActions = (urgentTasks.length > 0 ? urgentTasks : tasks).slice(0, 3).map((t) => ({
    action: t.title,
    reason: `pending task from ${t.source}${t.due_date ? `, due ${t.due_date}` : ''}`,
    urgency: t.priority,
  }));
  const recommendations = fears.slice(0, 3).map((f) => ({
    title: `Address: ${clip(f.title, 70)}`,
    description: `Turn this worry into a concrete next step or a question for someone who can help.`,
    rationale: `stated as a concern in ${f.source}`,
  }));
  if (tasks.length > 5) {
    recommendations.push({
      title: 'Triage the pending tasks',
      description: `${tasks.length} pending tasks were found: pick the three that matter this week.`,
      rationale: 'many open tasks at once',
    });
  }
  const sessions = input.sources.filter((s) => s.kind === 'session').length;
  const resources = input.sources.length - sessions;
  const summary =
    `[heuristic] Rule-based analysis (no language model) of ${sessions} session(s) and ${resources} resource(s): ` +
    `${goals.length} goal(s), ${dreams.length} dream(s), ${fears.length} fear(s), ${tasks.length} pending task(s), ` +
    `${appointments.length} appointment(s).${themes.length > 0 ? ` Frequent themes: ${themes.join(', ')}.` : ''}`;
  return {
    user_id: input.tenantId,
    analysis_id: input.analysisId,
    generated_by: 'heuristic',
    executive_summary: summary,
    key_themes: themes,
    entity_relationships: relationships,
    goals,
    dreams,
    fears,
    pending_tasks: tasks,
    appointments,
    recommendations,
    priority_actions: priorityActions,
    // Keyword rules find candidates, not meaning: a low, fixed confidence says so.
    metrics: { sessions_analyzed: sessions, resources_analyzed: resources, confidence: 0.3 },
    source_file_ids: [...new Set(input.sources.flatMap((s) => (s.fileId ? [s.fileId] : [])))],
  };
}
