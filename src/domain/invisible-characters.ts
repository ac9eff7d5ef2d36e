/**
 * Characters a name must not carry because they hide or disguise what it says (issue 25): C1 controls
 * (U+0080–U+009F), bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069: "gnp.exe" shown
 * as "exe.png"), and zero-width characters (U+200B–U+200D, U+2060, U+FEFF: two names that look the
 * same). C0 controls and DEL are refused by the storage-event rules already.
 */
const INVISIBLE = /[\u0080-\u009f\u200b-\u200d\u202a-\u202e\u2060\u2066-\u2069\ufeff]/;

const NAMES: Record<string, string> = {
  'U+200B': 'zero width space',
  'U+200C': 'zero width non-joiner',
  'U+200D': 'zero width joiner',
  'U+202A': 'left-to-right embedding',
  'U+202B': 'right-to-left embedding',
  'U+202C': 'pop directional formatting',
  'U+202D': 'left-to-right override',
  'U+202E': 'right-to-left override',
  'U+2060': 'word joiner',
  'U+2066': 'left-to-right isolate',
  'U+2067': 'right-to-left isolate',
  'U+2068': 'first strong isolate',
  'U+2069': 'pop directional isolate',
  'U+FEFF': 'zero width no-break space (BOM)',
};

/**
 * The first such character in `text`, named with its code point and its position (1-based, in
 * characters), e.g. "U+202E (right-to-left override) at character 7"; undefined if there is none.
 */
export function invisibleCharacterIn(text: string): string | undefined {
  const match = INVISIBLE.exec(text);
  if (!match) return undefined;
  const code = match[0].charCodeAt(0);
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = NAMES[hex] ?? 'C1 control character';
  return `${hex} (${name}) at character ${[...text.slice(0, match.index)].length + 1}`;
}
