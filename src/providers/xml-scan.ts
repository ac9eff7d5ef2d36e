/**
 * A tag scanner for the machine-written XML inside office packages (PPTX slides, ODT content.xml): those
 * parts use a handful of elements, no DTDs and no entities beyond the five predefined ones, so tokens
 * are enough and no XML parser dependency is needed. It never recurses, so nesting cannot overflow it.
 */

export type XmlToken =
  | { kind: 'open'; name: string; attrs: string; selfClosing: boolean }
  | { kind: 'close'; name: string }
  | { kind: 'text'; text: string };

const TOKEN =
  /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<!DOCTYPE[^>]*>|<(\/?)([A-Za-z_][\w:.-]*)((?:\s[^>]*?)?)(\/?)>|([^<]+)/g;

export function* xmlTokens(xml: string): Generator<XmlToken> {
  for (const m of xml.matchAll(TOKEN)) {
    if (m[1] !== undefined) yield { kind: 'text', text: m[1] };
    else if (m[6] !== undefined) yield { kind: 'text', text: decodeXmlEntities(m[6]) };
    else if (m[3] !== undefined) {
      if (m[2] === '/') yield { kind: 'close', name: m[3] };
      else yield { kind: 'open', name: m[3], attrs: m[4] ?? '', selfClosing: m[5] === '/' };
    }
  }
}

/** An attribute's value from a tag's attribute text ("text:outline-level" → "2"). */
export function xmlAttr(attrs: string, name: string): string | undefined {
  const escaped = name.replace(/[.:-]/g, (c) => `\\${c}`);
  const m = new RegExp(`(?:^|\\s)${escaped}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attrs);
  const value = m?.[1] ?? m?.[2];
  return value === undefined ? undefined : decodeXmlEntities(value);
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXmlEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, code: string) => {
    if (code[0] === '#') {
      const n =
        code[1] === 'x' || code[1] === 'X' ? Number.parseInt(code.slice(2), 16) : Number(code.slice(1));
      return Number.isFinite(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : whole;
    }
    return ENTITIES[code] ?? whole;
  });
}
