/**
 * The XML inside office packages (PPTX slides and relationships, ODT content.xml, XLSX workbook.xml) as
 * a stream of tokens, parsed by saxes (a conforming, non-recursive streaming parser). The part is fed in
 * slices and the tokens of each slice handed out before the next, so a large part is never turned into
 * one array of tokens. docs/PERFORMANCE.md, "Parsers kept or replaced", has the comparison with the tag
 * scanner this replaces.
 */
import { SaxesParser } from 'saxes';

export type XmlToken =
  | { kind: 'open'; name: string; attrs: Readonly<Record<string, string>>; selfClosing: boolean }
  | { kind: 'close'; name: string }
  | { kind: 'text'; text: string };

/** Characters fed to the parser at a time: bounds the tokens waiting to be handed out. */
const SLICE = 64 * 1024;

/**
 * Tokens in document order. A self-closing tag is one `open` token with `selfClosing` (no `close`);
 * CDATA is text; entities are decoded; comments, processing instructions and the DOCTYPE are dropped
 * (no entity of a DOCTYPE is ever expanded). Malformed XML does not throw: the parser's errors are
 * ignored and it goes on, so a damaged part still gives the text it holds, as before.
 */
export function* xmlTokens(xml: string): Generator<XmlToken> {
  const parser = new SaxesParser();
  const pending: XmlToken[] = [];
  parser.on('error', () => {});
  parser.on('text', (text) => pending.push({ kind: 'text', text }));
  parser.on('cdata', (text) => pending.push({ kind: 'text', text }));
  parser.on('opentag', (tag) =>
    pending.push({ kind: 'open', name: tag.name, attrs: tag.attributes, selfClosing: tag.isSelfClosing }),
  );
  parser.on('closetag', (tag) => {
    if (!tag.isSelfClosing) pending.push({ kind: 'close', name: tag.name });
  });
  for (let at = 0; at < xml.length; at += SLICE) {
    parser.write(xml.slice(at, at + SLICE));
    yield* pending;
    pending.length = 0;
  }
  parser.close();
  yield* pending;
}
