import type { ExtractedSection } from '../../domain/content.js';
import { CorruptFileError } from '../../domain/errors.js';
import { checkExtractedChars } from '../limits.js';
import { type ContentProvider, readSourceFile } from '../provider.js';

// Groups whose content is not the document's text: tables of fonts, colours and styles, document
// info, pictures and embedded objects, headers and footers, field instructions.
const SKIP_DESTINATIONS = new Set([
  'fonttbl',
  'colortbl',
  'stylesheet',
  'info',
  'pict',
  'object',
  'header',
  'headerl',
  'headerr',
  'headerf',
  'footer',
  'footerl',
  'footerr',
  'footerf',
  'fldinst',
  'themedata',
  'colorschememapping',
  'datastore',
  'latentstyles',
  'listtable',
  'listoverridetable',
  'rsidtbl',
  'generator',
  'xmlnstbl',
  'mmathPr',
  'filetbl',
  'revtbl',
  'bkmkstart',
  'bkmkend',
]);

// Control symbols and words that stand for a character.
const CHARACTERS: Readonly<Record<string, string>> = {
  tab: '\t',
  line: '\n',
  emdash: '—',
  endash: '–',
  bullet: '•',
  lquote: '‘',
  rquote: '’',
  ldblquote: '“',
  rdblquote: '”',
  emspace: ' ',
  enspace: ' ',
  qmspace: ' ',
  '~': '\u00a0',
  _: '\u2011',
  '-': '',
};

/**
 * RTF with a small parser of our own (the RTF parsers on npm are unmaintained for years): groups,
 * control words, `\'hh` bytes in the document's code page (\ansicpg, windows-1252 by default), `\uN`
 * Unicode with its \ucN fallback skipped, and ignorable or non-text destinations dropped. `\par` ends a
 * paragraph; each paragraph is a section. It walks the bytes once without recursion, so deep nesting
 * cannot overflow it; a file that does not start with "{\rtf" is not RTF.
 */
