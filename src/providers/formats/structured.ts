import { isMap, isScalar, isSeq, Lexer, type Node, parseAllDocuments } from 'yaml';
import type { ExtractedSection } from '../../domain/content.js';
import { CorruptFileError, NonRetryableError } from '../../domain/errors.js';
import { bareMime, fileExtension } from '../../domain/provider-catalog.js';
import { jsonErrorOffset, lineAndColumn } from '../helpers/json-position.js';
import { readUtf8File } from '../helpers/read-text.js';
import { prescanLines, streamLines } from '../helpers/stream-lines.js';
import { type ExtractionLimits, isResourceExhaustion, limitExceeded } from '../limits.js';
import type { ContentProvider, SourceFile, StreamCheckpoint } from '../provider.js';

/** JSON Lines by type: one JSON value per line (a log, an export), read and streamed record by record. */
const JSONL_MIME_TYPES = ['application/jsonl', 'application/x-ndjson', 'application/x-jsonlines'];
const JSONL_EXTENSIONS = ['.jsonl', '.ndjson'];

// Deeper trees are unreadable as indented text: past this they are kept as one JSON line. How deep a
// file may nest at all is a limit (maxNestingDepth), checked before anything recursive sees the data.
const MAX_RENDER_DEPTH = 32;

/**
 * JSON and YAML as readable "key: value" lines, one section per top-level key. An empty JSON file is
 * corrupt (JSON needs one value); an empty YAML file is an empty stream, so it has no sections. Nesting
 * depth, YAML aliases and the rendered characters are bounded by the limits (src/providers/limits.ts).
 */
export const structuredProvider: ContentProvider = {
  name: 'structured',
  version: '1.1.0',
  mimeTypes: [
    'application/json',
    'text/json',
    'application/x-yaml',
    'application/yaml',
    'text/yaml',
    'text/x-yaml',
    ...JSONL_MIME_TYPES,
  ],
  extensions: ['.json', '.yaml', '.yml', ...JSONL_EXTENSIONS],
  async extract(file, ctx) {
    const { limits } = ctx.config;
    if (isJsonLines(file)) {
      // One section per record; lines are bounded by the line limit like any text.
      const text = await readUtf8File(file, ctx);
      const out = new Renderer(file.name, limits);
      const sections: ExtractedSection[] = [];
      let records = 0;
      text.split('\n').forEach((line, index) => {
        const section = jsonLinesRecord(line, index + 1, file.name, limits, out);
        if (section) {
          records++;
          sections.push(section);
        }
      });
      return { provider: 'structured', sections, metadata: { format: 'jsonl', documents: records } };
    }
    // Minified JSON is one long line by design: only the character limit applies here, not the line limit.
    const text = await readUtf8File(file, ctx, { lineLimit: false });
    const format = formatOf(file, text);
    const roots =
      format === 'json' ? [parseJson(text, file.name, limits)] : parseYaml(text, file.name, limits);
    ctx.signal.throwIfAborted();

    const out = new Renderer(file.name, limits);
    const sections: ExtractedSection[] = [];
    roots.forEach((root, index) => {
      const prefix = roots.length > 1 ? `document ${index + 1}` : undefined;
      sections.push(...out.sectionsOf(root, prefix));
    });
    return { provider: 'structured', sections, metadata: { format, documents: roots.length } };
  },
  canStream: (file) => isJsonLines(file),
  /**
   * JSON Lines only (other JSON and YAML are one value, parsed whole): the same record sections line by
   * line, a checkpoint after each (state: characters rendered so far, for the limit). A line longer than
   * a read piece is put together again (a record is parsed whole), bounded by the line limit.
   */
  async *streamSections(file, ctx, from?: StreamCheckpoint) {
    const { limits } = ctx.config;
    if (!isJsonLines(file)) {
      // The catalog streams by provider; only JSON Lines has records to stream, so say so plainly.
      throw new Error(`${file.name}: only JSON Lines files are streamed by the structured provider`);
    }
    await prescanLines(file, ctx, from?.byte ?? 0, { startLine: Number(from?.state?.line ?? 1) });
    const out = new Renderer(file.name, limits, Number(from?.state?.characters ?? 0));
    let records = Number(from?.state?.records ?? 0);
    let pieces: string[] = [];
    for await (const piece of streamLines(file, ctx, from?.byte ?? 0, {
      startLine: Number(from?.state?.line ?? 1),
    })) {
      pieces.push(piece.text);
      if (!piece.complete) continue;
      const line = pieces.length === 1 ? (pieces[0] as string) : pieces.join('');
      pieces = [];
      // Lone CRs are line ends in extract's normalised text; a JSON value never holds a raw one.
      for (const part of line.split('\r')) {
        const section = jsonLinesRecord(part, piece.line, file.name, limits, out);
        if (!section) continue;
        records++;
        yield {
          section,
          checkpoint: {
            byte: piece.end,
            state: { characters: out.characters, records, line: piece.line + 1 },
          },
        };
      }
    }
    return { metadata: { format: 'jsonl', documents: records } };
  },
};

