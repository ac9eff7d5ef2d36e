/**
 * Rules every content provider in PROVIDERS must keep, checked the same way for each: a new provider
 * gets a fixture entry below (a real sample, bytes its format forbids, what an empty file means) and
 * then passes or fails the same checks as the others.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import type { ExtractedDocument } from '../../src/domain/content.js';
import { CorruptFileError, LimitExceededError, NonRetryableError } from '../../src/domain/errors.js';
import {
  bareMime,
  createProviderCatalog,
  GENERIC_MIME_TYPE,
  mimeTypeForFileName,
} from '../../src/domain/provider-catalog.js';
import {
  type ContentProvider,
  DEFAULT_LIMITS,
  type ExtractionLimits,
  type LimitName,
  limitVariable,
  localContext,
  PROVIDERS,
  pickProvider,
  type SourceFile,
} from '../../src/providers/index.js';
import { formatBytes } from '../../src/providers/limits.js';
import {
  deepJson,
  docxXmlBomb,
  MiB,
  pdfFlateBomb,
  repeatedDeflate,
  yamlBillionLaughs,
  zipArchive,
} from '../support/hostile-files.js';
import { SAMPLES_DIR } from '../support/samples.js';

const NO_SECTIONS = 'no sections';
type EmptyFile = typeof NO_SECTIONS | RegExp;

interface Fixture {
  /** Real files from ../shared/samples this provider reads. */
  samples: string[];
  /** Files whose bytes the format forbids: each must be a CorruptFileError naming the file. */
  corrupt: () => { name: string; bytes: Uint8Array }[];
  /** What a 0-byte file with this extension gives: no sections, or a CorruptFileError saying so. */
  empty: (extension: string) => EmptyFile;
  /**
   * Files that cross one limit when it is set low (every other limit at its default): each must be a
   * LimitExceededError naming the limit, its value, its variable and the real file. Small files and
   * small limits, so a provider that ignored a limit would still finish quickly here.
   */
  limits: () => LimitCase[];
}

interface LimitCase {
  name: string;
  /** The file's bytes, or a sample of ../shared/samples. */
  bytes?: Uint8Array;
  sample?: string;
  limit: LimitName;
  value: number;
}

const sampleBytes = (name: string) => new Uint8Array(readFileSync(path.join(SAMPLES_DIR, name)));
const utf8 = (text: string) => new TextEncoder().encode(text);
const INVALID_UTF8 = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0xfe]);
const WITH_NUL = utf8('# Title\n\nsome\u0000text\n');
// Bytes that start right (a ZIP signature, a PDF header) and then go nowhere.
const ZIP_GARBAGE = new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Array(60).fill(0x41)]);
const PDF_GARBAGE = utf8('%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<<>>\n');
const randomish = (n: number) => new Uint8Array(n).map((_, i) => (i * 7919 + 13) % 251);
const half = (bytes: Uint8Array) => bytes.subarray(0, Math.floor(bytes.length / 2));
const MEDIA_SILENCE = path.join(projectRoot(), 'test/fixtures/media/silence.flac');
const MEDIA_TEXT_PNG = path.join(projectRoot(), 'test/fixtures/media/text.png');

