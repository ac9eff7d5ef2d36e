/**
 * DreamModel validation, prompt packing to the model's context, retry-after parsing and the heuristic
 * dream over the dreaming samples (schema-valid, marked heuristic, deterministic).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextTokensFor, UNKNOWN_MODEL_CONTEXT_TOKENS } from '../../src/activities/insight/llm/models.js';
import { retryAfterMs } from '../../src/activities/insight/llm/retry.js';
import { countTokens } from '../../src/domain/chunking.js';
import { heuristicDream } from '../../src/domain/insight/dream-heuristic.js';
import {
  type DreamSource,
  MIN_TRUNCATED_TOKENS,
  packSources,
  renderSource,
  sourceBudget,
} from '../../src/domain/insight/dream-input.js';
import { DREAM_MODEL_SCHEMA, validateDreamModel } from '../../src/domain/insight/dream-model.js';
import { parseSessions, sessionText } from '../../src/domain/insight/session.js';
import { DREAMING_DIR, modelDream } from '../support/dream-fixtures.js';

function sampleSources(): DreamSource[] {
  const sessions = readdirSync(join(DREAMING_DIR, 'sessions')).flatMap((name) =>
    parseSessions(JSON.parse(readFileSync(join(DREAMING_DIR, 'sessions', name), 'utf8')), name).map(
      (s): DreamSource => ({
        kind: 'session',
        id: s.externalId,
        name: s.name,
        text: sessionText(s.messages),
      }),
    ),
  );
  const resources = readdirSync(join(DREAMING_DIR, 'resources'))
    .sort()
    .map(
      (name, i): DreamSource => ({
        kind: 'resource',
        id: `r${i}`,
        name,
        fileId: `f${i}`,
        text: readFileSync(join(DREAMING_DIR, 'resources', name), 'utf8'),
      }),
    );
  return [...resources, ...sessions];
}

describe('DreamModel validator', () => {
  it('accepts a complete answer', () => {
    expect(validateDreamModel(modelDream('user_id: t1\nanalysis_id: a1')).user_id).toBe('t1');
  });

  it.each([
    ['a missing field', (m: Record<string, unknown>) => delete m.fears, /^fears: required field is missing/],
    [
      'a wrong type deep inside',
      (m: Record<string, unknown>) =>
        (((m.goals as Array<Record<string, unknown>>)[1] as Record<string, unknown>).goal = 7),
      /^goals\[1\]\.goal: expected string, got integer/,
    ],
    [
      'a value outside the enum',
      (m: Record<string, unknown>) =>
        (((m.fears as Array<Record<string, unknown>>)[0] as Record<string, unknown>).severity = 'extreme'),
      /^fears\[0\]\.severity: expected one of "high", "medium", "low"/,
    ],
    ['an unknown field', (m: Record<string, unknown>) => (m.mood = 'fine'), /^mood: unknown field/],
    [
      'a confidence above 1',
      (m: Record<string, unknown>) => ((m.metrics as Record<string, number>).confidence_score = 3),
      /^metrics\.confidence_score: expected a number from 0 to 1, got 3/,
    ],
    [
      'a timeline outside the enum',
      (m: Record<string, unknown>) =>
        (((m.dreams as Array<Record<string, unknown>>)[0] as Record<string, unknown>).timeline = 'someday'),
      /^dreams\[0\]\.timeline: expected one of "short-term", "medium-term", "long-term"/,
    ],
  ])('names the field for %s', (_what, breakIt, message) => {
    const model = modelDream('') as unknown as Record<string, unknown>;
    breakIt(model);
    expect(() => validateDreamModel(model)).toThrow(message);
  });

  it('is a strict structured-output schema: every object closes its properties and requires them all', () => {
    const walk = (schema: Record<string, unknown>): void => {
      if (schema.type === 'object') {
        expect(schema.additionalProperties).toBe(false);
        expect(new Set(schema.required as string[])).toEqual(
          new Set(Object.keys(schema.properties as object)),
        );
        for (const child of Object.values(schema.properties as Record<string, Record<string, unknown>>))
          walk(child);
      }
      if (schema.items) walk(schema.items as Record<string, unknown>);
    };
    walk(DREAM_MODEL_SCHEMA);
  });
});

describe('packing sources to the context budget', () => {
  const sources = sampleSources();
  const total = sources.reduce((n, s) => n + countTokens(renderSource(s)), 0);

  it('takes everything when it fits, sessions first', () => {
    const packed = packSources(sources, total + 10);
    expect(packed).toMatchObject({ dropped: 0, truncated: 0, tokens: total });
    expect(packed.sources[0]?.kind).toBe('session');
  });

  it('never exceeds the budget; cuts one source to fill the rest and counts what it left out', () => {
    for (const budget of [300, 1500, Math.floor(total / 2)]) {
      const packed = packSources(sources, budget);
      expect(packed.tokens).toBeLessThanOrEqual(budget);
      expect(packed.sources.reduce((n, s) => n + countTokens(renderSource(s)), 0)).toBe(packed.tokens);
      expect(packed.sources.length + packed.dropped).toBe(sources.length);
      expect(packed.truncated).toBeLessThanOrEqual(1);
      expect(budget - packed.tokens).toBeLessThan(
        MIN_TRUNCATED_TOKENS + countTokens(renderSource(sources[0] as DreamSource)),
      );
    }
  });

  it('reserves the answer and the instructions: budget = 95 % of context − output − overhead', () => {
    expect(sourceBudget(128_000, 4096, 3000)).toBe(Math.floor((128_000 - 4096 - 3000) * 0.95));
    expect(sourceBudget(4000, 4096, 3000)).toBe(0);
  });

  it('knows the context windows of common models, and falls back conservatively', () => {
    expect(contextTokensFor('gpt-4o-mini')).toBe(128_000);
    expect(contextTokensFor('claude-sonnet-4-6')).toBe(200_000);
    expect(contextTokensFor('my-own-model')).toBe(UNKNOWN_MODEL_CONTEXT_TOKENS);
    expect(contextTokensFor('gpt-4o', 8000)).toBe(8000);
  });
});

describe('Retry-After', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs({ headers: new Headers({ 'retry-after-ms': '250' }) })).toBe(250);
    expect(retryAfterMs({ headers: new Headers({ 'retry-after': '3' }) })).toBe(3000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(
      retryAfterMs({ headers: new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }) }, now),
    ).toBe(5000);
    expect(retryAfterMs({ headers: new Headers() })).toBeUndefined();
  });
});

describe('heuristic dream over the dreaming samples', () => {
  const input = { tenantId: 'tenant-test', analysisId: 'a-1', sources: sampleSources() };

  it('is schema-valid, says it is heuristic, and finds goals, fears, tasks and appointments', () => {
    const model = validateDreamModel(heuristicDream(input));
    expect(model.generated_by).toBe('heuristic');
    expect(model.executive_summary).toMatch(/^\[heuristic\] Rule-based analysis \(no language model\)/);
    expect(model.goals.length).toBeGreaterThan(0);
    expect(model.fears.length).toBeGreaterThan(0);
    expect(model.pending_tasks.length).toBeGreaterThan(0);
    expect(model.appointments.length).toBeGreaterThan(0);
    expect(model.fears.some((f) => /microservices migration/i.test(f.fear))).toBe(true);
    expect(model.source_file_ids.sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
  });

  it('is deterministic', () => {
    expect(heuristicDream(input)).toEqual(heuristicDream({ ...input, sources: [...input.sources] }));
  });
});

describe('session files', () => {
  it('parse the sample and name the bad field otherwise', () => {
    const [session] = parseSessions(
      JSON.parse(readFileSync(join(DREAMING_DIR, 'sessions', 'chat_project_alpha_discussion.json'), 'utf8')),
      's.json',
    );
    expect(session).toMatchObject({
      externalId: 'session-chat-001',
      sessionType: 'chat',
      startedAt: '2025-01-08T15:30:00.000Z',
    });
    expect(session?.messages).toHaveLength(6);
    expect(() => parseSessions({ session_id: 'x', messages: [{ role: 'user' }] }, 'bad.json')).toThrow(
      /bad.json: messages\[0\]\.content must be a string/,
    );
    expect(() => parseSessions({ messages: [] }, 'bad.json')).toThrow(
      /session_id must be a non-empty string/,
    );
  });
});
