import { parseAllDocuments } from 'yaml';
import type { ExtractedSection } from '../domain/content.js';
import { CorruptFileError } from '../domain/errors.js';
import { bareMime, fileExtension } from '../domain/provider-catalog.js';
import { jsonErrorOffset, lineAndColumn } from './json-position.js';
import type { ContentProvider, SourceFile } from './provider.js';
import { readUtf8File } from './read-text.js';

// Deeper trees are rare and unreadable as indented text anyway; past this they are kept as one JSON line,
// which also keeps recursion far from the stack limit.
const MAX_DEPTH = 32;

/**
 * JSON and YAML as readable "key: value" lines, one section per top-level key. An empty JSON file is
 * corrupt (JSON needs one value); an empty YAML file is an empty stream, so it has no sections.
 */
export const structuredProvider: ContentProvider = {
  name: 'structured',
  version: '1.0.0',
  mimeTypes: [
    'application/json',
    'text/json',
    'application/x-yaml',
    'application/yaml',
    'text/yaml',
    'text/x-yaml',
  ],
  extensions: ['.json', '.yaml', '.yml'],
  async extract(file, ctx) {
    const text = await readUtf8File(file, ctx.signal);
    const format = formatOf(file, text);
    const roots = format === 'json' ? [parseJson(text, file.name)] : parseYaml(text, file.name);

    const sections: ExtractedSection[] = [];
    roots.forEach((root, index) => {
      const prefix = roots.length > 1 ? `document ${index + 1}` : undefined;
      sections.push(...sectionsOf(root, prefix));
    });
    return { provider: 'structured', sections, metadata: { format, documents: roots.length } };
  },
};

/** The real name's extension decides, then the mime type; only when both are silent is the text sniffed. */
function formatOf(file: SourceFile, text: string): 'json' | 'yaml' {
  const ext = fileExtension(file.name);
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  const mime = bareMime(file.mimeType);
  if (mime.endsWith('/json')) return 'json';
  if (mime.endsWith('yaml')) return 'yaml';
  // YAML is a superset of JSON, but JSON's parser gives far better error positions for JSON-looking text.
  return /^\s*[[{]/.test(text) ? 'json' : 'yaml';
}

function parseJson(text: string, name: string): unknown {
  if (!text.trim()) throw new CorruptFileError(`${name} is empty: a JSON file must hold a value`);
  try {
    return JSON.parse(text);
  } catch (err) {
    const offset = jsonErrorOffset(text);
    const where = offset >= 0 ? describeOffset(text, offset) : 'unknown position';
    throw new CorruptFileError(`${name} is not valid JSON (${where}): ${(err as Error).message}`);
  }
}

function describeOffset(text: string, offset: number): string {
  const { line, column } = lineAndColumn(text, offset);
  return `line ${line}, column ${column}, offset ${offset}`;
}

function parseYaml(text: string, name: string): unknown[] {
  const docs = parseAllDocuments(text);
  // A stream that is not a document list at all comes back as an EmptyStream with its own errors.
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const first = doc.errors[0];
    if (first) {
      // The yaml message already ends with "at line L, column C" and a caret excerpt.
      throw new CorruptFileError(`${name} is not valid YAML: ${first.message.trim()}`);
    }
  }
  return list.map((doc) => doc.toJS() as unknown);
}

/** One section per top-level key (or array item) so chunk boundaries follow the data's own structure. */
function sectionsOf(root: unknown, prefix: string | undefined): ExtractedSection[] {
  const join = (key: string) => (prefix ? `${prefix} > ${key}` : key);
  if (isRecord(root) || Array.isArray(root)) {
    const entries = Array.isArray(root)
      ? root.map((v, i) => [`[${i}]`, v] as const)
      : Object.entries(root).map(([k, v]) => [k, v] as const);
    return entries.map(([key, value]) => ({
      text: render({ [key]: value }, 0).join('\n'),
      heading: join(key),
      kind: Array.isArray(value) ? ('list' as const) : ('paragraph' as const),
    }));
  }
  const text = scalar(root);
  return text.trim() ? [{ text, kind: 'paragraph', ...(prefix ? { heading: prefix } : {}) }] : [];
}

/** YAML-like lines without quoting: "key: value", nested keys indented, array items as "- " bullets. */
function render(value: unknown, depth: number): string[] {
  const pad = '  '.repeat(depth);
  if (depth > MAX_DEPTH) return [`${pad}${JSON.stringify(value)}`];
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isComposite(item)) {
        const inner = render(item, depth + 1);
        // The first nested line takes the bullet, YAML-style, instead of leaving a bare "-" line.
        lines.push(`${pad}- ${(inner[0] ?? '').trimStart()}`, ...inner.slice(1));
      } else {
        lines.push(...block(`${pad}- `, scalar(item), pad));
      }
    }
    return lines;
  }
  if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (isComposite(item)) lines.push(`${pad}${key}:`, ...render(item, depth + 1));
      else lines.push(...block(`${pad}${key}: `, scalar(item), pad));
    }
    return lines;
  }
  return [`${pad}${scalar(value)}`];
}

/** Multi-line strings continue on indented lines so they stay visibly inside their key. */
function block(lead: string, text: string, pad: string): string[] {
  const [first = '', ...rest] = text.split('\n');
  return [`${lead}${first}`.trimEnd(), ...rest.map((line) => `${pad}  ${line}`.trimEnd())];
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return '(empty list)';
  if (isRecord(value)) return '(empty)';
  return String(value);
}

function isComposite(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return isRecord(value) && Object.keys(value).length > 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
