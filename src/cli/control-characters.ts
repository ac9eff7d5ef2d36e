/**
 * The name of the first control character in `text` that storage events reject (C0 and DEL, as the
 * event contract), e.g. "line feed (U+000A)"; undefined if none. Used on file names before uploading
 * (`p8fs ingest`, the self-test's sample).
 */
export function controlCharacterIn(text: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  const found = /[\u0000-\u001f\u007f]/.exec(text)?.[0];
  if (found === undefined) return undefined;
  const code = found.charCodeAt(0);
  const names: Record<number, string> = {
    0: 'NUL',
    9: 'tab',
    10: 'line feed',
    13: 'carriage return',
    27: 'escape',
    127: 'delete',
  };
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return names[code] ? `${names[code]} (${hex})` : `control character ${hex}`;
}