/** HTML, CSV/TSV, XLSX, PPTX, ODT, RTF, EML and ZIP: fixtures made by scripts/fixtures/make-content-fixtures.sh. */
function CONTENT_TYPE_FIXTURES(): Record<string, Fixture> {
  const content = (name: string) => path.join(projectRoot(), 'test/fixtures/content', name);
  const bytesOf = (name: string) => new Uint8Array(readFileSync(content(name)));
  const packageCorruption = (ext: string, sample: string) => [
    { name: `text${ext}`, bytes: utf8('plain text pretending to be a document') },
    { name: `zip-garbage${ext}`, bytes: ZIP_GARBAGE },
    { name: `truncated${ext}`, bytes: half(bytesOf(sample)) },
  ];
  const bombEntry = (declaredSize?: number) =>
    zipArchive([
      { name: 'a.txt', data: 'a small member\n' },
      {
        name: 'payload.txt',
        deflated: repeatedDeflate(Buffer.from(''), Buffer.alloc(MiB, 'A'), 8, Buffer.from('\n')),
        ...(declaredSize ? { declaredSize } : {}),
      },
    ]);
  return {
    html: {
      samples: [content('field-guide.html')],
      corrupt: () => [{ name: 'page.html', bytes: WITH_NUL }],
      empty: () => NO_SECTIONS,
      limits: () => [
        {
          name: 'field-guide.html',
          sample: content('field-guide.html'),
          limit: 'maxExtractedChars',
          value: 100,
        },
      ],
    },
    csv: {
      samples: [content('cities.csv'), content('birds.tsv')],
      corrupt: () => [
        { name: 'latin1.csv', bytes: INVALID_UTF8 },
        { name: 'binary.tsv', bytes: WITH_NUL },
        { name: 'open-quote.csv', bytes: utf8('a,b\n"never closed,2\n') },
      ],
      empty: () => NO_SECTIONS,
      limits: () => [
        { name: 'cities.csv', sample: content('cities.csv'), limit: 'maxExtractedChars', value: 1000 },
        { name: 'wide.csv', bytes: utf8(`a,b\n${'x'.repeat(5000)},1\n`), limit: 'maxLineChars', value: 1000 },
      ],
    },
    xlsx: {
      samples: [content('inventory.xlsx')],
      corrupt: () => packageCorruption('.xlsx', 'inventory.xlsx'),
      empty: () => /is empty \(0 bytes\), not an XLSX workbook/,
      limits: () => [
        {
          name: 'inventory.xlsx',
          sample: content('inventory.xlsx'),
          limit: 'maxDecompressedBytes',
          value: 10 * 1024,
        },
        { name: 'inventory.xlsx', sample: content('inventory.xlsx'), limit: 'maxExtractedChars', value: 500 },
      ],
    },
    pptx: {
      samples: [content('review.pptx')],
      corrupt: () => packageCorruption('.pptx', 'review.pptx'),
      empty: () => /is empty \(0 bytes\), not a PPTX presentation/,
      limits: () => [
        {
          name: 'review.pptx',
          sample: content('review.pptx'),
          limit: 'maxDecompressedBytes',
          value: 10 * 1024,
        },
        { name: 'review.pptx', sample: content('review.pptx'), limit: 'maxExtractedChars', value: 50 },
      ],
    },
    odt: {
      samples: [content('journal.odt')],
      corrupt: () => packageCorruption('.odt', 'journal.odt'),
      empty: () => /is empty \(0 bytes\), not an ODT document/,
      limits: () => [
        { name: 'journal.odt', sample: content('journal.odt'), limit: 'maxDecompressedBytes', value: 1024 },
        { name: 'journal.odt', sample: content('journal.odt'), limit: 'maxExtractedChars', value: 50 },
      ],
    },
    rtf: {
      samples: [content('log.rtf')],
      corrupt: () => [{ name: 'notes.rtf', bytes: utf8('plain text, not rich text') }],
      empty: () => /is empty \(0 bytes\), not an RTF document/,
      limits: () => [{ name: 'log.rtf', sample: content('log.rtf'), limit: 'maxExtractedChars', value: 50 }],
    },
    eml: {
      samples: [content('survey.eml')],
      corrupt: () => [{ name: 'words.eml', bytes: utf8('just some words\nwith no header at all\n') }],
      empty: () => /is empty \(0 bytes\), not an e-mail message/,
      limits: () => [
        { name: 'survey.eml', sample: content('survey.eml'), limit: 'maxArchiveEntries', value: 1 },
        { name: 'survey.eml', sample: content('survey.eml'), limit: 'maxDecompressedBytes', value: 50 },
      ],
    },
    zip: {
      samples: [content('bundle.zip')],
      corrupt: () => [
        { name: 'text.zip', bytes: utf8('plain text pretending to be an archive') },
        { name: 'zip-garbage.zip', bytes: ZIP_GARBAGE },
        { name: 'truncated.zip', bytes: half(bytesOf('bundle.zip')) },
      ],
      empty: () => /is empty \(0 bytes\), not a ZIP archive/,
      limits: () => [
        { name: 'bundle.zip', sample: content('bundle.zip'), limit: 'maxArchiveEntries', value: 1 },
        // The directory declares 8 MiB: refused before inflating.
        { name: 'bomb.zip', bytes: bombEntry(), limit: 'maxDecompressedBytes', value: MiB },
        // The directory claims 1,000 bytes, the member inflates to 8 MiB: stopped while inflating.
        { name: 'lying.zip', bytes: bombEntry(1000), limit: 'maxDecompressedBytes', value: MiB },
        { name: 'bomb.zip', bytes: bombEntry(), limit: 'maxCompressionRatio', value: 100 },
      ],
    },
  };
}

