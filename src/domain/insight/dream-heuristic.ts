/**
 * The rule-based dream analysis (no model): sentences that say "goal", "want to", "plan to" become
 * goals; "worried", "afraid", "concerned" (or a "Risk:" line) fears; "need to", "TODO", "follow up"
 * tasks; a date or time next to a meeting word an appointment; capitalised names in one sentence a
 * relationship. Categories, timelines and urgencies come from keyword lists, in the original DreamModel's
 * words. Every output says it is heuristic (generated_by and the summary). Deterministic: same sources,
 * same answer.
 *
 * Precise rather than plentiful (scored against labelled samples: test/fixtures/dreaming/labels.json,
 * `make bench`): who speaks ("user:", "Sarah Chen:") is not part of what is said, a question or a line
 * that only introduces a list states nothing, a conditional or someone else's requirement is no task of
 * the writer's, and a few items per source and per field are kept, duplicates once.
 */

import type { DreamSource } from './dream-input.js';
import type {
  Appointment,
  DreamModel,
  PendingTask,
  PersonalDream,
  PersonalFear,
  PersonalGoal,
} from './dream-model.js';

type Level = PersonalGoal['priority'];

/** Items per field in one analysis, and per field from one source (so one long chat cannot fill a field). */
const MAX_ITEMS = 10;
const MAX_PER_SOURCE = 4;

const RULES = {
  goal: /\b(goals?|objectives?|aim to|want to|plan to|planning to|intend to|hope to|targeted for)\b/i,
  dream: /\b(dream(?:s|ing)?|someday|one day|would love to|aspir(?:e|ation)s?|long[- ]term vision)\b/i,
  fear: /\b(worr(?:ied|y|ies|ying)|afraid|fears?|concern(?:ed|s)?|anxious|nervous|scared|stress(?:ed|ful)?)\b/i,
  task: /\b(need to|needs to|should (?:check|follow|ping)|let's plan a|will loop in|i'll loop in|have to|has to|must|todo|to-do|to do:|action items?|follow[- ]up|remember to|should (?:probably )?(?:get|check|ping|review|finish|send|schedule))\b|TODO/i,
  meeting:
    /\b(meeting|call|standup|stand-up|appointment|review|demo|sync|lunch|dinner|interview|deadline|due|launch|presentation|workshop|session)\b/i,
  urgent:
    /\b(urgent|asap|critical|today|immediately|tomorrow|end of (?:the )?(?:day|week)|deadline|blocker)\b/i,
  /** A label that says what the rest of the line is ("Risk: data consistency"). */
  labelledFear: /^(?:risks?|concerns?|worr(?:y|ies)|fears?)\s*:\s*/i,
  /** Words of a rule that name something else: a design principle, a means rather than an aim. */
  notFear: /\bseparation of concerns\b/i,
  notGoal: /\bplann?(?:ing)? to (?:use|implement|adopt|build on)\b/i,
  /** A condition, a hypothetical or a capability someone requires: no task of the writer's. */
  notTask: /^(?:if|when|unless)\b|\b(?:'d|would) need to\b|\bneed to be able to\b/i,
  severe: /\b(very|really|seriously|major|big|critical|serious|significant)\b/i,
};

const WORK =
  /\b(work|job|career|promotion|team|project|clients?|contract|launch|product|engineer\w*|company|business)\b/i;
/** A category by the first matching keyword list (the original's examples), else the fallback. */
const GOAL_CATEGORIES: Array<[string, RegExp]> = [
  ['health', /\b(health|exercise|gym|running|sleep|diet|doctor|therapy|meditat\w*|stress)\b/i],
  ['financial', /\b(money|budget|sav(?:e|ing)|invest\w*|salary|costs?|financ\w*|revenue|debt)\b/i],
  ['learning', /\b(learn\w*|stud(?:y|ying)|course|books?|skills?|certif\w*|read(?:ing)?)\b/i],
  ['relationships', /\b(family|friends?|partner|wife|husband|kids|children|relationships?)\b/i],
  ['career', WORK],
];
const DREAM_CATEGORIES: Array<[string, RegExp]> = [
  ['career', WORK],
  ['creative', /\b(write|writing|paint\w*|music|art|design|create|creative|novel)\b/i],
  ['impact', /\b(help|impact|change|community|world|mentor\w*|teach\w*)\b/i],
];
const TASK_CATEGORIES: Array<[string, RegExp]> = [
  ['administrative', /\b(tax\w*|forms?|renew\w*|insurance|bills?|invoices?|legal|paperwork|sign\w*)\b/i],
  ['work', WORK],
];

function categoryOf(sentence: string, categories: Array<[string, RegExp]>, fallback: string): string {
  return categories.find(([, rule]) => rule.test(sentence))?.[0] ?? fallback;
}

function timelineOf(sentence: string): PersonalDream['timeline'] {
  if (/\b(this (?:week|month)|soon|next (?:week|month)|tomorrow)\b/i.test(sentence)) return 'short-term';
  if (/\b(this year|next year|Q[1-4]|within (?:a|the) year|months?)\b/i.test(sentence)) return 'medium-term';
  return 'long-term';
}

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

/**
 * Who is speaking or what a line is labelled as, in front of what is said: a chat role (`user:`), a
 * speaker (`Sarah Chen:`, `Self:`) or a short label (`Next Steps:`). Up to three capitalised words.
 */
const SPEAKER = /^(?:user|assistant|system|tool|[A-Z][\w'.&-]*(?: [A-Z&][\w'.&-]*){0,2})\s*:\s+/;