function isJsonLines(file: Pick<SourceFile, 'name' | 'mimeType'>): boolean {
  const ext = fileExtension(file.name);
  if (JSONL_EXTENSIONS.includes(ext)) return true;
  if (ext === '.json' || ext === '.yaml' || ext === '.yml') return false;
  return JSONL_MIME_TYPES.includes(bareMime(file.mimeType));
}

/** One JSON Lines record as a section (blank lines have none), headed by its line number. */
function jsonLinesRecord(
  line: string,
  lineNumber: number,
  name: string,
  limits: ExtractionLimits,
  out: Renderer,
): ExtractedSection | undefined {
  if (!line.trim()) return undefined;
  let value: unknown;
  try {
    value = parseJson(line, name, limits);
  } catch (err) {
    if (err instanceof CorruptFileError) {
      // Each line is parsed alone, so its position says line 1: name the file's line instead.
      const message = err.message.replace(/\(line 1, /, `(line ${lineNumber}, `);
      throw new CorruptFileError(
        message.includes(`line ${lineNumber}`) ? message : `${message} (line ${lineNumber})`,
      );
    }
    throw err;
  }
  return out.recordSection(value, `line ${lineNumber}`);
}

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

function parseJson(text: string, name: string, limits: ExtractionLimits): unknown {
  if (!text.trim()) throw new CorruptFileError(`${name} is empty: a JSON file must hold a value`);
  checkJsonDepth(text, name, limits);
  try {
    return JSON.parse(text);
  } catch (err) {
    if (isResourceExhaustion(err)) throw err;
    const offset = jsonErrorOffset(text);
    const where = offset >= 0 ? describeOffset(text, offset) : 'unknown position';
    throw new CorruptFileError(`${name} is not valid JSON (${where}): ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Brackets outside strings, counted without recursion: a file nested past the limit is never parsed. */
function checkJsonDepth(text: string, name: string, limits: ExtractionLimits): void {
  const max = limits.maxNestingDepth;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, stepping over escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        throw limitExceeded(
          name,
          limits,
          'maxNestingDepth',
          `level ${depth} opens at ${describeOffset(text, i)}`,
        );
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
}

function describeOffset(text: string, offset: number): string {
  const { line, column } = lineAndColumn(text, offset);
  return `line ${line}, column ${column}, offset ${offset}`;
}

function parseYaml(text: string, name: string, limits: ExtractionLimits): unknown[] {
  checkYamlTokens(text, name, limits);
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    // Unique keys are checked below in one pass: the yaml package's own check is quadratic in the number
    // of keys of a map (32,000 keys take a minute).
    docs = parseAllDocuments(text, { uniqueKeys: false });
  } catch (err) {
    throw yamlFailure(err, name, limits);
  }
  // A stream that is not a document list at all comes back as an EmptyStream with its own errors.
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const first = doc.errors[0];
    if (first) {
      // The parser reports its own stack overflow as an error of the document: nesting, not damage.
      const where = / at line \d+, column \d+/.exec(first.message)?.[0] ?? '';
      if (/Maximum call stack/.test(first.message)) {
        throw limitExceeded(
          name,
          limits,
          'maxNestingDepth',
          `nested too deeply for the parser to follow${where}`,
        );
      }
      // The yaml message already ends with "at line L, column C" and a caret excerpt.
      throw new CorruptFileError(`${name} is not valid YAML: ${first.message.trim()}`);
    }
  }
  for (const doc of list) checkYamlTree(doc.contents, text, name, limits);
  return list.map((doc) => {
    try {
      return doc.toJS({ maxAliasCount: limits.maxYamlAliases }) as unknown;
    } catch (err) {
      throw yamlFailure(err, name, limits);
    }
  });
}

/**
 * One pass over the tokens before anything is built: alias nodes over the limit ("billion laughs" needs
 * many) and flow collections nested past the depth limit stop the file at once.
 */
function checkYamlTokens(text: string, name: string, limits: ExtractionLimits): void {
  let aliases = 0;
  let flowDepth = 0;
  let previous = '';
  for (const token of new Lexer().lex(text)) {
    const first = token.charCodeAt(0);
    // "\x1f" marks the scalar that follows, so a block scalar's "*text" is not an alias.
    if (first === 0x2a && previous !== '\x1f') {
      if (++aliases > limits.maxYamlAliases) {
        throw limitExceeded(name, limits, 'maxYamlAliases', `more than ${limits.maxYamlAliases} alias nodes`);
      }
    } else if (token === '[' || token === '{') {
      if (++flowDepth > limits.maxNestingDepth) {
        throw limitExceeded(
          name,
          limits,
          'maxNestingDepth',
          `more than ${limits.maxNestingDepth} levels of [ and {`,
        );
      }
    } else if (token === ']' || token === '}') {
      flowDepth--;
    }
    previous = token;
  }
}

/** Nesting depth and unique map keys, walked without recursion. */
function checkYamlTree(root: unknown, text: string, name: string, limits: ExtractionLimits): void {
  const where = (node: Node) => {
    const offset = node.range?.[0];
    if (offset === undefined) return 'unknown position';
    const { line, column } = lineAndColumn(text, offset);
    return `line ${line}, column ${column}`;
  };
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > limits.maxNestingDepth) {
      throw limitExceeded(name, limits, 'maxNestingDepth', `level ${depth} opens at ${where(node)}`);
    }
    if (isSeq(node)) {
      for (const item of node.items) stack.push([item, depth + 1]);
      continue;
    }
    const keys = new Set<unknown>();
    for (const pair of node.items) {
      const key = pair.key;
      if (isScalar(key)) {
        if (keys.has(key.value)) {
          throw new CorruptFileError(`${name} is not valid YAML: Map keys must be unique at ${where(key)}`);
        }
        keys.add(key.value);
      } else {
        stack.push([key, depth + 1]);
      }
      stack.push([pair.value, depth + 1]);
    }
  }
}

/** What the yaml package throws, told apart: limits crossed, the engine outgrown, or a damaged file. */
function yamlFailure(err: unknown, name: string, limits: ExtractionLimits): Error {
  if (err instanceof NonRetryableError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/Excessive alias count|Alias resolution is disabled/.test(message)) {
    return limitExceeded(
      name,
      limits,
      'maxYamlAliases',
      'its aliases expand exponentially ("billion laughs")',
    );
  }
  if (/Maximum call stack/.test(message)) {
    return limitExceeded(name, limits, 'maxNestingDepth', 'nested too deeply for the parser to follow');
  }
  if (isResourceExhaustion(err)) return err as Error;
  // Unresolved aliases, bad merge keys: properties of the file, which retrying cannot change.
  return new CorruptFileError(`${name} is not valid YAML: ${message.trim()}`);
}

/**
 * Renders parsed values as sections, counting what it writes: aliases may share one value many times over
 * (or contain themselves), so depth and characters are bounded here too, not only in the source text.
 */
class Renderer {
  constructor(
    private readonly name: string,
    private readonly limits: ExtractionLimits,
    /** Characters rendered so far (a resumed stream starts from its checkpoint's count). */
    public characters = 0,
  ) {}

  /** A whole value as one section (a JSON Lines record): "key: value" lines, or the scalar itself. */
  recordSection(value: unknown, heading: string): ExtractedSection | undefined {
    const text = isComposite(value) ? this.render(value, 0).join('\n') : this.count(scalar(value));
    if (!text.trim()) return undefined;
    return { text, heading, kind: Array.isArray(value) ? 'list' : 'paragraph' };
  }

  /** One section per top-level key (or array item) so chunk boundaries follow the data's own structure. */
  sectionsOf(root: unknown, prefix: string | undefined): ExtractedSection[] {
    const join = (key: string) => (prefix ? `${prefix} > ${key}` : key);
    if (isRecord(root) || Array.isArray(root)) {
      const entries = Array.isArray(root)
        ? root.map((v, i) => [`[${i}]`, v] as const)
        : Object.entries(root).map(([k, v]) => [k, v] as const);
      return entries.map(([key, value]) => ({
        text: this.render({ [key]: value }, 0).join('\n'),
        heading: join(key),
        kind: Array.isArray(value) ? ('list' as const) : ('paragraph' as const),
      }));
    }
    const text = this.count(scalar(root));
    return text.trim() ? [{ text, kind: 'paragraph', ...(prefix ? { heading: prefix } : {}) }] : [];
  }

  private count(line: string): string {
    this.characters += line.length + 1;
    if (this.characters > this.limits.maxExtractedChars) {
      throw limitExceeded(this.name, this.limits, 'maxExtractedChars', 'its values repeat through aliases');
    }
    return line;
  }

  private push(lines: string[], ...more: string[]): void {
    for (const line of more) lines.push(this.count(line));
  }

  /** YAML-like lines without quoting: "key: value", nested keys indented, array items as "- " bullets. */
  private render(value: unknown, depth: number): string[] {
    const pad = '  '.repeat(depth);
    if (depth > this.limits.maxNestingDepth) {
      throw limitExceeded(
        this.name,
        this.limits,
        'maxNestingDepth',
        `level ${depth} reached through aliases`,
      );
    }
    if (depth > MAX_RENDER_DEPTH) {
      this.checkDepth(value, depth);
      return [this.count(`${pad}${JSON.stringify(value)}`)];
    }
    const lines: string[] = [];
    if (Array.isArray(value)) {
      for (const item of value) {
        if (isComposite(item)) {
          const inner = this.render(item, depth + 1);
          // The first nested line takes the bullet, YAML-style, instead of leaving a bare "-" line.
          lines.push(`${pad}- ${(inner[0] ?? '').trimStart()}`, ...inner.slice(1));
        } else {
          this.push(lines, ...block(`${pad}- `, scalar(item), pad));
        }
      }
      return lines;
    }
    if (isRecord(value)) {
      for (const [key, item] of Object.entries(value)) {
        if (isComposite(item)) lines.push(this.count(`${pad}${key}:`), ...this.render(item, depth + 1));
        else this.push(lines, ...block(`${pad}${key}: `, scalar(item), pad));
      }
      return lines;
    }
    return [this.count(`${pad}${scalar(value)}`)];
  }

  /**
   * What JSON.stringify is about to see, walked without recursion: nesting past the limit (a value that
   * contains itself nests without end) stops here rather than as a stack overflow or a circular-JSON
   * TypeError; every node costs a character, so shared values cannot make the walk explode either.
   */
  private checkDepth(root: unknown, rootDepth: number): void {
    const stack: [unknown, number][] = [[root, rootDepth]];
    while (stack.length > 0) {
      const [value, depth] = stack.pop() as [unknown, number];
      if (typeof value !== 'object' || value === null || value instanceof Date) continue;
      this.count('');
      if (depth > this.limits.maxNestingDepth) {
        throw limitExceeded(
          this.name,
          this.limits,
          'maxNestingDepth',
          `level ${depth} reached through aliases`,
        );
      }
      for (const item of Array.isArray(value) ? value : Object.values(value)) stack.push([item, depth + 1]);
    }
  }
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
