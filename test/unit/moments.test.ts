/**
 * MomentBuilder's pure parts: the transcript format (errors name the field and the segment index),
 * token-aware grouping (whole segments only, within budget, windows tiling the transcript), the merge of
 * moments cut by a group border, the validator (each rule broken once), and the heuristic's answer for
 * every sample transcript.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { registerEvalCommand } from '../../src/cli/commands/eval.js';
import { countTokens } from '../../src/domain/chunking.js';
import { InvalidTranscriptError, NON_RETRYABLE_ERROR_TYPES } from '../../src/domain/errors.js';
import { isTranscriptUpload } from '../../src/domain/insight/build-moments.js';
import {
  groupSegments,
  mergeAcrossBorders,
  renderSegment,
  speakersWithin,
} from '../../src/domain/insight/moment-grouping.js';
import { heuristicMoments } from '../../src/domain/insight/moment-heuristic.js';
import { momentIdFor, momentsWorkflowId } from '../../src/domain/insight/moment-ids.js';
import {
  type MomentContext,
  type MomentDraft,
  MomentValidationError,
  momentBuilderSchema,
  validateMoment,
  validateMomentOutput,
} from '../../src/domain/insight/moment-model.js';
import { readMomentBuilderOutput } from '../../src/domain/insight/moment-output.js';
import { momentMessages } from '../../src/domain/insight/moment-prompt.js';
import {
  parseTranscript,
  parseTranscriptJson,
  type Transcript,
} from '../../src/domain/insight/transcript.js';
import { parseStorageEvent } from '../../src/domain/storage-event.js';
import { SAMPLES_DIR } from '../support/samples.js';

const MOMENTS_DIR = join(SAMPLES_DIR, 'moments');
const SAMPLE_INPUTS = readdirSync(MOMENTS_DIR)
  .filter((f) => f.endsWith('_input.json'))
  .sort();

function sampleJson(name = SAMPLE_INPUTS[0] as string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(MOMENTS_DIR, name), 'utf8'));
}

// biome-ignore lint/suspicious/noExplicitAny: each case breaks one field of the sample's JSON in place
function broken(change: (t: Record<string, any>) => void): Record<string, unknown> {
  const t = sampleJson();
  change(t);
  return t;
}

function transcriptError(value: unknown): string {
  try {
    parseTranscript(value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTranscriptError);
    return (error as Error).message;
  }
  throw new Error('expected InvalidTranscriptError');
}

describe('transcript format', () => {
  it('reads all five samples: segments in order, speakers with fingerprint and user', () => {
    expect(SAMPLE_INPUTS).toHaveLength(5);
    for (const name of SAMPLE_INPUTS) {
      const t = parseTranscript(sampleJson(name));
      expect(t.segments.length).toBeGreaterThan(10);
      expect(t.speakers.length).toBeGreaterThan(0);
      for (const s of t.speakers) expect(s.fingerprint_id).toMatch(/^fp_/);
      expect(t.endMs - t.startMs).toBeGreaterThan(590_000);
      expect(t.environment.location).toBeTruthy();
    }
  });

  it('names the field and the segment index of each error', () => {
    expect(transcriptError(broken((t) => delete t.start_timestamp))).toBe(
      'transcript start_timestamp: is missing',
    );
    expect(transcriptError(broken((t) => (t.end_timestamp = 'tomorrow')))).toMatch(
      /^transcript end_timestamp: must be an ISO 8601 time with a zone/,
    );
    expect(transcriptError(broken((t) => (t.segments[3].timestamp = '2025-01-13 09:00')))).toMatch(
      /^transcript segments\[3\]\.timestamp: must be an ISO 8601 time/,
    );
    expect(transcriptError(broken((t) => (t.segments[2].speaker_id = 'speaker_9')))).toMatch(
      /^transcript segments\[2\]\.speaker_id: "speaker_9" is not in the speakers list/,
    );
    expect(transcriptError(broken((t) => (t.segments[5].duration_seconds = -1)))).toMatch(
      /^transcript segments\[5\]\.duration_seconds: must be a number of seconds >= 0/,
    );
    expect(transcriptError(broken((t) => (t.segments[4].text = 42)))).toMatch(
      /^transcript segments\[4\]\.text: must be a string/,
    );
    expect(transcriptError(broken((t) => (t.segments[6].timestamp = '2025-01-13T08:59:00Z')))).toMatch(
      /^transcript segments\[6\]\.timestamp: .* lies outside start_timestamp\.\.end_timestamp/,
    );
    expect(transcriptError(broken((t) => (t.segments[7].timestamp = t.segments[1].timestamp)))).toMatch(
      /^transcript segments\[7\]\.timestamp: .* is before segments\[6\]\.timestamp/,
    );
    expect(transcriptError(broken((t) => (t.segments = [])))).toMatch(/^transcript segments: is empty/);
    expect(transcriptError(broken((t) => delete t.speakers[1].fingerprint_id))).toBe(
      'transcript speakers[1].fingerprint_id: is missing',
    );
    expect(transcriptError([1, 2])).toMatch(/^transcript \(document\): must be a JSON object/);
    expect(() => parseTranscriptJson('{"segments": [', 'transcripts/x.json')).toThrow(
      /^transcripts\/x\.json is not valid JSON/,
    );
  });

  it('is a non-retryable failure for Temporal', () => {
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('InvalidTranscriptError');
  });

  it('derives speakers from the segments when the transcript has no speakers list', () => {
    const t = parseTranscript(broken((t) => delete t.speakers));
    expect(t.speakers.map((s) => [s.speaker_id, s.user_label])).toEqual([
      ['speaker_0', 'Alex'],
      ['speaker_1', 'Jordan'],
      ['speaker_2', 'Sam'],
    ]);
  });
});

describe('grouping segments for the model', () => {
  const samples = SAMPLE_INPUTS.map((name) => parseTranscript(sampleJson(name)));

  it.each([40, 90, 250, 100_000])(
    'with a budget of %i tokens: whole segments, in order, within budget',
    (budget) => {
      for (const t of samples) {
        const groups = groupSegments(t, budget, countTokens);
        // Every segment in exactly one group, in order: nothing cut, nothing lost.
        expect(
          groups.flatMap((g) => Array.from({ length: g.last - g.first + 1 }, (_, k) => g.first + k)),
        ).toEqual(t.segments.map((_, i) => i));
        for (const g of groups) {
          const speakers = new Map(t.speakers.map((s) => [s.speaker_id, s]));
          const tokens = t.segments
            .slice(g.first, g.last + 1)
            .reduce((n, s) => n + countTokens(renderSegment(s, speakers.get(s.speaker_id))) + 1, 0);
          expect(g.tokens).toBe(tokens);
          // Over budget only when one segment alone is bigger.
          if (g.tokens > budget) expect(g.last).toBe(g.first);
        }
        // Windows tile the transcript: first starts at its start, each ends where the next begins.
        expect(groups[0]?.windowStartMs).toBe(t.startMs);
        expect(groups.at(-1)?.windowEndMs).toBe(t.endMs);
        for (let i = 1; i < groups.length; i++)
          expect(groups[i]?.windowStartMs).toBe(groups[i - 1]?.windowEndMs);
        if (budget === 100_000) expect(groups).toHaveLength(1);
        if (budget === 90) expect(groups.length).toBeGreaterThan(2);
      }
    },
  );

  it('puts a segment bigger than the budget alone in its group instead of cutting it', () => {
    const t = parseTranscript(broken((t) => (t.segments[4].text = 'word '.repeat(500))));
    const groups = groupSegments(t, 120, countTokens);
    const big = groups.find((g) => g.first <= 4 && g.last >= 4);
    expect(big).toMatchObject({ first: 4, last: 4 });
    expect(big?.tokens).toBeGreaterThan(500);
  });
});

const ALEX = { fingerprint_id: 'fp_alex_t1', user_id: 'user_alex_001', user_label: 'Alex' };
const JORDAN = { fingerprint_id: 'fp_jordan_t1', user_id: 'user_jordan_002', user_label: 'Jordan' };

function moment(overrides: Partial<MomentDraft> = {}): MomentDraft {
  return {
    name: 'Standup',
    content: 'Alex and Jordan discuss progress.',
    summary: 'Standup.',
    category: 'meeting',
    resource_timestamp: '2025-01-13T09:00:00Z',
    resource_ends_timestamp: '2025-01-13T09:05:00Z',
    moment_type: 'meeting',
    emotion_tags: ['focused', 'collaborative'],
    topic_tags: ['daily-standup', 'sprint-progress', 'blockers'],
    present_persons: [ALEX, JORDAN],
    location: 'video_conference',
    background_sounds: null,
    ...overrides,
  };
}

describe('merging moments cut by a group border', () => {
  const border = Date.parse('2025-01-13T09:05:00Z');
  const groups = [{ windowStartMs: Date.parse('2025-01-13T09:00:00Z') }, { windowStartMs: border }];
  const second = moment({
    name: 'Standup, blockers',
    content: 'They talk about the database migration.',
    summary: 'Blockers.',
    resource_timestamp: '2025-01-13T09:05:00Z',
    resource_ends_timestamp: '2025-01-13T09:10:12Z',
    emotion_tags: ['focused', 'frustrated', 'tired'],
    topic_tags: ['blockers', 'database', 'ops-approval', 'planning', 'sprint-progress'],
    present_persons: [JORDAN],
    background_sounds: 'keyboard typing',
  });

  it('joins the last moment before and the first after a border when both touch it and share the subject', () => {
    const { moments, merged } = mergeAcrossBorders([[moment()], [second]], groups);
    expect(merged).toBe(1);
    expect(moments).toHaveLength(1);
    const [m] = moments;
    expect(m?.resource_timestamp).toBe('2025-01-13T09:00:00Z');
    expect(m?.resource_ends_timestamp).toBe('2025-01-13T09:10:12Z');
    expect(m?.content).toContain('progress');
    expect(m?.content).toContain('database migration');
    expect(m?.emotion_tags).toEqual(['focused', 'collaborative', 'frustrated', 'tired']);
    expect(m?.topic_tags).toEqual([
      'daily-standup',
      'sprint-progress',
      'blockers',
      'database',
      'ops-approval',
      'planning',
    ]);
    expect(m?.present_persons).toEqual([ALEX, JORDAN]);
    expect(m?.background_sounds).toBe('keyboard typing');
    // Still a valid moment of the whole transcript.
    const t = parseTranscript(sampleJson());
    const ctx: MomentContext = {
      speakers: t.speakers,
      groupSpeakers: [],
      windowStartMs: t.startMs,
      windowEndMs: t.endMs,
    };
    expect(() => validateMomentOutput({ moments, analysis_summary: 'A standup.' }, ctx)).not.toThrow();
  });

  it('keeps them apart when the subject changes or one does not reach the border', () => {
    const other = {
      ...second,
      moment_type: 'social' as const,
      topic_tags: ['dinner', 'thai-food', 'evening'],
    };
    expect(mergeAcrossBorders([[moment()], [other]], groups).moments).toHaveLength(2);
    const early = moment({ resource_ends_timestamp: '2025-01-13T09:03:00Z' });
    expect(mergeAcrossBorders([[early], [second]], groups).moments).toHaveLength(2);
    const late = { ...second, resource_timestamp: '2025-01-13T09:06:00Z' };
    expect(mergeAcrossBorders([[moment()], [late]], groups).moments).toHaveLength(2);
  });
});

describe('the MomentBuilder validator', () => {
  const t: Transcript = parseTranscript(sampleJson());
  const ctx: MomentContext = {
    speakers: t.speakers,
    groupSpeakers: t.speakers.slice(0, 2),
    windowStartMs: t.startMs,
    windowEndMs: t.endMs,
  };
  const answer = (moments: unknown[]) => ({ moments, analysis_summary: 'A standup.' });
  const check = (m: unknown) => () => validateMomentOutput(answer([m]), ctx);

  it('accepts a good answer', () => {
    expect(validateMomentOutput(answer([moment()]), ctx).moments).toHaveLength(1);
    // The original's total_moments, if a model sends it, is ignored (the code counts).
    expect(validateMomentOutput({ ...answer([moment()]), total_moments: 9 }, ctx)).toEqual(
      validateMomentOutput(answer([moment()]), ctx),
    );
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'an unknown moment_type',
      { moment_type: 'party' },
      /^moments\[0\]\.moment_type: "party" is not one of conversation, meeting/,
    ],
    [
      'one emotion tag',
      { emotion_tags: ['happy'] },
      /^moments\[0\]\.emotion_tags: must hold 2 to 4 tags, got 1/,
    ],
    [
      'five emotion tags',
      { emotion_tags: ['a', 'b', 'c', 'd', 'e'] },
      /emotion_tags: must hold 2 to 4 tags, got 5/,
    ],
    ['two topic tags', { topic_tags: ['a', 'b'] }, /^moments\[0\]\.topic_tags: must hold 3 to 7 tags, got 2/],
    [
      'eight topic tags',
      { topic_tags: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] },
      /topic_tags: must hold 3 to 7/,
    ],
    [
      'a topic tag not in kebab-case',
      { topic_tags: ['daily-standup', 'Sprint Progress', 'x'] },
      /topic_tags\[1\]: "Sprint Progress" is not kebab-case/,
    ],
    [
      'a person not in the transcript',
      { present_persons: [ALEX, { fingerprint_id: 'fp_bob', user_id: 'u_bob', user_label: 'Bob' }] },
      /^moments\[0\]\.present_persons\[1\]\.fingerprint_id: "fp_bob" is not a speaker of this transcript/,
    ],
    [
      'a wrong user for a fingerprint',
      { present_persons: [{ ...ALEX, user_id: 'user_jordan_002' }, JORDAN] },
      /present_persons\[0\]\.user_id: "user_jordan_002" is not the user of fp_alex_t1/,
    ],
    [
      'a wrong label for a fingerprint',
      { present_persons: [{ ...ALEX, user_label: 'Alexandra' }, JORDAN] },
      /present_persons\[0\]\.user_label/,
    ],
    ['no persons', { present_persons: [] }, /present_persons: must name at least one speaker/],
    [
      'a start before the transcript',
      { resource_timestamp: '2025-01-13T08:59:59Z' },
      /^moments\[0\]\.resource_timestamp: "2025-01-13T08:59:59Z" lies outside the transcript/,
    ],
    [
      'an end after the transcript',
      { resource_ends_timestamp: '2025-01-13T09:10:13Z' },
      /^moments\[0\]\.resource_ends_timestamp: .* lies outside the transcript/,
    ],
    [
      'an end before the start',
      { resource_timestamp: '2025-01-13T09:04:00Z', resource_ends_timestamp: '2025-01-13T09:01:00Z' },
      /resource_ends_timestamp: .* is before resource_timestamp/,
    ],
    [
      'a time without a zone',
      { resource_timestamp: '2025-01-13T09:00:00' },
      /resource_timestamp: must be an ISO 8601 time with a zone/,
    ],
    ['an empty name', { name: '  ' }, /^moments\[0\]\.name: must not be empty/],
    [
      'a field that is not in the model',
      { mood: 'good' },
      /^moments\[0\]\.mood: is not a field of MomentBuilder/,
    ],
  ])('rejects %s', (_what, change, message) => {
    expect(check(moment(change as Partial<MomentDraft>))).toThrow(MomentValidationError);
    expect(check(moment(change as Partial<MomentDraft>))).toThrow(message);
  });

  it('rejects a missing field, an empty list, and a group speaker nobody names', () => {
    const { location: _dropped, ...withoutLocation } = moment();
    expect(check(withoutLocation)).toThrow(/^moments\[0\]\.location: is missing/);
    expect(() => validateMomentOutput(answer([]), ctx)).toThrow(/^moments: is empty/);
    expect(() => validateMomentOutput({ moments: [moment()] }, ctx)).toThrow(
      /^\(answer\)\.analysis_summary: is missing/,
    );
    expect(() => validateMomentOutput(answer([moment({ present_persons: [ALEX] })]), ctx)).toThrow(
      /^moments\[\]\.present_persons: Jordan \(fp_jordan_t1\) speak\(s\) in these segments but no moment names them/,
    );
    expect(() => validateMomentOutput('moments', ctx)).toThrow(/^\(answer\): must be a JSON object/);
  });
});

describe('heuristic moments for every sample transcript', () => {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });

  it.each(SAMPLE_INPUTS)('%s: valid, honest, naming exactly its speakers', (name) => {
    const t = parseTranscript(sampleJson(name));
    const window = { windowStartMs: t.startMs, windowEndMs: t.endMs };
    const output = heuristicMoments(t, t.segments, window);
    const ctx: MomentContext = { speakers: t.speakers, groupSpeakers: t.speakers, ...window };
    expect(validateMomentOutput(output, ctx)).toEqual(output);
    // Also valid against the JSON schema a model gets.
    const schemaCheck = ajv.compile(momentBuilderSchema(t.speakers));
    expect(schemaCheck(output), JSON.stringify(schemaCheck.errors)).toBe(true);
    // 1–3 moments for ~10 minutes; they tile the transcript.
    expect(output.moments.length).toBeGreaterThanOrEqual(1);
    expect(output.moments.length).toBeLessThanOrEqual(3);
    expect(Date.parse(output.moments[0]?.resource_timestamp ?? '')).toBe(t.startMs);
    expect(Date.parse(output.moments.at(-1)?.resource_ends_timestamp ?? '')).toBe(t.endMs);
    const named = new Set(output.moments.flatMap((m) => m.present_persons.map((p) => p.fingerprint_id)));
    expect([...named].sort()).toEqual(t.speakers.map((s) => s.fingerprint_id).sort());
    expect(output.analysis_summary).toMatch(/^Heuristic \(rule-based, no model\): \d moments? between/);
    for (const m of output.moments) {
      expect(m.summary).toMatch(/^Heuristic/);
      expect(m.content).toContain('no language model');
      expect(m.location).toBe(t.environment.location);
      // Persons are exactly who speaks inside the moment.
      const speaking = speakersWithin(
        t,
        Date.parse(m.resource_timestamp),
        Date.parse(m.resource_ends_timestamp),
      );
      expect(m.present_persons.map((p) => p.fingerprint_id).sort()).toEqual(
        speaking.map((s) => s.fingerprint_id).sort(),
      );
    }
    // Deterministic.
    expect(heuristicMoments(t, t.segments, window)).toEqual(output);
  });

  it('finds the kind of moment a person wrote for the samples', () => {
    const types = SAMPLE_INPUTS.map((name) => {
      const t = parseTranscript(sampleJson(name));
      return heuristicMoments(t, t.segments, { windowStartMs: t.startMs, windowEndMs: t.endMs }).moments[0]
        ?.moment_type;
    });
    // Standup (3 people), solo planning, evening chat, solo debugging, code review (2 people, "review").
    expect(types).toEqual(['meeting', 'planning', 'conversation', 'problem_solving', 'meeting']);
  });
});

describe('prompt, ids and routing', () => {
  it('the prompt names the window, the speakers with their ids, and every segment', () => {
    const t = parseTranscript(sampleJson());
    const [system, user] = momentMessages(
      t,
      t.segments,
      { windowStartMs: t.startMs, windowEndMs: t.endMs },
      {
        index: 0,
        count: 1,
      },
    );
    expect(system?.content).toContain('moment_type is one of: conversation, meeting, reflection');
    expect(user?.content).toContain('Time window of this part: 2025-01-13T09:00:00Z to 2025-01-13T09:10:12Z');
    expect(user?.content).toContain('Sam: fingerprint_id=fp_sam_t1 user_id=user_sam_003');
    for (const s of t.segments) expect(user?.content).toContain(s.text);
  });

  it('transcript uploads under transcripts/ go to buildMoments with a deterministic workflow id', () => {
    const parse = (raw: Record<string, unknown>) => {
      const parsed = parseStorageEvent(raw);
      if (parsed.kind !== 'event') throw new Error(parsed.reason);
      return parsed.event;
    };
    const upload = parse({ event_type: 'create', path: '/buckets/acme/transcripts/day1.json', etag: 'e1' });
    expect(isTranscriptUpload(upload)).toBe(true);
    expect(momentsWorkflowId(upload)).toBe('moments/acme/transcripts/day1.json@e1');
    expect(momentsWorkflowId(upload)).toBe(momentsWorkflowId({ ...upload }));
    expect(
      isTranscriptUpload(parse({ event_type: 'delete', path: '/buckets/acme/transcripts/day1.json' })),
    ).toBe(false);
    expect(
      isTranscriptUpload(parse({ event_type: 'create', path: '/buckets/acme/transcripts/day1.txt' })),
    ).toBe(false);
    expect(isTranscriptUpload(parse({ event_type: 'create', path: '/buckets/acme/uploads/day1.json' }))).toBe(
      false,
    );
    expect(momentIdFor('acme', 't1', 0)).toBe(momentIdFor('acme', 't1', 0));
    expect(momentIdFor('acme', 't1', 0)).not.toBe(momentIdFor('acme', 't1', 1));
  });
});

describe('p8fs eval', () => {
  async function evalCli(args: string[]): Promise<string> {
    const printed: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const progress = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      // Only the eval command (the whole program would load every other command's modules too).
      const program = new Command('p8fs');
      registerEvalCommand(program);
      await program.parseAsync(['node', 'p8fs', 'eval', ...args]);
    } finally {
      write.mockRestore();
      progress.mockRestore();
    }
    return printed.join('');
  }

  it("prints the heuristic moments of a sample as YAML, in the seeds' MomentBuilder output shape", async () => {
    const file = join(MOMENTS_DIR, SAMPLE_INPUTS[2] as string);
    const printed = await evalCli([
      '--agent-model',
      'MomentBuilder',
      '--file',
      file,
      '--provider',
      'heuristic',
    ]);
    const output = parseYaml(printed);
    // The seeds' shape first ({moments, analysis_summary, total_moments}), then where it came from.
    expect(Object.keys(output).slice(0, 3)).toEqual(['moments', 'analysis_summary', 'total_moments']);
    expect(printed.startsWith('moments:\n')).toBe(true);
    expect(output).toMatchObject({ agent_model: 'MomentBuilder', provider: 'heuristic', groups: 1 });
    expect(output.total_moments).toBe(output.moments.length);
    expect(output.analysis_summary).toMatch(/^Heuristic/);
    expect(readMomentBuilderOutput(output).total_moments).toBe(output.moments.length);
    const input = sampleJson(SAMPLE_INPUTS[2]);
    const t = parseTranscript(input);
    const ctx: MomentContext = {
      speakers: t.speakers,
      groupSpeakers: t.speakers,
      windowStartMs: t.startMs,
      windowEndMs: t.endMs,
    };
    for (const m of output.moments) {
      expect(() => validateMoment(m, ctx)).not.toThrow();
      // The seeds' metadata: the input's transcript_id, and the moment's own length in seconds.
      expect(m.metadata).toMatchObject({
        transcript_id: input.transcript_id,
        duration_seconds: (Date.parse(m.resource_ends_timestamp) - Date.parse(m.resource_timestamp)) / 1000,
      });
      // What the seeds grep the YAML for.
      for (const key of ['moment_type', 'emotion_tags', 'present_persons']) expect(m).toHaveProperty(key);
    }
    expect(printed).toMatch(/^- name: .*\n(?: {2}.*\n)*? {2}moment_type: /m);
    expect(printed).toMatch(/^ {2}emotion_tags:\n {2}- /m);
    // Quoted as in the seeds, so YAML 1.1 readers (PyYAML) get a string, not a datetime.
    expect(printed).toMatch(/^ {2}resource_timestamp: "\d{4}-\d\d-\d\dT[\d:]+Z"$/m);
    expect(output.moments[0].metadata.generated_by).toBe('heuristic');
  });

  it('names what is wrong: an unknown agent model (listing the known ones), format, or a bad file', async () => {
    await expect(evalCli(['--agent-model', 'DreamBuilder', '--file', 'x.json'])).rejects.toThrow(
      'eval: unknown --agent-model "DreamBuilder"; known: MomentBuilder',
    );
    const file = join(MOMENTS_DIR, SAMPLE_INPUTS[0] as string);
    await expect(
      evalCli(['--agent-model', 'MomentBuilder', '--file', file, '--format', 'xml']),
    ).rejects.toThrow('eval: unknown --format "xml"; known: yaml, json');
    await expect(evalCli(['--agent-model', 'MomentBuilder', '--file', 'package.json'])).rejects.toThrow(
      'package.json: transcript start_timestamp: is missing',
    );
  });
});