const FIXTURES: Readonly<Record<string, Fixture>> = {
  text: {
    samples: ['small/sample.txt'],
    corrupt: () => [
      { name: 'latin1.txt', bytes: INVALID_UTF8 },
      { name: 'binary.log', bytes: WITH_NUL },
    ],
    empty: () => NO_SECTIONS,
    limits: () => [
      {
        name: 'one-line.txt',
        bytes: utf8(`short\n${'x'.repeat(5000)}\nshort\n`),
        limit: 'maxLineChars',
        value: 1000,
      },
      { name: 'no-newline.log', bytes: utf8('lol '.repeat(1_000_000)), limit: 'maxLineChars', value: 1000 },
      { name: 'long.txt', bytes: utf8('word '.repeat(10_000)), limit: 'maxExtractedChars', value: 1000 },
    ],
  },
  markdown: {
    samples: ['content/Sample.md', 'content/diary_sample.md'],
    corrupt: () => [
      { name: 'notes.md', bytes: WITH_NUL },
      { name: 'notes.markdown', bytes: INVALID_UTF8 },
    ],
    empty: () => NO_SECTIONS,
    limits: () => [
      {
        name: 'wide.md',
        bytes: utf8(`# Title\n\n${'word '.repeat(1000)}\n`),
        limit: 'maxLineChars',
        value: 1000,
      },
      { name: 'Sample.md', sample: 'content/Sample.md', limit: 'maxExtractedChars', value: 1000 },
    ],
  },
  structured: {
    samples: ['small/sample.json', 'small/sample.yaml'],
    corrupt: () => [
      { name: 'bad.json', bytes: utf8('{"a": [1, 2}') },
      { name: 'bad.yaml', bytes: utf8('a: 1\nb: [1, 2\nc: d: e\n') },
      { name: 'binary.yml', bytes: INVALID_UTF8 },
    ],
    // JSON needs one value, so an empty .json is damaged; an empty YAML stream is valid and holds nothing.
    empty: (extension) => (extension === '.json' ? /is empty: a JSON file must hold a value/ : NO_SECTIONS),
    limits: () => [
      { name: 'deep.json', bytes: utf8(deepJson(100)), limit: 'maxNestingDepth', value: 10 },
      { name: 'deep-flow.yaml', bytes: utf8(`a: ${deepJson(100)}\n`), limit: 'maxNestingDepth', value: 10 },
      {
        name: 'deep-block.yml',
        bytes: utf8(`${Array.from({ length: 30 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n')} leaf\n`),
        limit: 'maxNestingDepth',
        value: 10,
      },
      // 90 alias nodes (under the limit of 100) that expand to 10^10 strings: yaml's maxAliasCount stops it.
      { name: 'laughs.yaml', bytes: utf8(yamlBillionLaughs(10)), limit: 'maxYamlAliases', value: 100 },
      // 490 alias nodes: counted in the tokens before anything is built.
      { name: 'many-aliases.yaml', bytes: utf8(yamlBillionLaughs(50)), limit: 'maxYamlAliases', value: 100 },
      // Few aliases, each pasting a large value: the rendered text crosses the character limit.
      {
        name: 'paste.yaml',
        bytes: utf8(`big: &big "${'x'.repeat(5000)}"\ncopies: [${new Array(20).fill('*big').join(', ')}]\n`),
        limit: 'maxExtractedChars',
        value: 50_000,
      },
      { name: 'sample.json', sample: 'small/sample.json', limit: 'maxExtractedChars', value: 100 },
    ],
  },
  pdf: {
    samples: ['content/Sample.pdf', 'small/sample.pdf'],
    corrupt: () => [
      { name: 'random.pdf', bytes: randomish(4096) },
      { name: 'header-only.pdf', bytes: PDF_GARBAGE },
      { name: 'truncated.pdf', bytes: half(sampleBytes('content/Sample.pdf')) },
    ],
    empty: () => /is empty \(0 bytes\), not a PDF/,
    limits: () => [
      { name: 'Sample.pdf', sample: 'content/Sample.pdf', limit: 'maxPages', value: 3 },
      { name: 'Sample.pdf', sample: 'content/Sample.pdf', limit: 'maxExtractedChars', value: 1000 },
      // ~8 KB of PDF whose content stream inflates to 8 MiB.
      {
        name: 'flate-bomb.pdf',
        bytes: pdfFlateBomb({ inflatedBytes: 8 * MiB }),
        limit: 'maxDecompressedBytes',
        value: MiB,
      },
    ],
  },
  code: {
    // The project's own source is real code of two languages.
    samples: [
      path.join(projectRoot(), 'src/domain/tiers.ts'),
      path.join(projectRoot(), 'scripts/copy-assets.mjs'),
    ],
    corrupt: () => [
      { name: 'binary.py', bytes: WITH_NUL },
      { name: 'latin1.go', bytes: INVALID_UTF8 },
    ],
    empty: () => NO_SECTIONS,
    limits: () => [
      {
        name: 'bundle.min.js',
        bytes: utf8(`var a=${'1+'.repeat(5000)}1;\n`),
        limit: 'maxLineChars',
        value: 1000,
      },
      {
        name: 'tiers.ts',
        sample: path.join(projectRoot(), 'src/domain/tiers.ts'),
        limit: 'maxExtractedChars',
        value: 100,
      },
    ],
  },
  docx: {
    samples: ['content/Sample.docx'],
    corrupt: () => [
      { name: 'text.docx', bytes: utf8('plain text pretending to be a document') },
      { name: 'zip-garbage.docx', bytes: ZIP_GARBAGE },
      { name: 'truncated.docx', bytes: sampleBytes('content/Sample.docx').subarray(0, 5000) },
    ],
    empty: () => /is empty \(0 bytes\), not a DOCX file/,
    limits: () => [
      // The directory declares 8 MiB for word/document.xml: refused before inflating.
      {
        name: 'xml-bomb.docx',
        bytes: docxXmlBomb({ inflatedBytes: 8 * MiB }),
        limit: 'maxDecompressedBytes',
        value: MiB,
      },
      // The directory claims 1,000 bytes, the part inflates to 8 MiB: stopped while inflating.
      {
        name: 'lying.docx',
        bytes: docxXmlBomb({ inflatedBytes: 8 * MiB, declaredSize: 1000 }),
        limit: 'maxDecompressedBytes',
        value: MiB,
      },
      { name: 'Sample.docx', sample: 'content/Sample.docx', limit: 'maxDecompressedBytes', value: 10 * 1024 },
      { name: 'Sample.docx', sample: 'content/Sample.docx', limit: 'maxExtractedChars', value: 1000 },
    ],
  },
  audio: {
    // One second of digital silence (ffmpeg's anullsrc as FLAC): decoded, segmented, no engine started.
    // Speech through the real engines: test/integration/content-audio.test.ts.
    samples: [MEDIA_SILENCE],
    corrupt: () => [
      { name: 'random.wav', bytes: randomish(4096) },
      {
        name: 'header-only.wav',
        bytes: new Uint8Array([...utf8('RIFF$\u0010\u0000\u0000WAVEfmt '), ...new Array(60).fill(0)]),
      },
      { name: 'text.mp3', bytes: utf8('plain text pretending to be audio') },
    ],
    empty: () => /is empty \(0 bytes\), not audio/,
    limits: () => [
      // 1 s decodes to 32,000 bytes of 16 kHz PCM: refused from ffprobe's duration, before decoding.
      { name: 'silence.flac', sample: MEDIA_SILENCE, limit: 'maxDecompressedBytes', value: 1024 },
    ],
  },
  image: {
    // The top of small/sample.pdf's first page rendered by pdftoppm at 150 dpi: three lines of text.
    samples: [MEDIA_TEXT_PNG],
    corrupt: () => [
      { name: 'random.png', bytes: randomish(3000) },
      { name: 'text.jpg', bytes: utf8('plain text pretending to be a picture') },
      { name: 'truncated.png', bytes: new Uint8Array(readFileSync(MEDIA_TEXT_PNG)).subarray(0, 10_000) },
    ],
    empty: () => /is empty \(0 bytes\), not an image/,
    limits: () => [
      // 1275×420 pixels hold 2.1 MB as the 32-bit bitmap tesseract works on.
      { name: 'text.png', sample: MEDIA_TEXT_PNG, limit: 'maxDecompressedBytes', value: MiB },
      { name: 'text.png', sample: MEDIA_TEXT_PNG, limit: 'maxExtractedChars', value: 20 },
    ],
  },
  ...CONTENT_TYPE_FIXTURES(),
};

