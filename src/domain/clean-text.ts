/**
 * Text as PostgreSQL can store it. Two things in a JavaScript string cannot be stored, and a retry never
 * changes that, so they are cleaned before storing instead of failing the file:
 * - NUL (U+0000): `text` rejects the byte 0x00 (SQLSTATE 22021) and `jsonb` the escape \u0000 (22P05).
 *   A JSON file may hold "\u0000" inside a string, which parsing turns into a real NUL. It carries no
 *   meaning in text, so it is dropped.
 * - Lone UTF-16 surrogates (half of a pair, e.g. JSON "\ud800"): not characters at all; `jsonb` rejects
 *   them and UTF-8 cannot encode them. Each becomes U+FFFD, the replacement character, so the reader
 *   still sees that something was there.
 * Everything else (other control characters, any valid Unicode) is kept as it is.
 */

// With the `u` flag a surrogate range matches only a surrogate that is not part of a pair.
const UNSTORABLE = /\0|[\uD800-\uDFFF]/u;
const UNSTORABLE_ALL = /\0|[\uD800-\uDFFF]/gu;

/** True when `text` holds a NUL or a lone surrogate. */
export function needsCleaning(text: string): boolean {
  return UNSTORABLE.test(text);
}

/** `text` without NUL characters and with every lone surrogate replaced by U+FFFD. */
export function cleanText(text: string): string {
  if (!needsCleaning(text)) return text;
  return text.replace(UNSTORABLE_ALL, (found) => (found === '\0' ? '' : '\uFFFD'));
}

/**
 * A JSON-like value with cleanText applied to every string in it, keys included (jsonb rejects them in
 * keys as well). Values that need nothing are returned as they are, not copied.
 */
export function cleanJsonValue<T>(value: T): T {
  return cleanValue(value) as T;
}

function cleanValue(value: unknown): unknown {
  if (typeof value === 'string') return cleanText(value);
  if (Array.isArray(value)) {
    let changed = false;
    const cleaned = value.map((item) => {
      const next = cleanValue(item);
      if (next !== item) changed = true;
      return next;
    });
    return changed ? cleaned : value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let changed = false;
    const cleaned: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const nextKey = cleanText(key);
      const next = cleanValue(item);
      if (nextKey !== key || next !== item) changed = true;
      cleaned[nextKey] = next;
    }
    return changed ? cleaned : value;
  }
  return value;
}
