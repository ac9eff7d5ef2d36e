/**
 * Rule-based moments for the offline `heuristic` LLM backend: deterministic, no model, and honest about
 * it (the summary starts with "Heuristic", the content says no language model read the words, and the
 * activity records metadata.generated_by = "heuristic").
 *
 * Rules, per group window:
 * - Moments tile the window; a new one begins at a pause (a silence of PAUSE_MS or more between two
 *   segments) or a topic shift (the keyword topics of the segments before and after share little),
 *   strongest first, 1–3 per 10 minutes of window, each holding at least MIN_SEGMENTS segments and
 *   MIN_MOMENT_MS of recording.
 * - present_persons: exactly the transcript speakers who speak in the moment.
 * - topic_tags from keyword lists (then frequent words), emotion_tags from a small lexicon (then
 *   defaults per moment type), moment_type from the number of speakers and keywords.
 * - location and background sounds from the transcript's environment.
 */
import type { MomentBuilderOutput, MomentDraft, MomentType, PresentPerson } from './moment-model.js';
import { EMOTION_TAGS, TOPIC_TAGS } from './moment-model.js';
import type { Transcript, TranscriptSegment } from './transcript.js';
import { speakersOf } from './transcript.js';

export const PAUSE_MS = 20_000;
export const MIN_SEGMENTS = 3;
/** A moment spans at least this much of the recording: a 20-second exchange is part of a moment. */
export const MIN_MOMENT_MS = 120_000;
const TEN_MINUTES_MS = 600_000;
const SHIFT_CONTEXT = 3;

const TOPICS: readonly [string, RegExp][] = [
  ['daily-standup', /\bstand-?ups?\b/i],
  ['sprint-progress', /\bsprints?\b/i],
  ['blockers', /\bblock(er|ers|ed|ing)\b|\bwaiting on\b/i],
  ['pair-programming', /\bpair(ing)?\b/i],
  ['code-review', /\b(code )?reviews?\b|\bPRs?\b/i],
  ['refactoring', /\brefactor\w*/i],
  ['architecture', /\barchitecture\b|\bdesign\b|\bcomponents?\b|\bpatterns?\b/i],
  ['rate-limiting', /\brate[- ]limit\w*/i],
  ['redis', /\bredis\b/i],
  ['database', /\bdatabase\b|\bschema\b|\bmigrations?\b|\bsql\b/i],
  ['api-design', /\bapis?\b|\bendpoints?\b|\bversioning\b/i],
  ['debugging', /\bbugs?\b|\bdebug\w*|\bfalse positives?\b|\btrac(e|ing)\b/i],
  ['testing', /\btests?\b|\btesting\b|\btest suite\b/i],
  ['deployment', /\bdeploy\w*|\bstaging\b|\bproduction\b/i],
  ['performance', /\blatency\b|\bperformance\b|\bexpensive\b|\bslow\w*/i],
  ['resilience', /\bcircuit breaker\b|\bfail[- ]open\b|\bfallback\b|\bresilien\w*/i],
  ['dashboard', /\bdashboards?\b|\bcharts?\b|\bcharting\b/i],
  ['react-hooks', /\bhooks?\b|\buse[A-Z]\w+/],
  ['authentication', /\bauth\w*/i],
  ['timestamp-handling', /\btimestamps?\b|\bmilliseconds\b|\btime ?zones?\b/i],
  ['scripting', /\blua\b|\bscripts?\b/i],
  [
    'travel-planning',
    /\btrips?\b|\btravel\w*|\bflights?\b|\bvacation\b|\bholiday\b|\bbarcelona\b|\bportugal\b|\biceland\b/i,
  ],
  ['dinner', /\bdinner\b|\bfood\b|\bthai\b|\brestaurant\b|\blunch\b|\bcook\w*/i],
  ['work-debrief', /\bclients?\b|\bpresentations?\b|\bproposals?\b|\bhow was your day\b/i],
  ['personal', /\bfamily\b|\bpartner\b|\bweekend\b|\bfriends?\b|\bphotos\b/i],
  ['health', /\bgym\b|\bworkout\b|\bdoctor\b|\bsleep\w*/i],
  ['learning', /\blearn\w*|\bcourse\b|\btutorial\b|\bbooks?\b/i],
  ['planning', /\bplan\w*|\btomorrow\b|\bnext week\b|\bschedul\w*/i],
  ['finance', /\bbudget\w*|\bmoney\b|\bcosts?\b|\bprices?\b/i],
];