const tmp = mkdtempSync(path.join(tmpdir(), 'p8fs-conformance-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let uploads = 0;

/**
 * Writes bytes under a temp name that differs from `name`, as the activity's download does not promise
 * to keep it: messages must name the real file, never the temp one.
 */
function upload(name: string, bytes: Uint8Array): SourceFile {
  const file = path.join(tmp, `upload-${++uploads}`);
  writeFileSync(file, bytes);
  return { path: file, name, size: bytes.length };
}

/** A sample of ../shared/samples, or a file of this project (its own source code is real code). */
function sampleFile(name: string): SourceFile {
  const file = path.resolve(SAMPLES_DIR, name);
  return { path: file, name: path.basename(name), size: statSync(file).size };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function expectWellFormed(provider: ContentProvider, doc: ExtractedDocument): void {
  expect(doc.provider).toBe(provider.name);
  expect(doc.sections.every((s) => s.text.trim().length > 0)).toBe(true);
  if (doc.pageCount === undefined) {
    expect(doc.sections.filter((s) => s.page !== undefined)).toEqual([]);
  } else {
    expect(Number.isInteger(doc.pageCount) && doc.pageCount >= 1).toBe(true);
    const outOfRange = doc.sections.filter(
      (s) => !Number.isInteger(s.page) || (s.page as number) < 1 || (s.page as number) > (doc.pageCount ?? 0),
    );
    expect(outOfRange).toEqual([]);
  }
  // Extracted documents travel as JSON through S3: nothing may be lost on the way.
  expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
}

describe('the provider list', () => {
  it('has a conformance fixture for every provider, and none for providers that are gone', () => {
    expect(Object.keys(FIXTURES).sort()).toEqual(PROVIDERS.map((p) => p.name).sort());
  });

  it('gives no two providers the same name, mime type or extension', () => {
    // "value: provider, provider" for every value more than one provider claims.
    const shared = (claims: (p: ContentProvider) => readonly string[]) => {
      const owners = new Map<string, string[]>();
      for (const p of PROVIDERS)
        for (const value of claims(p)) owners.set(value, [...(owners.get(value) ?? []), p.name]);
      return [...owners]
        .filter(([, names]) => names.length > 1)
        .map(([v, names]) => `${v}: ${names.join(', ')}`);
    };
    expect(shared((p) => [p.name])).toEqual([]);
    expect(shared((p) => p.mimeTypes)).toEqual([]);
    expect(shared((p) => p.extensions)).toEqual([]);
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('%s provider', (name, provider) => {
  const fixture = FIXTURES[name] as Fixture;

  it('describes itself: name, version, bare lower-case mime types, dotted lower-case extensions', () => {
    expect(provider.name).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(provider.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(provider.mimeTypes.length).toBeGreaterThan(0);
    expect(provider.extensions.length).toBeGreaterThan(0);
    for (const mime of provider.mimeTypes) {
      expect(mime).toMatch(/^[a-z]+\/[a-z0-9.+-]+$/);
      expect(bareMime(mime)).toBe(mime);
      // The generic binary type says nothing about content: claiming it would swallow unknown files.
      expect(mime).not.toBe(GENERIC_MIME_TYPE);
    }
    for (const ext of provider.extensions) expect(ext).toMatch(/^\.[a-z0-9]+$/);
  });

  it('is what the catalog picks for each of its mime types and extensions', () => {
    for (const mime of provider.mimeTypes) expect(pickProvider(mime, 'upload')).toBe(name);
    for (const ext of provider.extensions) {
      const fileName = `Upload${ext.toUpperCase()}`;
      expect(pickProvider(undefined, fileName)).toBe(name);
      expect(pickProvider(GENERIC_MIME_TYPE, fileName)).toBe(name);
      // Uploads are labelled from the one extension table (or generically, for extensions it does not
      // list); either label must lead back to this provider.
      const label = mimeTypeForFileName(fileName);
      if (label !== GENERIC_MIME_TYPE) expect(provider.mimeTypes).toContain(label);
      expect(pickProvider(label, fileName)).toBe(name);
    }
  });

  it.each(fixture.samples)('extracts %s the same way twice, well formed', async (sample) => {
    const first = await provider.extract(sampleFile(sample), localContext());
    const second = await provider.extract(sampleFile(sample), localContext());
    expect(first.sections.length).toBeGreaterThan(0);
    expectWellFormed(provider, first);
    expect(second).toEqual(first);
  });

  it('rejects bytes its format forbids with a CorruptFileError naming the real file', async () => {
    for (const { name: fileName, bytes } of fixture.corrupt()) {
      const file = upload(fileName, bytes);
      const err = await rejection(provider.extract(file, localContext()));
      expect(err, fileName).toBeInstanceOf(CorruptFileError);
      expect((err as Error).message).toContain(fileName);
      expect((err as Error).message).not.toContain(path.basename(file.path));
    }
  });

  it('stops at each limit with a LimitExceededError naming the limit, its value, its variable and the file', async () => {
    const cases = fixture.limits();
    expect(cases.length).toBeGreaterThan(0);
    for (const { name: fileName, bytes, sample, limit, value } of cases) {
      const file = bytes ? upload(fileName, bytes) : { ...sampleFile(sample as string), name: fileName };
      const limits: ExtractionLimits = { ...DEFAULT_LIMITS, [limit]: value };
      const started = Date.now();
      const err = await rejection(provider.extract(file, localContext({ config: { limits } })));
      expect(err, `${fileName} (${limit})`).toBeInstanceOf(LimitExceededError);
      const message = (err as Error).message;
      expect(message).toContain(fileName);
      expect(message).toContain(limitVariable(limit));
      expect(message).toContain(`the ${limit === 'maxDecompressedBytes' ? formatBytes(value) : value} limit`);
      // Crossing a limit is found on the way, not after the work: these files are small, so is the time.
      expect(Date.now() - started, `${fileName} (${limit})`).toBeLessThan(5000);
    }
  });

  it('names the variable that set a limit when a tier variable did', async () => {
    const [first] = fixture.limits();
    const { name: fileName, bytes, sample, limit, value } = first as LimitCase;
    const file = bytes ? upload(fileName, bytes) : { ...sampleFile(sample as string), name: fileName };
    const variable = `${limitVariable(limit)}_SMALL`;
    const limits: ExtractionLimits = { ...DEFAULT_LIMITS, [limit]: value, variables: { [limit]: variable } };
    const err = await rejection(provider.extract(file, localContext({ config: { limits } })));
    expect((err as Error).message).toContain(`(${variable})`);
  });

  it('raises nothing but non-retryable errors for damaged input (a retry would fail the same way)', async () => {
    for (const { name: fileName, bytes } of fixture.corrupt()) {
      const err = await rejection(provider.extract(upload(fileName, bytes), localContext()));
      expect(err, fileName).toBeInstanceOf(NonRetryableError);
    }
  });

  it.each(provider.extensions)('reads an empty (0-byte) %s file as the format says', async (ext) => {
    const expected = fixture.empty(ext);
    const file = upload(`empty${ext}`, new Uint8Array(0));
    if (expected === NO_SECTIONS) {
      const doc = await provider.extract(file, localContext());
      expect(doc.sections).toEqual([]);
      expectWellFormed(provider, doc);
    } else {
      const err = await rejection(provider.extract(file, localContext()));
      expect(err).toBeInstanceOf(CorruptFileError);
      expect((err as Error).message).toMatch(expected);
      expect((err as Error).message).toContain(`empty${ext}`);
    }
  });

  it('stops with the signal reason when cancelled before it starts', async () => {
    const controller = new AbortController();
    // Temporal aborts with a CancelledFailure, which must come back unchanged to count as a cancellation.
    const reason = new Error('cancelled before start');
    controller.abort(reason);
    const sample = fixture.samples[0] as string;
    const ctx = localContext({ signal: controller.signal });
    expect(await rejection(provider.extract(sampleFile(sample), ctx))).toBe(reason);
  });
});

describe('cancelling a PDF extraction', () => {
  const pdf = PROVIDERS.find((p) => p.name === 'pdf') as ContentProvider;

  it('stops between pages with the signal reason, not a CorruptFileError', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const beats: unknown[] = [];
    const ctx = localContext({
      signal: controller.signal,
      heartbeat: (details) => {
        beats.push(details);
        controller.abort(reason);
      },
    });
    const err = await rejection(pdf.extract(sampleFile('content/Sample.pdf'), ctx));
    expect(err).toBe(reason);
    expect(beats).toEqual([{ page: 1, of: 8 }]);
  });

  it.each([0, 1, 5])(
    'stops with the reason when the abort lands %i ms in (read, load or first page)',
    async (ms) => {
      const controller = new AbortController();
      const reason = new Error('activity cancelled');
      const running = pdf.extract(
        sampleFile('content/Sample.pdf'),
        localContext({ signal: controller.signal }),
      );
      // The whole document takes hundreds of milliseconds, so each delay lands inside the extraction.
      setTimeout(() => controller.abort(reason), ms);
      expect(await rejection(running)).toBe(reason);
    },
  );
});

describe('the catalog over every provider', () => {
  it('is buildable from the descriptors alone', () => {
    const catalog = createProviderCatalog(
      PROVIDERS.map(({ name, mimeTypes, extensions }) => ({ name, mimeTypes, extensions })),
    );
    expect(catalog.names).toEqual(PROVIDERS.map((p) => p.name));
  });
});
