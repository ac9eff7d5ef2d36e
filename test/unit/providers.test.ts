import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import mammoth from 'mammoth';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { LIMIT_DEFAULTS, readLimits } from '../../src/config/limits.js';
import type { ExtractedDocument } from '../../src/domain/content.js';
import {
  CorruptFileError,
  LimitExceededError,
  NON_RETRYABLE_ERROR_TYPES,
  NonRetryableError,
  UnsupportedFileTypeError,
} from '../../src/domain/errors.js';
import {
  createProviderCatalog,
  describeUnsupported,
  fileExtension,
  mimeTypeForFileName,
} from '../../src/domain/provider-catalog.js';
import { findFlateStreams, measureFlateStreams } from '../../src/providers/formats/pdf/pdf-streams.js';
import { textProvider } from '../../src/providers/formats/text.js';
import {
  DEFAULT_LIMITS,
  type ExtractionLimits,
  extractFile,
  LIMIT_NAMES,
  limitVariable,
  localContext,
  pickProvider,
} from '../../src/providers/index.js';
import { isResourceExhaustion } from '../../src/providers/limits.js';
import { docxXmlBomb, MiB, pdfFlateBomb } from '../support/hostile-files.js';

const samples = path.resolve(process.cwd(), '../shared/samples');
const sample = (name: string) => path.join(samples, name);
const tmp = mkdtempSync(path.join(tmpdir(), 'p8fs-providers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tempFile(name: string, content: string | Uint8Array): string {
  const file = path.join(tmp, name);
  writeFileSync(file, content);
  return file;
}

async function extractSample(name: string): Promise<ExtractedDocument> {
  const provider = pickProvider(undefined, name);
  if (!provider) throw new Error(`no provider for ${name}`);
  return extractFile(provider, sample(name));
}

const allText = (doc: ExtractedDocument) => doc.sections.map((s) => s.text).join('\n\n');

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('pickProvider', () => {
  it('trusts a specific mime type first', () => {
    expect(pickProvider('application/pdf', 'report.bin')).toBe('pdf');
    expect(pickProvider('text/markdown; charset=utf-8', 'notes.txt')).toBe('markdown');
    expect(pickProvider('application/json', 'x')).toBe('structured');
    expect(pickProvider('text/yaml', 'x')).toBe('structured');
    expect(pickProvider('application/x-yaml', 'x')).toBe('structured');
    expect(pickProvider('text/plain', 'x')).toBe('text');
    expect(pickProvider('application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'x')).toBe(
      'docx',
    );
  });

  it('falls back to the extension for generic or missing mime types', () => {
    expect(pickProvider('application/octet-stream', '/buckets/t/uploads/Report.PDF')).toBe('pdf');
    expect(pickProvider(undefined, 'a.md')).toBe('markdown');
    expect(pickProvider(undefined, 'a.markdown')).toBe('markdown');
    expect(pickProvider('', 'a.yml')).toBe('structured');
    expect(pickProvider(undefined, 'a.yaml')).toBe('structured');
    expect(pickProvider(undefined, 'a.json')).toBe('structured');
    expect(pickProvider(undefined, 'a.log')).toBe('text');
    expect(pickProvider(undefined, 'a.text')).toBe('text');
    expect(pickProvider(undefined, 'a.docx')).toBe('docx');
    // text/plain is true of markdown and YAML too, so the more specific extension wins.
    expect(pickProvider('text/plain', 'notes.md')).toBe('markdown');
    expect(pickProvider('text/plain; charset=utf-8', 'config.yaml')).toBe('structured');
    expect(pickProvider('text/plain', 'notes.txt')).toBe('text');
    expect(pickProvider('text/plain', 'report.pdf')).toBe('text');
  });

  it('has no provider for unknown files, and says so clearly', () => {
    // Audio and images have providers now (audio.ts, image.ts).
    expect(pickProvider('audio/wav', 'Sample.wav')).toBe('audio');
    expect(pickProvider(undefined, 'photo.JPG')).toBe('image');
    // CSV has one now (csv.ts); unknown files get the file-info fallback in the activity, not from here.
    expect(pickProvider(undefined, 'table.csv')).toBe('csv');
    expect(pickProvider(undefined, 'firmware.bin')).toBeUndefined();
    expect(pickProvider('application/octet-stream', 'README')).toBeUndefined();
    expect(describeUnsupported('audio/wav', 'Sample.wav')).toBe(
      'no content provider for audio/wav (.wav) yet',
    );
    expect(describeUnsupported(undefined, 'README')).toBe(
      'no content provider for unknown type (no extension) yet',
    );
  });

  it('rejects an unknown provider name at run time', async () => {
    const err = await rejection(extractFile('nope', sample('small/sample.txt')));
    expect(err).toBeInstanceOf(UnsupportedFileTypeError);
  });
});

describe('provider catalog', () => {
  it('has one extension rule: a leading-dot name is a hidden file without an extension', () => {
    expect(fileExtension('/buckets/t/uploads/Report.PDF')).toBe('.pdf');
    expect(fileExtension('archive.tar.gz')).toBe('.gz');
    expect(fileExtension('.bashrc')).toBe('');
    expect(fileExtension('config/.env')).toBe('');
    expect(fileExtension('.config.yaml')).toBe('.yaml');
    expect(fileExtension('dir.d/README')).toBe('');
    expect(fileExtension('trailing.')).toBe('.');
  });

  it('derives upload mime types from the same extension rule', () => {
    expect(mimeTypeForFileName('notes.MD')).toBe('text/markdown');
    expect(mimeTypeForFileName('/x/config.yml')).toBe('application/x-yaml');
    expect(mimeTypeForFileName('Sample.wav')).toBe('audio/wav');
    expect(mimeTypeForFileName('table.csv')).toBe('text/csv');
    expect(mimeTypeForFileName('.md')).toBe('application/octet-stream');
    expect(mimeTypeForFileName('dir.md/README')).toBe('application/octet-stream');
    expect(mimeTypeForFileName('README')).toBe('application/octet-stream');
  });

  it('chooses from descriptor data alone, and refuses two providers claiming one type', () => {
    const catalog = createProviderCatalog([
      { name: 'plain', mimeTypes: ['text/plain'], extensions: ['.txt'] },
      { name: 'csv', mimeTypes: ['text/csv'], extensions: ['.csv'] },
      { name: 'audio', mimeTypes: ['audio/wav'], extensions: ['.wav'] },
    ]);
    expect(catalog.names).toEqual(['plain', 'csv', 'audio']);
    expect(catalog.pick('text/plain', 'table.csv')).toBe('csv');
    expect(catalog.pick('text/plain', 'sound.wav')).toBe('plain');
    expect(catalog.pick('application/octet-stream', 'sound.WAV')).toBe('audio');
    expect(catalog.pick(undefined, '.wav')).toBeUndefined();
    expect(() =>
      createProviderCatalog([
        { name: 'a', mimeTypes: ['text/plain'], extensions: ['.txt'] },
        { name: 'b', mimeTypes: ['text/x-b'], extensions: ['.TXT'] },
      ]),
    ).toThrow('content providers a and b both claim .txt');
  });
});

describe('text provider', () => {
  it('splits small/sample.txt into paragraphs on blank lines', async () => {
    const doc = await extractSample('small/sample.txt');
    expect(doc.provider).toBe('text');
    expect(doc.sections).toHaveLength(8);
    expect(doc.sections[0]?.text).toBe('This is a sample text file for testing the text content provider.');
    expect(doc.sections.at(-1)?.text).toBe('Final paragraph with conclusion text.');
    expect(doc.sections.every((s) => s.kind === 'paragraph' && s.text === s.text.trim())).toBe(true);
  });

  it('normalises CRLF line ends and strips a BOM', async () => {
    const file = tempFile('crlf.txt', '\ufeffone\r\ntwo\r\n\r\nthree\r\n');
    const doc = await extractFile('text', file);
    expect(doc.sections.map((s) => s.text)).toEqual(['one\ntwo', 'three']);
  });

  it('rejects binary content: NUL bytes', async () => {
    const file = tempFile('binary.txt', new Uint8Array([72, 105, 0, 1, 2, 3]));
    const err = await rejection(extractFile('text', file));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('binary.txt');
    expect(err.message).toContain('NUL');
  });

  it('rejects binary content: invalid UTF-8', async () => {
    const file = tempFile('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0xfe]));
    const err = await rejection(extractFile('text', file));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('UTF-8');
  });

  it('rejects a WAV file handed to the text provider', async () => {
    const err = await rejection(extractFile('text', sample('small/sample.wav')));
    expect(err).toBeInstanceOf(CorruptFileError);
  });
});

describe('markdown provider', () => {
  it('keeps headings as sections and tags every section with its heading path', async () => {
    const doc = await extractSample('content/diary_sample.md');
    expect(doc.provider).toBe('markdown');
    const headings = doc.sections.filter((s) => s.kind === 'heading').map((s) => s.text);
    expect(headings[0]).toBe('Personal Journal - Week of March 2024');
    expect(headings).toContain('Monday, March 18, 2024');
    const goals = doc.sections.find((s) => s.text.startsWith('- Finalize the marketing materials'));
    expect(goals?.kind).toBe('list');
    expect(goals?.heading).toBe('Personal Journal - Week of March 2024 > Monday, March 18, 2024');
    expect(doc.metadata.title).toBe('Personal Journal - Week of March 2024');
  });

  it('reads content/Sample.md without its embedded base64 image and with clean headings', async () => {
    const doc = await extractSample('content/Sample.md');
    const text = allText(doc);
    expect(text).not.toContain('base64');
    expect(text.length).toBeLessThan(20_000);
    expect(doc.metadata.droppedDataImages).toBe(1);
    const headings = doc.sections.filter((s) => s.kind === 'heading').map((s) => s.text);
    expect(headings).toContain('P8FS - Next Generation Smart Content Management System');
    expect(headings).toContain('System Architecture');
    const prerequisites = doc.sections.find((s) => s.text === 'Prerequisites');
    expect(prerequisites?.heading).toBe(
      'P8FS - Next Generation Smart Content Management System > Quick Start > Prerequisites',
    );
    // Exported-markdown escapes are undone in text ("\-LsSf" reads "-LsSf").
    expect(text).toContain('curl -LsSf https://astral.sh/uv/install.sh | sh');
    expect(doc.sections.some((s) => s.kind === 'list')).toBe(true);
  });

  it('keeps fenced code whole, keeps front matter as metadata, and handles setext headings', async () => {
    const file = tempFile(
      'doc.md',
      [
        '---',
        'title: Front',
        'tags: [a, b]',
        '---',
        'Intro',
        '=====',
        '',
        'Some text.',
        '',
        '## Setup',
        '',
        '```sh',
        'npm install',
        '',
        'npm test',
        '```',
        '',
        '| a | b |',
        '|---|---|',
        '| 1 | 2 |',
        '',
        '***',
        '',
        'snake_case_name stays.',
      ].join('\n'),
    );
    const doc = await extractFile('markdown', file);
    expect(doc.metadata.frontMatter).toEqual({ title: 'Front', tags: ['a', 'b'] });
    expect(doc.sections.map((s) => [s.kind, s.text.split('\n')[0], s.heading])).toEqual([
      ['heading', 'Intro', 'Intro'],
      ['paragraph', 'Some text.', 'Intro'],
      ['heading', 'Setup', 'Intro > Setup'],
      ['code', '```sh', 'Intro > Setup'],
      ['table', '| a | b |', 'Intro > Setup'],
      ['paragraph', 'snake_case_name stays.', 'Intro > Setup'],
    ]);
    expect(doc.sections[3]?.text).toBe('```sh\nnpm install\n\nnpm test\n```');
  });
});

describe('structured provider', () => {
  it('renders small/sample.json as readable key: value lines', async () => {
    const doc = await extractSample('small/sample.json');
    expect(doc.provider).toBe('structured');
    expect(doc.metadata.format).toBe('json');
    const text = allText(doc);
    expect(text).toContain('title: Sample JSON Document');
    expect(text).toContain('metadata:\n  author: Test Author');
    expect(text).toContain('  - id: 1\n    heading: Introduction');
    expect(text).toContain('tags:\n  - test\n  - sample\n  - json');
    expect(text).toContain('    - chunking');
    expect(text).not.toMatch(/[{}"]/);
    expect(doc.sections.map((s) => s.heading)).toEqual(['title', 'metadata', 'sections', 'tags', 'settings']);
  });

  it('renders small/sample.yaml the same way', async () => {
    const doc = await extractSample('small/sample.yaml');
    expect(doc.metadata.format).toBe('yaml');
    const text = allText(doc);
    expect(text).toContain('title: Sample YAML Document');
    expect(text).toContain('  created: 2025-09-06');
    expect(text).toContain('  version: 1.0');
    expect(text).toContain('  enabled: true\n  level: 5');
  });

  it('reports invalid JSON with the parser message and the position', async () => {
    const file = tempFile('bad.json', '{\n  "a": 1,\n  "b": }\n');
    const err = await rejection(extractFile('structured', file));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('bad.json is not valid JSON');
    expect(err.message).toContain('line 3, column 8');
    expect(err.message).toMatch(/Unexpected token/);
  });

  it('reports invalid YAML with the parser message and the position', async () => {
    const file = tempFile('bad.yaml', 'a: 1\nb: [1, 2\nc: d: e\n');
    const err = await rejection(extractFile('structured', file));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('bad.yaml is not valid YAML');
    expect(err.message).toMatch(/line \d+, column \d+/);
  });

  it('tells JSON from YAML by the real file name, then the mime type, and names the real file', async () => {
    const path = tempFile('source', '{a: 1}\n');
    const asYaml = await extractFile('structured', { path, name: 'flow.yaml', size: 7 });
    expect(asYaml.metadata.format).toBe('yaml');
    expect(asYaml.sections.map((s) => s.text)).toEqual(['a: 1']);
    const byMime = await extractFile('structured', { path, name: 'flow', mimeType: 'text/yaml', size: 7 });
    expect(byMime.metadata.format).toBe('yaml');
    const err = await rejection(extractFile('structured', { path, name: 'report.json', size: 7 }));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('report.json is not valid JSON');
    expect(err.message).not.toContain('source');
  });

  it('renders every document of a multi-document YAML stream', async () => {
    const file = tempFile('multi.yml', 'name: one\n---\nname: two\n');
    const doc = await extractFile('structured', file);
    expect(doc.metadata.documents).toBe(2);
    expect(doc.sections.map((s) => [s.heading, s.text])).toEqual([
      ['document 1 > name', 'name: one'],
      ['document 2 > name', 'name: two'],
    ]);
  });
});

describe('pdf provider', () => {
  it('extracts content/Sample.pdf page by page, quietly', async () => {
    const log = vi.spyOn(console, 'log');
    const warn = vi.spyOn(console, 'warn');
    const write = vi.spyOn(process.stdout, 'write');
    const doc = await extractSample('content/Sample.pdf');
    expect(log).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
    expect(write).not.toHaveBeenCalled();
    vi.restoreAllMocks();

    expect(doc.provider).toBe('pdf');
    expect(doc.pageCount).toBe(8);
    const pageText = (page: number) =>
      doc.sections
        .filter((s) => s.page === page)
        .map((s) => s.text)
        .join('\n');
    expect(pageText(1)).toContain('P8FS is a distributed content management system');
    expect(pageText(7)).toContain('Complete working examples with mock implementations');
    // Page 8 holds only the picture that closes the document: no text layer, flagged for OCR.
    expect(pageText(8)).toBe('');
    expect(doc.metadata.pagesWithoutText).toEqual([8]);
    expect(doc.sections.every((s) => s.page !== undefined && s.page >= 1 && s.page <= 8)).toBe(true);
    const pages = doc.sections.map((s) => s.page as number);
    expect(pages).toEqual([...pages].sort((a, b) => a - b));
  });

  it('finds headings by type size and gives sections their heading path', async () => {
    const doc = await extractSample('content/Sample.pdf');
    const title = doc.sections[0];
    expect(title?.kind).toBe('heading');
    expect(title?.text.replace(/\s+/g, ' ')).toBe('P8FS - Next Generation Smart Content Management System');
    const api = doc.sections.find((s) => s.text.startsWith('FastAPI, MCP and CLI'));
    expect(api?.heading).toBe(
      'P8FS - Next Generation Smart Content Management System > Module Architecture > 📁 p8fs-api',
    );
    expect(api?.text).toContain('Provides RESTful endpoints,\nstreaming chat interfaces');
    expect(doc.sections.some((s) => s.kind === 'list' && s.text.startsWith('● Auth router'))).toBe(true);
  });

  it('extracts both pages of small/sample.pdf', async () => {
    const doc = await extractSample('small/sample.pdf');
    expect(doc.pageCount).toBe(2);
    const pageText = (page: number) =>
      doc.sections
        .filter((s) => s.page === page)
        .map((s) => s.text)
        .join('\n');
    expect(pageText(1)).toContain('This is a test PDF for integration testing.');
    expect(pageText(2)).toContain('More content on the second page.');
    expect(doc.metadata.pagesWithoutText).toEqual([]);
  });

  it('rejects random bytes as a corrupt PDF, naming the file and the reason', async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 251);
    const file = tempFile('random.pdf', bytes);
    const err = await rejection(extractFile('pdf', file));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('random.pdf');
    expect(err.message).toContain('Invalid PDF structure');
  });

  it('reports progress per page through ctx.heartbeat', async () => {
    const beats: unknown[] = [];
    await extractFile('pdf', sample('small/sample.pdf'), localContext({ heartbeat: (d) => beats.push(d) }));
    expect(beats).toEqual([
      { page: 1, of: 2 },
      { page: 2, of: 2 },
    ]);
  });

  it('rejects a truncated copy of Sample.pdf as corrupt', async () => {
    const whole = readFileSync(sample('content/Sample.pdf'));
    const file = tempFile('truncated.pdf', whole.subarray(0, Math.floor(whole.length / 2)));
    const err = await rejection(extractFile('pdf', file));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('truncated.pdf');
  });
});

describe('docx provider', () => {
  it('extracts headings, paragraphs and lists from content/Sample.docx', async () => {
    const doc = await extractSample('content/Sample.docx');
    expect(doc.provider).toBe('docx');
    expect(doc.metadata.title).toBe('P8FS - Next Generation Smart Content Management System');
    const text = allText(doc);
    expect(text).toContain('P8FS is a distributed content management system');
    expect(text).not.toContain('data:image');
    const list = doc.sections.find((s) => s.kind === 'list' && s.text.includes('Auth router with OAuth 2.1'));
    expect(list?.heading).toBe(
      'P8FS - Next Generation Smart Content Management System > Module Architecture > 📁 p8fs-api',
    );
    // Ordered lists keep their numbers.
    expect(doc.sections.some((s) => s.kind === 'list' && s.text.startsWith('1. Install uv'))).toBe(true);
    // The sample has no table (see the synthetic document below for tables).
    expect(doc.sections.some((s) => s.kind === 'table')).toBe(false);
  });

  it('renders tables as "cell | cell" rows', async () => {
    const file = tempFile('table.docx', minimalDocx(TABLE_DOCUMENT));
    const doc = await extractFile('docx', file);
    expect(doc.sections.map((s) => [s.kind, s.text, s.heading])).toEqual([
      ['heading', 'Budget', 'Budget'],
      ['paragraph', 'Numbers for Q1 & Q2.', 'Budget'],
      ['table', 'Item | Cost\nServers | 1200\nStorage | 300', 'Budget'],
      ['paragraph', 'After the table.', 'Budget'],
    ]);
  });

  it('rejects a file that is not a ZIP', async () => {
    const file = tempFile('fake.docx', 'plain text pretending to be a document');
    const err = await rejection(extractFile('docx', file));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('fake.docx');
  });

  it('rejects a ZIP that is not a DOCX', async () => {
    const file = tempFile('other.docx', zip([['hello.txt', 'hi']]));
    const err = await rejection(extractFile('docx', file));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('other.docx');
  });

  it('rejects a truncated copy of Sample.docx', async () => {
    const whole = readFileSync(sample('content/Sample.docx'));
    const file = tempFile('truncated.docx', whole.subarray(0, 5000));
    const err = await rejection(extractFile('docx', file));
    expect(err).toBeInstanceOf(CorruptFileError);
  });
});

describe('extraction limits', () => {
  const limited = (overrides: Partial<ExtractionLimits>) =>
    localContext({ config: { limits: { ...DEFAULT_LIMITS, ...overrides } } });
  afterEach(() => vi.restoreAllMocks());

  it("are non-retryable: LimitExceededError is one of Temporal's nonRetryableErrorTypes", () => {
    expect(new LimitExceededError('x')).toBeInstanceOf(NonRetryableError);
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('LimitExceededError');
  });

  it('counts a line in characters, not bytes: 150 two-byte letters fit a 200-character limit', async () => {
    const file = tempFile('accents.txt', `${'é'.repeat(150)}\n`);
    const doc = await extractFile('text', file, limited({ maxLineChars: 200 }));
    expect(doc.sections[0]?.text).toHaveLength(150);
    const over = tempFile('accents-over.txt', `ok\n${'é'.repeat(250)}\n`);
    const err = await rejection(extractFile('text', over, limited({ maxLineChars: 200 })));
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err.message).toBe(
      'accents-over.txt has a line longer than the 200 limit on characters per line (P8FS_LIMIT_MAX_LINE_CHARS): line 2 holds at least 250 characters',
    );
  });

  it('lets one long line through for JSON (minified JSON is one line), holding it to the character limit', async () => {
    const file = tempFile(
      'minified.json',
      JSON.stringify({ items: Array.from({ length: 500 }, (_, i) => i) }),
    );
    const doc = await extractFile('structured', file, limited({ maxLineChars: 100 }));
    expect(doc.sections).toHaveLength(1);
  });

  it('reports a RangeError ("Invalid string length") as a limit, never as a damaged file', async () => {
    vi.spyOn(mammoth, 'convertToHtml').mockRejectedValue(new RangeError('Invalid string length'));
    const err = await rejection(extractFile('docx', sample('content/Sample.docx')));
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err).not.toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain('Sample.docx expands beyond what one extraction can hold in memory');
    expect(err.message).toContain('RangeError: Invalid string length');
    expect(err.message).not.toMatch(/damaged or not/);
  });

  it('turns an engine limit from any provider into a LimitExceededError (extractFile catches what they miss)', async () => {
    vi.spyOn(textProvider, 'extract').mockRejectedValue(new RangeError('Maximum call stack size exceeded'));
    const err = await rejection(extractFile('text', sample('small/sample.txt')));
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err.message).toContain('sample.txt nests deeper than the extraction can follow');
    expect(isResourceExhaustion(new Error('UnknownErrorException: Array buffer allocation failed'))).toBe(
      true,
    );
    expect(isResourceExhaustion(new TypeError('Cannot read properties of undefined'))).toBe(false);
  });

  it('holds every provider to the character limit in extractFile too', async () => {
    const err = await rejection(
      extractFile('pdf', sample('small/sample.pdf'), limited({ maxExtractedChars: 10 })),
    );
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err.message).toContain('sample.pdf yields more text than the 10 limit on extracted characters');
  });

  it('YAML: recursive and unresolved aliases and repeated keys are damaged files, not retryable errors', async () => {
    const recursive = await rejection(extractFile('structured', tempFile('self.yaml', 'a: &a [1, *a]\n')));
    expect(recursive).toBeInstanceOf(NonRetryableError);
    expect(recursive.message).toContain('self.yaml');
    const unresolved = await rejection(extractFile('structured', tempFile('dangling.yaml', 'a: *nowhere\n')));
    expect(unresolved).toBeInstanceOf(NonRetryableError);
    expect(unresolved.message).toContain('dangling.yaml');
    const repeated = await rejection(extractFile('structured', tempFile('twice.yaml', 'a: 1\nb: 2\na: 3\n')));
    expect(repeated).toBeInstanceOf(CorruptFileError);
    expect(repeated.message).toBe(
      'twice.yaml is not valid YAML: Map keys must be unique at line 3, column 1',
    );
  });

  it('YAML: nesting so deep that the parser overflows its stack is a limit, not an invalid file', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}-`);
    const err = await rejection(
      extractFile('structured', tempFile('stairs.yaml', `${lines.join('\n')} leaf\n`)),
    );
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err.message).toMatch(
      /^stairs\.yaml nests deeper than the 128 limit on nesting depth \(P8FS_LIMIT_MAX_NESTING_DEPTH\): nested too deeply for the parser to follow at line \d+, column \d+$/,
    );
  });

  it("YAML: a map's cost grows linearly with its keys (the yaml package's own key check is quadratic)", async () => {
    // A ratio measured side by side, not an absolute time (which a loaded machine breaks): four times the
    // keys cost about four times as long when linear, sixteen times when quadratic.
    const timed = async (count: number) => {
      const keys = Array.from({ length: count }, (_, i) => `key${i}: value ${i}`).join('\n');
      const started = performance.now();
      const doc = await extractFile('structured', tempFile(`wide-${count}.yaml`, keys));
      expect(doc.sections).toHaveLength(count);
      return performance.now() - started;
    };
    await timed(2_000); // warm-up: the parser's first call compiles its code
    const small = Math.min(await timed(10_000), await timed(10_000));
    const large = Math.min(await timed(40_000), await timed(40_000));
    console.log(
      `[yaml] 40,000 keys ${large.toFixed(0)} ms, 10,000 keys ${small.toFixed(0)} ms: ${(large / small).toFixed(1)}×`,
    );
    expect(large / small).toBeLessThan(10);
  }, 120_000);

  it('PDF: flate streams are measured only as far as needed, images and other filters left alone', async () => {
    const pdf = readFileSync(sample('content/Sample.pdf'));
    const streams = findFlateStreams(pdf);
    expect(streams.length).toBeGreaterThan(0);
    const measured = await measureFlateStreams(pdf, 64 * MiB, new AbortController().signal);
    expect(measured.bytes).toBeLessThanOrEqual(64 * MiB);
    expect(measured.streams).toBe(streams.length);
    const bomb = pdfFlateBomb({ inflatedBytes: 64 * MiB });
    expect(bomb.length).toBeLessThan(200_000);
    const exploded = await measureFlateStreams(bomb, 8 * MiB, new AbortController().signal);
    expect(exploded).toEqual({
      bytes: expect.any(Number),
      measured: 1,
      streams: 1,
      wrappedBytes: 0,
      unmeasured: [],
    });
    expect(exploded.bytes).toBeGreaterThan(8 * MiB);
    // Stopped just past the budget: the rest of the 64 MiB was never inflated.
    expect(exploded.bytes).toBeLessThan(9 * MiB);
    // Hex in front of the flate filter is not measured: that bomb is left to the extraction's memory ceiling.
    expect(findFlateStreams(pdfFlateBomb({ inflatedBytes: MiB, hexWrapped: true }))).toEqual([]);
  });

  it('DOCX: entries mammoth never reads (images) do not count against the decompressed bytes', async () => {
    const doc = await extractFile(
      'docx',
      sample('content/Sample.docx'),
      limited({ maxDecompressedBytes: MiB }),
    );
    expect(doc.sections.length).toBeGreaterThan(0);
    const bomb = tempFile('bomb.docx', docxXmlBomb({ inflatedBytes: 4 * MiB }));
    const err = await rejection(extractFile('docx', bomb, limited({ maxDecompressedBytes: MiB })));
    expect(err.message).toBe(
      'bomb.docx expands beyond the 1 MiB limit on decompressed bytes (P8FS_LIMIT_MAX_DECOMPRESSED_BYTES): word/document.xml declares 4.7 MiB after 968 bytes already read',
    );
  });
});

describe('extraction limits: configuration (P8FS_LIMIT_*, P8FS_EXTRACT_MEMORY_MB)', () => {
  it("has per-tier defaults that grow with the tier, and the providers' own defaults are the small tier's", () => {
    const problems: string[] = [];
    const limits = readLimits({}, problems);
    expect(problems).toEqual([]);
    const { memoryMb, ...small } = LIMIT_DEFAULTS.small;
    expect(limits.small.extraction).toEqual({ ...small, variables: {} });
    expect(DEFAULT_LIMITS).toEqual(small);
    expect(memoryMb).toBe(1024);
    expect([limits.small.memoryMb, limits.medium.memoryMb, limits.large.memoryMb]).toEqual([
      1024, 2048, 4096,
    ]);
    for (const name of LIMIT_NAMES) {
      expect(limits.medium.extraction[name]).toBeGreaterThanOrEqual(limits.small.extraction[name]);
      expect(limits.large.extraction[name]).toBeGreaterThanOrEqual(limits.medium.extraction[name]);
    }
    expect(limits.small.memoryVariable).toBe('P8FS_EXTRACT_MEMORY_MB');
  });

  it('reads one variable for every tier and one per tier (which wins and is named in messages)', () => {
    const problems: string[] = [];
    const limits = readLimits(
      {
        P8FS_LIMIT_MAX_PAGES: '100',
        P8FS_LIMIT_MAX_PAGES_LARGE: '900',
        P8FS_LIMIT_MAX_DECOMPRESSED_BYTES_SMALL: '64MiB',
        P8FS_EXTRACT_MEMORY_MB_MEDIUM: '3000',
      },
      problems,
    );
    expect(problems).toEqual([]);
    expect([limits.small, limits.medium, limits.large].map((t) => t.extraction.maxPages)).toEqual([
      100, 100, 900,
    ]);
    expect(limits.large.extraction.variables).toEqual({ maxPages: 'P8FS_LIMIT_MAX_PAGES_LARGE' });
    expect(limits.small.extraction.maxDecompressedBytes).toBe(64 * MiB);
    expect(limits.small.extraction.variables?.maxDecompressedBytes).toBe(
      'P8FS_LIMIT_MAX_DECOMPRESSED_BYTES_SMALL',
    );
    expect(limits.medium.memoryMb).toBe(3000);
    expect(limits.medium.memoryVariable).toBe('P8FS_EXTRACT_MEMORY_MB_MEDIUM');
  });

  it('names each bad variable and what it expects', () => {
    const problems: string[] = [];
    readLimits(
      {
        P8FS_LIMIT_MAX_LINE_CHARS: 'lots',
        P8FS_LIMIT_MAX_NESTING_DEPTH_SMALL: '100000',
        P8FS_LIMIT_MAX_DECOMPRESSED_BYTES: '1.5GiB',
        P8FS_EXTRACT_MEMORY_MB: '0',
      },
      problems,
    );
    expect(problems).toEqual([
      'P8FS_LIMIT_MAX_DECOMPRESSED_BYTES="1.5GiB" is invalid: expected a whole number at least 1 (bytes, or with a KiB, MiB or GiB suffix)',
      'P8FS_LIMIT_MAX_LINE_CHARS="lots" is invalid: expected a whole number at least 1',
      'P8FS_EXTRACT_MEMORY_MB="0" is invalid: expected a whole number 128 to 1048576',
      'P8FS_LIMIT_MAX_NESTING_DEPTH_SMALL="100000" is invalid: expected a whole number 1 to 1000',
    ]);
  });

  it('uses the variable names the providers name in their messages', () => {
    const problems: string[] = [];
    const env = Object.fromEntries(LIMIT_NAMES.map((name) => [limitVariable(name), 'x']));
    readLimits(env, problems);
    expect(problems.map((p) => p.split('=')[0])).toEqual(LIMIT_NAMES.map(limitVariable));
  });
});

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
const para = (text: string, style?: string) =>
  `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ''}<w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`;
const cell = (text: string) => `<w:tc>${para(text)}</w:tc>`;
const TABLE_DOCUMENT = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document ${W}><w:body>${para('Budget', 'Heading1')}${para('Numbers for Q1 &amp; Q2.')}<w:tbl>${[
  ['Item', 'Cost'],
  ['Servers', '1200'],
  ['Storage', '300'],
]
  .map((row) => `<w:tr>${row.map(cell).join('')}</w:tr>`)
  .join('')}</w:tbl>${para('After the table.')}</w:body></w:document>`;

/** The smallest DOCX mammoth accepts: content types, package and document relationships, styles. */
function minimalDocx(documentXml: string): Uint8Array {
  const rel = (id: string, type: string, target: string) =>
    `<Relationship Id="${id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/${type}" Target="${target}"/>`;
  const rels = (body: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${body}</Relationships>`;
  return zip([
    [
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    ],
    ['_rels/.rels', rels(rel('rId1', 'officeDocument', 'word/document.xml'))],
    ['word/_rels/document.xml.rels', rels(rel('rId1', 'styles', 'styles.xml'))],
    [
      'word/styles.xml',
      `<?xml version="1.0" encoding="UTF-8"?><w:styles ${W}><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style></w:styles>`,
    ],
    ['word/document.xml', documentXml],
  ]);
}

/** A stored (uncompressed) ZIP archive: enough for mammoth, and no test dependency. */
function zip(files: [string, string][]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of files) {
    const nameBytes = Buffer.from(name);
    const data = Buffer.from(content);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, ...centrals, end]));
}