const EMOTIONS: readonly [string, RegExp][] = [
  ['focused', /\blet me\b|\bokay,? so\b|\bfocus\w*|\bfirst\b|\bnext\b/i],
  ['collaborative', /\bhelp\b|\bpair\b|\btogether\b|\bteam\b|\blet's\b/i],
  ['analytical', /\bthink\w*|\bmaybe\b|\balgorithm\b|\bbecause\b|\btrace\b|\bactually\b/i],
  ['frustrated', /\bweird\b|\bannoying\b|\bfrustrat\w*|\bstuck\b|\boh no\b|\bbroken\b|\bugh\b/i],
  ['happy', /\bgreat\b|\bnice\b|\bawesome\b|\bamazing\b|\blove\b|\bglad\b|\bperfect\b|\bcool\b/i],
  ['relieved', /\bfinally\b|\brelie\w*|\bphew\b|\bgreen\b|\bpassing\b|\bfixed\b/i],
  ['tired', /\btired\b|\bexhaust\w*|\blong day\b|\bsleepy\b/i],
  ['worried', /\bworr\w*|\bconcern\w*|\brisk\w*|\bafraid\b/i],
  ['excited', /\bexcit\w*|\bcan't wait\b|\bwow\b/i],
  ['relaxed', /\brelax\w*|\bchill\b|\banyway\b|\bno rush\b/i],
  ['proud', /\bproud\b|\bnailed\b|\bshipped\b|\ba win\b/i],
];

const DEFAULT_EMOTIONS: Record<MomentType, string[]> = {
  conversation: ['engaged', 'relaxed'],
  meeting: ['focused', 'collaborative'],
  reflection: ['thoughtful', 'focused'],
  planning: ['focused', 'analytical'],
  problem_solving: ['focused', 'determined'],
  learning: ['curious', 'focused'],
  social: ['relaxed', 'happy'],
  observation: ['attentive', 'calm'],
  accomplishment: ['satisfied', 'proud'],
};

const CATEGORY: Record<MomentType, string> = {
  conversation: 'conversation',
  meeting: 'meeting',
  reflection: 'reflection',
  planning: 'planning',
  problem_solving: 'work',
  learning: 'learning',
  social: 'social',
  observation: 'observation',
  accomplishment: 'accomplishment',
};

const TYPE_LABEL: Record<MomentType, string> = {
  conversation: 'Conversation',
  meeting: 'Meeting',
  reflection: 'Reflection',
  planning: 'Planning session',
  problem_solving: 'Problem solving',
  learning: 'Learning',
  social: 'Social time',
  observation: 'Observation',
  accomplishment: 'Accomplishment',
};

const STOP_WORDS = new Set(
  `about above after again against because before being below between could doing during every first
  gonna having going might other should their there these thing things think those through today under
  until where which while would yeah really actually probably something anything everyone everything
  maybe right still doesn didn wasn isn aren haven hasn couldn shouldn wouldn we're they're that's what's
  there's let's gotta sounds pretty little course again better great thanks yesterday tomorrow three
  seven eight hours minutes seconds point`.split(/\s+/),
);

function count(texts: readonly string[], pattern: RegExp): number {
  const global = new RegExp(
    pattern.source,
    pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`,
  );
  return texts.reduce((n, text) => n + (text.match(global)?.length ?? 0), 0);
}

/** Labels from `lexicon` found in `texts`, most frequent first (ties in list order). */
function ranked(texts: readonly string[], lexicon: readonly [string, RegExp][]): string[] {
  return lexicon
    .map(([label, pattern], order) => ({ label, hits: count(texts, pattern), order }))
    .filter((entry) => entry.hits > 0)
    .sort((a, b) => b.hits - a.hits || a.order - b.order)
    .map((entry) => entry.label);
}

function topicsOf(segments: readonly TranscriptSegment[]): Set<string> {
  return new Set(
    ranked(
      segments.map((s) => s.text),
      TOPICS,
    ),
  );
}

/** Frequent content words as kebab-case tags, for transcripts the keyword lists do not cover. */
function frequentWords(segments: readonly TranscriptSegment[], exclude: Set<string>): string[] {
  const counts = new Map<string, number>();
  for (const segment of segments)
    for (const word of segment.text.toLowerCase().match(/[a-z]{5,}/g) ?? [])
      if (!STOP_WORDS.has(word) && !exclude.has(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([w]) => w);
}

function momentType(segments: readonly TranscriptSegment[], speakerCount: number): MomentType {
  const texts = segments.map((s) => s.text);
  const hits = (pattern: RegExp) => count(texts, pattern);
  const meeting = hits(/\bstand-?up\b|\bmeeting\b|\bagenda\b|\bsprint\b|\bblockers?\b|\breview\b/i);
  const social = hits(/\bdinner\b|\btrip\b|\bweekend\b|\bparty\b|\bmovie\b|\bfriends?\b|\bbirthday\b/i);
  // A group talking about dinner and trips is social time; two people doing so is a conversation.
  if (speakerCount >= 3) return social >= 3 && social > meeting ? 'social' : 'meeting';
  if (speakerCount === 2) return meeting >= 1 ? 'meeting' : 'conversation';
  const problem = hits(/\bbugs?\b|\bdebug\w*|\bfix\w*|\berrors?\b|\bfalse positives?\b/i);
  const planning = hits(/\bplan\w*|\bdesign\b|\barchitecture\b|\bthinking\b|\bshould\b|\bcould\b/i);
  const done = hits(/\bfinished\b|\bshipped\b|\bcompleted\b|\bdone\b/i);
  const learning = hits(/\blearn\w*|\bcourse\b|\btutorial\b|\breading\b/i);
  const best = Math.max(problem, planning, done, learning);
  if (best < 2) return 'reflection';
  if (problem === best) return 'problem_solving';
  if (planning === best) return 'planning';
  if (learning === best) return 'learning';
  return 'accomplishment';
}

/** `2025-01-13T09:00:09Z`, with milliseconds only when the instant has them. */
export function isoInstant(ms: number): string {
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? iso.replace('.000Z', 'Z') : iso;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function names(persons: readonly PresentPerson[]): string {
  const labels = persons.map((p) => p.user_label);
  if (labels.length <= 1) return labels.join('');
  return `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
}

function quote(text: string, max = 140): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length <= max ? clean : `${clean.slice(0, max - 1).trimEnd()}…`;
}

/** Where the moments of a window start: indexes into `segments` (always 0 first). */
export function momentStarts(
  segments: readonly TranscriptSegment[],
  windowStartMs: number,
  windowEndMs: number,
): number[] {
  const units = Math.max(1, (windowEndMs - windowStartMs) / TEN_MINUTES_MS);
  const maxMoments = Math.max(1, Math.floor(3 * units));
  const minMoments = Math.max(1, Math.floor(units));
  const candidates: { at: number; score: number }[] = [];
  for (let j = MIN_SEGMENTS; j <= segments.length - MIN_SEGMENTS; j++) {
    const before = segments[j - 1] as TranscriptSegment;
    const after = segments[j] as TranscriptSegment;
    const pause = after.startMs - before.endMs;
    const left = topicsOf(segments.slice(Math.max(0, j - SHIFT_CONTEXT), j));
    const right = topicsOf(segments.slice(j, j + SHIFT_CONTEXT));
    const shared = [...left].filter((t) => right.has(t)).length;
    const union = new Set([...left, ...right]).size;
    const shift = left.size > 0 && right.size > 0 ? 1 - shared / union : 0;
    const score = (pause >= PAUSE_MS ? pause / 1000 : 0) + (shift >= 0.75 ? 10 * shift : 0);
    candidates.push({ at: j, score });
  }
  const starts = [0];
  const startOf = (at: number) => (segments[at] as TranscriptSegment).startMs;
  const fits = (at: number) =>
    starts.every(
      (s) => Math.abs(s - at) >= MIN_SEGMENTS && Math.abs(startOf(s) - startOf(at)) >= MIN_MOMENT_MS,
    );
  const ordered = [...candidates].sort((a, b) => b.score - a.score || a.at - b.at);
  for (const c of ordered) {
    if (starts.length >= maxMoments) break;
    if (c.score > 0 && fits(c.at)) starts.push(c.at);
  }
  // Long windows get at least one moment per ten minutes: cut at the longest silences left.
  const byPause = [...candidates].sort((a, b) => {
    const gap = (c: { at: number }) =>
      (segments[c.at] as TranscriptSegment).startMs - (segments[c.at - 1] as TranscriptSegment).endMs;
    return gap(b) - gap(a) || a.at - b.at;
  });
  for (const c of byPause) {
    if (starts.length >= minMoments) break;
    if (fits(c.at)) starts.push(c.at);
  }
  return starts.sort((a, b) => a - b);
}

function momentOf(
  transcript: Transcript,
  segments: readonly TranscriptSegment[],
  startMs: number,
  endMs: number,
): MomentDraft {
  const persons: PresentPerson[] = speakersOf(transcript, segments).map((s) => ({
    fingerprint_id: s.fingerprint_id,
    user_id: s.user_id,
    user_label: s.user_label,
  }));
  const texts = segments.map((s) => s.text);
  const type = momentType(segments, persons.length);

  const names_ = new Set(persons.flatMap((p) => p.user_label.toLowerCase().split(/\s+/)));
  const topics = ranked(texts, TOPICS).slice(0, TOPIC_TAGS.max);
  for (const word of frequentWords(segments, names_)) {
    if (topics.length >= TOPIC_TAGS.min) break;
    if (!topics.includes(word)) topics.push(word);
  }
  for (const filler of [type.replace('_', '-'), 'voice-recording', 'daily-life']) {
    if (topics.length >= TOPIC_TAGS.min) break;
    if (!topics.includes(filler)) topics.push(filler);
  }
  const emotions = ranked(texts, EMOTIONS).slice(0, EMOTION_TAGS.max);
  for (const filler of DEFAULT_EMOTIONS[type]) {
    if (emotions.length >= EMOTION_TAGS.min) break;
    if (!emotions.includes(filler)) emotions.push(filler);
  }

  const who = names(persons);
  const talk = speakersOf(transcript, segments)
    .map((speaker) => {
      const own = segments.filter((s) => s.speaker_id === speaker.speaker_id);
      const seconds = Math.round(own.reduce((n, s) => n + s.duration_seconds, 0));
      return `${speaker.user_label} spoke ${own.length} time${own.length === 1 ? '' : 's'} (${seconds} s)`;
    })
    .join(', ');
  const longest = [...segments]
    .sort((a, b) => b.text.length - a.text.length || a.startMs - b.startMs)
    .slice(0, 3);
  const lines = longest
    .sort((a, b) => a.startMs - b.startMs)
    .map((s) => {
      const label =
        transcript.speakers.find((p) => p.speaker_id === s.speaker_id)?.user_label ?? s.speaker_id;
      return `${label}: "${quote(s.text)}"`;
    });
  const topicWords = topics.slice(0, 3).map((t) => t.replaceAll('-', ' '));
  const label = TYPE_LABEL[type];
  return {
    name: `${label} ${persons.length > 1 ? 'with' : 'by'} ${who}: ${topicWords.slice(0, 2).join(', ')}`,
    content:
      `Rule-based moment from the heuristic provider (no language model read this transcript). ` +
      `${segments.length} segment${segments.length === 1 ? '' : 's'} between ${clock(startMs)} and ${clock(endMs)} UTC; ` +
      `${talk}. Topics by keyword: ${topics.join(', ')}. Longest lines: ${lines.join(' ')}`,
    summary: `Heuristic (rule-based, no model): ${label.toLowerCase()} ${persons.length > 1 ? 'with' : 'by'} ${who} about ${topicWords.join(', ')}.`,
    category: CATEGORY[type],
    resource_timestamp: isoInstant(startMs),
    resource_ends_timestamp: isoInstant(endMs),
    moment_type: type,
    emotion_tags: emotions,
    topic_tags: topics,
    present_persons: persons,
    location: transcript.environment.location ?? null,
    background_sounds: transcript.environment.background_sounds ?? null,
  };
}

/** The heuristic answer for one group: moments tiling [windowStartMs, windowEndMs]. */
export function heuristicMoments(
  transcript: Transcript,
  segments: readonly TranscriptSegment[],
  window: { windowStartMs: number; windowEndMs: number },
): MomentBuilderOutput {
  if (segments.length === 0) throw new RangeError('a group without segments has no moments');
  const starts = momentStarts(segments, window.windowStartMs, window.windowEndMs);
  const moments = starts.map((at, k) => {
    const next = starts[k + 1];
    const own = segments.slice(at, next);
    const startMs = k === 0 ? window.windowStartMs : (own[0] as TranscriptSegment).startMs;
    const endMs = next === undefined ? window.windowEndMs : (segments[next] as TranscriptSegment).startMs;
    return momentOf(transcript, own, startMs, endMs);
  });
  const kinds = [...new Set(moments.map((m) => TYPE_LABEL[m.moment_type].toLowerCase()))];
  return {
    moments,
    analysis_summary:
      `Heuristic (rule-based, no model): ${moments.length} moment${moments.length === 1 ? '' : 's'} between ` +
      `${clock(window.windowStartMs)} and ${clock(window.windowEndMs)} UTC (${kinds.join(', ')}).`,
  };
}
