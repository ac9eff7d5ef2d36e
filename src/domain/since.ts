/**
 * `--since` as people type it: an ISO date or time (`2026-11-30`, `2026-11-30T06:00Z`) or an age
 * (`90s`, `15m`, `2h`, `7d`). Pure: the caller passes "now".
 */
const AGE = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/i;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseSince(text: string, now: Date): Date {
  const trimmed = text.trim();
  const age = AGE.exec(trimmed);
  if (age) {
    const [, amount, unit] = age;
    return new Date(now.getTime() - Number(amount) * (UNIT_MS[(unit ?? 's').toLowerCase()] ?? 1000));
  }
  const parsed = Date.parse(trimmed);
  if (trimmed === '' || Number.isNaN(parsed)) {
    throw new RangeError(
      `--since ${JSON.stringify(text)} is neither an ISO date/time (2026-11-30, 2026-11-30T06:00Z) nor an age (90s, 15m, 2h, 7d)`,
    );
  }
  return new Date(parsed);
}
