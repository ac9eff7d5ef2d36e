import { describe, expect, it } from 'vitest';
import { parseSince } from '../../src/domain/since.js';

const now = new Date('2026-11-30T12:00:00Z');

describe('parseSince', () => {
  it.each([
    ['90s', '2026-11-30T11:58:30.000Z'],
    ['15m', '2026-11-30T11:45:00.000Z'],
    ['2h', '2026-11-30T10:00:00.000Z'],
    ['7d', '2026-11-23T12:00:00.000Z'],
    ['1.5h', '2026-11-30T10:30:00.000Z'],
    ['2026-11-30', '2026-11-30T00:00:00.000Z'],
    ['2026-11-30T06:00Z', '2026-11-30T06:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseSince(text, now).toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '5 weeks', '-2h'])('rejects %j and says what is accepted', (text) => {
    expect(() => parseSince(text, now)).toThrow(
      /neither an ISO date\/time .* nor an age \(90s, 15m, 2h, 7d\)/,
    );
  });
});