export const rtfProvider: ContentProvider = {
  name: 'rtf',
  version: '1.0.0',
  mimeTypes: ['application/rtf', 'text/rtf'],
  extensions: ['.rtf'],
  async extract(file, ctx) {
    const { name } = file;
    const bytes = await readSourceFile(file, ctx.signal);
    if (bytes.length === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not an RTF document`);
    if (!bytes.subarray(0, 64).toString('latin1').trimStart().startsWith('{\\rtf')) {
      throw new CorruptFileError(`${name} is not an RTF document (it does not start with "{\\rtf")`);
    }
    const paragraphs = rtfParagraphs(bytes, (characters) => {
      checkExtractedChars(name, ctx.config.limits, characters);
      ctx.signal.throwIfAborted();
    });
    const sections: ExtractedSection[] = paragraphs.map((text) => ({ text, kind: 'paragraph' }));
    return { provider: 'rtf', sections, metadata: { paragraphs: sections.length } };
  },
};

interface GroupState {
  skip: boolean;
  /** Characters still to skip after a \uN (the \ucN count of this group). */
  uc: number;
}

/** The document's paragraphs; `progress(characters)` is called every few thousand bytes. */
export function rtfParagraphs(bytes: Buffer, progress: (characters: number) => void): string[] {
  const paragraphs: string[] = [];
  let decoder = new TextDecoder('windows-1252');
  let state: GroupState = { skip: false, uc: 1 };
  const stack: GroupState[] = [];
  let text = '';
  let pendingBytes: number[] = [];
  let skipChars = 0;
  let characters = 0;
  let destinationNext = false;

  const flushBytes = () => {
    if (pendingBytes.length === 0) return;
    text += decoder.decode(Uint8Array.from(pendingBytes));
    pendingBytes = [];
  };
  const emit = (s: string) => {
    if (state.skip) return;
    if (skipChars > 0) {
      skipChars--;
      return;
    }
    flushBytes();
    text += s;
  };
  const endParagraph = () => {
    flushBytes();
    const t = text
      .replace(/[ \t]+\n/g, '\n')
      .replace(/[ \t]{2,}/g, ' ')
      .trim();
    text = '';
    if (t) {
      paragraphs.push(t);
      characters += t.length;
    }
  };

  for (let i = 0; i < bytes.length; i++) {
    if ((i & 0xfff) === 0) progress(characters + text.length);
    const c = bytes[i] as number;
    if (c === 0x7b) {
      // {
      flushBytes();
      stack.push(state);
      state = { ...state };
      destinationNext = true;
      continue;
    }
    if (c === 0x7d) {
      // }
      flushBytes();
      state = stack.pop() ?? state;
      destinationNext = false;
      continue;
    }
    if (c === 0x0d || c === 0x0a) continue;
    if (c !== 0x5c) {
      // Plain text byte (in the document's code page).
      destinationNext = false;
      if (state.skip) continue;
      if (skipChars > 0) {
        skipChars--;
        continue;
      }
      pendingBytes.push(c);
      continue;
    }
    // A backslash: control symbol or control word.
    const next = bytes[i + 1];
    if (next === undefined) break;
    const symbol = String.fromCharCode(next);
    if (!/[a-zA-Z]/.test(symbol)) {
      i++;
      const first = destinationNext;
      destinationNext = false;
      if (symbol === '*') {
        // An ignorable destination: skipped unless we know it (we know none that are text).
        if (first) state.skip = true;
      } else if (symbol === "'") {
        const hex = bytes.subarray(i + 1, i + 3).toString('latin1');
        i += 2;
        if (state.skip) continue;
        if (skipChars > 0) {
          skipChars--;
          continue;
        }
        const value = Number.parseInt(hex, 16);
        if (Number.isFinite(value)) pendingBytes.push(value);
      } else if (symbol === '\\' || symbol === '{' || symbol === '}') emit(symbol);
      else if (symbol in CHARACTERS) emit(CHARACTERS[symbol] as string);
      continue;
    }
    // Control word: letters, an optional signed number, and one space that belongs to it.
    let j = i + 1;
    while (j < bytes.length && /[a-zA-Z]/.test(String.fromCharCode(bytes[j] as number))) j++;
    const word = bytes.subarray(i + 1, j).toString('latin1');
    let k = j;
    if (bytes[k] === 0x2d) k++;
    while (k < bytes.length && (bytes[k] as number) >= 0x30 && (bytes[k] as number) <= 0x39) k++;
    const param = k > j ? Number(bytes.subarray(j, k).toString('latin1')) : undefined;
    if (bytes[k] === 0x20) k++;
    i = k - 1;
    const first = destinationNext;
    destinationNext = false;
    if (first && SKIP_DESTINATIONS.has(word)) {
      state.skip = true;
      continue;
    }
    switch (word) {
      case 'par':
      case 'sect':
      case 'page':
        if (!state.skip) endParagraph();
        break;
      case 'row':
        if (!state.skip) endParagraph();
        break;
      case 'cell':
        emit(' | ');
        break;
      case 'ansicpg':
        if (param !== undefined) {
          try {
            decoder = new TextDecoder(`windows-${param}`);
          } catch {
            // An unknown code page: keep windows-1252, the common case.
          }
        }
        break;
      case 'uc':
        state.uc = param ?? 1;
        break;
      case 'u':
        if (param !== undefined) {
          emit(String.fromCharCode(param < 0 ? param + 65536 : param));
          skipChars = state.uc;
        }
        break;
      case 'bin':
        // Binary data of `param` bytes: never text.
        i += Math.max(0, param ?? 0);
        break;
      default:
        if (word in CHARACTERS) emit(CHARACTERS[word] as string);
        break;
    }
  }
  endParagraph();
  progress(characters);
  return paragraphs;
}
