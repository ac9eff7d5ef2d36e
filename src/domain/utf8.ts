/** Bytes of one character (a code point) in UTF-8. */
function utf8Bytes(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return code < 0x10000 ? 3 : 4;
}

/**
 * `text` cut to at most `maxBytes` bytes of UTF-8, never inside a character: for the places Temporal
 * limits in bytes (keyword search attributes, fairness keys).
 */
export function cutUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += utf8Bytes(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}