/** Plain sentences of a text: markdown markers, timestamps and speakers removed, split at sentence ends and lines. */
export function sentencesOf(text: string): string[] {
  return text
    .replace(/\*\*\[[^\]]*\]\*\*/g, ' ')
    .replace(/\[\d{1,2}:\d{2}(?::\d{2})?\]/g, ' ')
    .replace(/\[END[^\]]*\]/g, ' ')
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

/** A sentence without its speaker; a "Risk:"-style label is kept (it says what the sentence is). */
function withoutSpeaker(sentence: string): string {
  return RULES.labelledFear.test(sentence) ? sentence : sentence.replace(SPEAKER, '');
}

/** A question, or a line that only introduces what follows ("the main concerns are:"), states nothing. */
function statesNothing(sentence: string): boolean {
  return /[?:]\s*$/.test(sentence);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

function titleOf(sentence: string): string {
  return clip(sentence.replace(RULES.labelledFear, '').replace(/[.!?]+$/, ''), 120);
}

interface Found {
  sentence: string;
  source: string;
}

/** Letters and digits only: "Follow-up with Acme" and "follow up with Acme." are one item. */
function sameness(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '');
}

/** Each item once (by its title's letters and digits), at most MAX_PER_SOURCE per source, MAX_ITEMS in all. */
function uniqueBy<T extends { source: string }>(items: T[], titleOf: (item: T) => string): T[] {
  const seen = new Set<string>();
  const perSource = new Map<string, number>();
  return items
    .filter((item) => {
      const key = sameness(titleOf(item));
      const fromSource = perSource.get(item.source) ?? 0;
      if (seen.has(key) || fromSource >= MAX_PER_SOURCE) return false;
      seen.add(key);
      perSource.set(item.source, fromSource + 1);
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
    for (const said of sentencesOf(source.text)) {
      const sentence = withoutSpeaker(said);
      const hit = { sentence, source: source.name };
      const statement = !statesNothing(sentence);
      if (statement && RULES.goal.test(sentence) && !RULES.notGoal.test(sentence)) found.goal.push(hit);
      if (statement && RULES.dream.test(sentence)) found.dream.push(hit);
      if (
        statement &&
        (RULES.labelledFear.test(sentence) || RULES.fear.test(sentence)) &&
        !RULES.notFear.test(sentence)
      )
        found.fear.push(hit);
      if (statement && RULES.task.test(sentence) && !RULES.notTask.test(sentence)) found.task.push(hit);
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
  const priority = (s: string): Level => (RULES.urgent.test(s) ? 'high' : 'medium');
  const dateIn = (s: string) => DATE.exec(s)?.[1] ?? null;
  const namesIn = (s: string) => [...new Set([...s.matchAll(NAME)].map((m) => m[1] as string))];
  const goals = uniqueBy(
    found.goal.map(
      (f): PersonalGoal => ({
        goal: titleOf(f.sentence),
        category: categoryOf(f.sentence, GOAL_CATEGORIES, 'personal'),
        priority: priority(f.sentence),
        deadline: dateIn(f.sentence),
        progress_indicators: [],
        source: f.source,
      }),
    ),
    (g) => g.goal,
  );
  const dreams = uniqueBy(
    found.dream.map(
      (f): PersonalDream => ({
        dream: titleOf(f.sentence),
        category: categoryOf(f.sentence, DREAM_CATEGORIES, 'lifestyle'),
        timeline: timelineOf(f.sentence),
        actionability: dateIn(f.sentence) ? 'concrete' : 'aspirational',
        source: f.source,
      }),
    ),
    (d) => d.dream,
  );
  const fears = uniqueBy(
    found.fear.map(
      (f): PersonalFear => ({
        fear: titleOf(f.sentence),
        category: categoryOf(f.sentence, GOAL_CATEGORIES, 'personal'),
        severity: RULES.severe.test(f.sentence) ? 'high' : 'medium',
        related_goals: [],
        source: f.source,
      }),
    ),
    (f) => f.fear,
  );
  const tasks = uniqueBy(
    found.task.map(
      (f): PendingTask => ({
        task: titleOf(f.sentence),
        category: categoryOf(f.sentence, TASK_CATEGORIES, 'personal'),
        urgency: RULES.urgent.test(f.sentence) ? 'urgent' : dateIn(f.sentence) ? 'soon' : 'sometime',
        deadline: dateIn(f.sentence),
        dependencies: namesIn(f.sentence),
        source: f.source,
      }),
    ),
    (t) => t.task,
  );
  const appointments = uniqueBy(
    found.appointment.map((f): Appointment => {
      const when = [dateIn(f.sentence), TIME.exec(f.sentence)?.[1]].filter(Boolean).join(' ');
      return {
        event: titleOf(f.sentence),
        date_time: when || null,
        location: null,
        attendees: namesIn(f.sentence),
        preparation_needed: [],
        source: f.source,
      };
    }),
    (a) => a.event,
  );
  const themes = [...words.entries()]
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .slice(0, 6)
    .map(([word]) => word);
  // Keyword rules find names side by side, not how they relate: a low confidence says so.
  const relationships = [...pairs.values()]
    .sort((x, y) => `${x.a}|${x.b}`.localeCompare(`${y.a}|${y.b}`))
    .slice(0, MAX_ITEMS)
    .map((p) => ({
      entity1: p.a,
      entity2: p.b,
      relationship_type: 'mentioned_together',
      confidence: 0.3,
      evidence: p.evidence,
    }));
  const urgentTasks = tasks.filter((t) => t.urgency === 'urgent');
  const priorityActions = (urgentTasks.length > 0 ? urgentTasks : tasks)
    .slice(0, 3)
    .map((t) => `${t.task} (pending task from ${t.source}${t.deadline ? `, due ${t.deadline}` : ''})`);
  const recommendations = fears
    .slice(0, 3)
    .map(
      (f) =>
        `Address: ${clip(f.fear, 70)}: turn this worry (stated in ${f.source}) into a concrete next step or a question for someone who can help.`,
    );
  if (tasks.length > 5) {
    recommendations.push(
      `Triage the pending tasks: ${tasks.length} were found; pick the three that matter this week.`,
    );
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
    // Keyword rules find candidates, not meaning: a low, fixed confidence says so. Completeness by the
    // original's rule: both chat sessions and documents, or only one kind.
    metrics: {
      total_documents_analyzed: sessions + resources,
      confidence_score: 0.3,
      data_completeness: sessions > 0 && resources > 0 ? 0.9 : sessions + resources > 0 ? 0.5 : 0,
    },
    source_file_ids: [...new Set(input.sources.flatMap((s) => (s.fileId ? [s.fileId] : [])))],
  };
}
