import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Chunk, chunkDocument, countTokens, SectionChunker } from '../../src/domain/chunking.js';
import { countRange, countSpans, countText, pretokenize } from '../../src/domain/chunking-tokens.js';
import type { ExtractedDocument, ExtractedSection } from '../../src/domain/content.js';
import { extractFile, pickProvider } from '../../src/providers/index.js';
import { TEXT_SAMPLE_FILES as SAMPLE_FILES, SAMPLES_DIR } from '../support/samples.js';

const samples = SAMPLES_DIR;
// From roomy to tight: the tight ones force sentence, line and word splits on every sample.
const SETTINGS = [
  { maxTokens: 400, overlapTokens: 40 },
  { maxTokens: 1000, overlapTokens: 0 },
  { maxTokens: 120, overlapTokens: 20 },
  { maxTokens: 40, overlapTokens: 8 },
];

const docs = new Map<string, ExtractedDocument>();
beforeAll(async () => {
  for (const name of SAMPLE_FILES) {
    const provider = pickProvider(undefined, name);
    if (!provider) throw new Error(`no provider for ${name}`);
    docs.set(name, await extractFile(provider, path.join(samples, name)));
  }
});
const doc = (name: string) => docs.get(name) as ExtractedDocument;

const words = (text: string) => text.split(/\s+/).filter(Boolean);
const normalise = (text: string) => words(text).join(' ');
const paragraphs = (texts: string[], kind: ExtractedSection['kind'] = 'paragraph'): ExtractedDocument => ({
  provider: 'text',
  sections: texts.map((text) => ({ text, kind })),
  metadata: {},
});

/** Longest suffix of `a` that is also a prefix of `b`, in characters. */
function sharedEdge(a: string, b: string): number {
  for (let n = Math.min(a.length, b.length); n > 0; n--) {
    if (a.endsWith(b.slice(0, n))) return n;
  }
  return 0;
}

// Deterministic prose: sentences of 8-20 words from a fixed vocabulary.
function prose(sentences: number, seed = 1): string {
  const vocabulary =
    'river stone quietly report engine window garden signal harvest lantern measure orbit pattern quarter'.split(
      ' ',
    );
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state;
  };
  const out: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const length = 8 + (next() % 13);
    const sentence = Array.from({ length }, () => vocabulary[next() % vocabulary.length]).join(' ');
    out.push(`${sentence[0]?.toUpperCase()}${sentence.slice(1)}.`);
  }
  return out.join(' ');
}

describe('chunkDocument on every sample', () => {
  for (const name of SAMPLE_FILES) {
    for (const options of SETTINGS) {
      it(`${name} at ${options.maxTokens}/${options.overlapTokens}: limits, exact counts, ordinals, whole words`, () => {
        const source = doc(name);
        const chunks = chunkDocument(source, options);
        expect(chunks.length).toBeGreaterThan(0);
        const vocabulary = new Set(source.sections.flatMap((s) => words(s.text)));
        chunks.forEach((chunk, index) => {
          expect(chunk.ordinal).toBe(index);
          expect(chunk.tokenCount).toBeLessThanOrEqual(options.maxTokens);
          expect(chunk.tokenCount).toBe(countTokens(chunk.text));
          expect(chunk.text.trim()).toBe(chunk.text);
          expect(chunk.text.length).toBeGreaterThan(0);
          // No cut inside a word: a chunk begins and ends on words the document really contains.
          const chunkWords = words(chunk.text);
          expect(vocabulary.has(chunkWords[0] as string), `first word of #${index}`).toBe(true);
          expect(vocabulary.has(chunkWords.at(-1) as string), `last word of #${index}`).toBe(true);
        });
      });
    }
  }

  it('loses nothing: without overlap the chunks are the document, in order', () => {
    for (const name of SAMPLE_FILES) {
      for (const maxTokens of [400, 60]) {
        const source = doc(name);
        const chunks = chunkDocument(source, { maxTokens, overlapTokens: 0 });
        expect(normalise(chunks.map((c) => c.text).join(' ')), name).toBe(
          normalise(source.sections.map((s) => s.text).join(' ')),
        );
      }
    }
  });

  it('is deterministic', () => {
    for (const name of SAMPLE_FILES) {
      const a = chunkDocument(doc(name), { maxTokens: 120, overlapTokens: 20 });
      const b = chunkDocument(doc(name), { maxTokens: 120, overlapTokens: 20 });
      expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    }
  });
});

describe('page numbers', () => {
  it('gives every Sample.pdf chunk its pages, covering the first and last page with text', () => {
    for (const options of SETTINGS) {
      const chunks = chunkDocument(doc('content/Sample.pdf'), options);
      for (const chunk of chunks) {
        expect(chunk.pages?.length).toBeGreaterThan(0);
        expect(chunk.pages).toEqual([...new Set(chunk.pages)].sort((a, b) => a - b));
      }
      expect(chunks[0]?.pages?.[0]).toBe(1);
      // Page 8 is an image without a text layer, so page 7 is the last one that yields chunks.
      expect(chunks.at(-1)?.pages?.at(-1)).toBe(7);
      const covered = new Set(chunks.flatMap((c) => c.pages ?? []));
      expect([...covered].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    }
  });

  it('lists both pages for a chunk that spans a page break', () => {
    const chunks = chunkDocument(doc('small/sample.pdf'), { maxTokens: 400, overlapTokens: 40 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.pages).toEqual([1, 2]);
  });

  it('has no pages for formats without pages', () => {
    const chunks = chunkDocument(doc('content/Sample.md'), { maxTokens: 400, overlapTokens: 40 });
    expect(chunks.every((c) => c.pages === undefined)).toBe(true);
  });
});

describe('boundaries', () => {
  it('starts a new chunk at each diary day, carrying its heading path', () => {
    const chunks = chunkDocument(doc('content/diary_sample.md'), { maxTokens: 400, overlapTokens: 40 });
    const days = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'];
    expect(chunks).toHaveLength(days.length);
    chunks.forEach((chunk, i) => {
      const day = days[i] as string;
      if (i === 0)
        expect(chunk.text.startsWith('Personal Journal - Week of March 2024\n\nMonday')).toBe(true);
      else expect(chunk.text.startsWith(day)).toBe(true);
      expect(chunk.heading).toMatch(i === 0 ? /^Personal Journal/ : new RegExp(`> ${day}, March`));
      expect(chunk.kinds).toContain('heading');
    });
  });

  it('never leaves a heading at the end of a chunk', () => {
    for (const name of [
      'content/Sample.md',
      'content/Sample.docx',
      'content/Sample.pdf',
      'content/diary_sample.md',
    ]) {
      const headings = new Set(
        doc(name)
          .sections.filter((s) => s.kind === 'heading')
          .map((s) => s.text),
      );
      for (const options of SETTINGS) {
        for (const chunk of chunkDocument(doc(name), options)) {
          const blocks = chunk.text.split('\n\n');
          if (blocks.length > 1)
            expect(headings.has(blocks.at(-1) as string), `${name} #${chunk.ordinal}`).toBe(false);
        }
      }
    }
  });

  it('keeps small sections whole, breaking between them rather than inside', () => {
    const texts = Array.from({ length: 30 }, (_, i) => `${prose(3, i + 1)} End ${i}.`);
    const chunks = chunkDocument(paragraphs(texts), { maxTokens: 200, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      for (const block of chunk.text.split('\n\n')) expect(texts).toContain(block);
    }
  });

  it('splits an oversized paragraph at sentence ends', () => {
    const text = prose(400);
    const chunks = chunkDocument(paragraphs([text]), { maxTokens: 150, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) {
      expect(chunk.tokenCount).toBeLessThanOrEqual(150);
      expect(chunk.text.endsWith('.')).toBe(true);
      expect(chunk.text[0]).toMatch(/[A-Z]/);
    }
  });

  it('splits a single endless sentence at word boundaries', () => {
    const text = prose(60).replace(/\./g, '');
    const chunks = chunkDocument(paragraphs([text]), { maxTokens: 50, overlapTokens: 5 });
    const vocabulary = new Set(words(text));
    for (const chunk of chunks) {
      expect(chunk.tokenCount).toBeLessThanOrEqual(50);
      for (const word of words(chunk.text)) expect(vocabulary.has(word)).toBe(true);
    }
  });

  it('splits code and lists at line ends first', () => {
    const code = Array.from({ length: 200 }, (_, i) => `const value${i} = compute(${i}); // step ${i}`).join(
      '\n',
    );
    const chunks = chunkDocument(paragraphs([code], 'code'), { maxTokens: 100, overlapTokens: 0 });
    const lines = new Set(code.split('\n'));
    for (const chunk of chunks) {
      for (const line of chunk.text.split('\n')) expect(lines.has(line)).toBe(true);
    }
  });

  it('cuts a word longer than a whole chunk by characters, as the only exception', () => {
    const blob = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo'.repeat(400);
    const chunks = chunkDocument(paragraphs([`before ${blob} after`]), { maxTokens: 100, overlapTokens: 10 });
    for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(100);
    expect(chunks.map((c) => c.text).join('')).toContain(blob.slice(0, 500));
  });
});

describe('overlap', () => {
  const options = { maxTokens: 120, overlapTokens: 30 };
  let chunks: Chunk[];
  beforeAll(() => {
    chunks = chunkDocument(paragraphs([prose(60, 7), prose(50, 8), prose(70, 9)]), options);
  });

  it('repeats the end of each chunk, as whole words, at the start of the next', () => {
    expect(chunks.length).toBeGreaterThan(5);
    for (let i = 1; i < chunks.length; i++) {
      const previous = (chunks[i - 1] as Chunk).text;
      const current = (chunks[i] as Chunk).text;
      const shared = sharedEdge(previous, current);
      expect(shared, `overlap into #${i}`).toBeGreaterThan(0);
      const carried = current.slice(0, shared);
      // Whole words: the carried text starts where a word starts in the previous chunk.
      expect(/\s/.test(previous[previous.length - shared - 1] ?? ' ')).toBe(true);
      expect(countTokens(carried)).toBeLessThanOrEqual(options.overlapTokens + 2);
      expect(countTokens(carried)).toBeGreaterThan(options.overlapTokens / 4);
    }
  });

  it('prefers to carry whole sentences', () => {
    const sentenceStarts = chunks.slice(1).filter((c) => /^[A-Z]/.test(c.text)).length;
    expect(sentenceStarts).toBeGreaterThan((chunks.length - 1) / 2);
  });

  it('adds no overlap when overlapTokens is 0, nor before a heading', () => {
    const none = chunkDocument(paragraphs([prose(200)]), { maxTokens: 120, overlapTokens: 0 });
    for (let i = 1; i < none.length; i++) {
      expect(sharedEdge((none[i - 1] as Chunk).text, (none[i] as Chunk).text)).toBeLessThan(20);
    }
    const diary = chunkDocument(doc('content/diary_sample.md'), { maxTokens: 400, overlapTokens: 40 });
    for (const chunk of diary.slice(1)) expect(chunk.text).toMatch(/^\w+day, March/);
  });
});

describe('edge cases', () => {
  it('returns no chunks for an empty or blank document', () => {
    expect(chunkDocument(paragraphs([]), { maxTokens: 100, overlapTokens: 10 })).toEqual([]);
    expect(chunkDocument(paragraphs(['  ', '\n\n']), { maxTokens: 100, overlapTokens: 10 })).toEqual([]);
  });

  it('treats special-token strings as ordinary text', () => {
    const text = 'A document that mentions <|endoftext|> and <|im_start|> literally.';
    expect(countTokens(text)).toBeGreaterThan(10);
    const chunks = chunkDocument(paragraphs([text]), { maxTokens: 100, overlapTokens: 0 });
    expect(chunks[0]?.text).toBe(text);
  });

  it('rejects impossible options', () => {
    const d = paragraphs(['x']);
    expect(() => chunkDocument(d, { maxTokens: 0, overlapTokens: 0 })).toThrow(RangeError);
    expect(() => chunkDocument(d, { maxTokens: 10.5, overlapTokens: 0 })).toThrow(RangeError);
    expect(() => chunkDocument(d, { maxTokens: 100, overlapTokens: 50 })).toThrow(RangeError);
    expect(() => chunkDocument(d, { maxTokens: 100, overlapTokens: -1 })).toThrow(RangeError);
  });

  it('counts tokens like cl100k_base', () => {
    expect(countTokens('hello world')).toBe(2);
    expect(countTokens('')).toBe(0);
  });
});

/** The extracted text chunk offsets point into: sections' trimmed texts joined by blank lines. */
const extractedText = (d: ExtractedDocument) =>
  d.sections
    .map((s) => s.text.trim())
    .filter(Boolean)
    .join('\n\n');

describe('chunk metadata', () => {
  it('char offsets locate every chunk in the extracted text, on every sample and setting', () => {
    for (const name of SAMPLE_FILES) {
      const source = doc(name);
      const text = extractedText(source);
      for (const options of SETTINGS) {
        let previousEnd = 0;
        for (const chunk of chunkDocument(source, options)) {
          expect(chunk.charStart).toBeTypeOf('number');
          const start = chunk.charStart as number;
          const end = chunk.charEnd as number;
          expect(end).toBeGreaterThan(start);
          expect(end).toBeLessThanOrEqual(text.length);
          // Ends only move forward, and the chunk's own words are exactly the text at its offsets.
          expect(end).toBeGreaterThanOrEqual(previousEnd);
          previousEnd = end;
          expect(
            normalise(text.slice(start, end)),
            `${name} ${JSON.stringify(options)} #${chunk.ordinal}`,
          ).toBe(normalise(chunk.text));
        }
      }
    }
  });

  it('carries sheet, slide, time range, source and section metadata through chunking', () => {
    const d: ExtractedDocument = {
      provider: 'test',
      metadata: {},
      sections: [
        {
          text: 'Revenue by quarter: one two three.',
          kind: 'table',
          sheet: 'Q1',
          metadata: { header: ['a', 'b'] },
        },
        { text: 'Costs by quarter: four five six.', kind: 'table', sheet: 'Q2', metadata: { header: ['c'] } },
        {
          text: 'Welcome to the talk.',
          kind: 'transcript',
          startSeconds: 12,
          endSeconds: 40,
          source: 'transcription',
        },
        {
          text: 'Second part of it.',
          kind: 'transcript',
          startSeconds: 40,
          endSeconds: 55.5,
          source: 'transcription',
        },
        { text: 'Scanned page words.', kind: 'page', page: 3, slide: 7, source: 'ocr' },
      ],
    };
    const [chunk] = chunkDocument(d, { maxTokens: 400, overlapTokens: 0 });
    expect(chunk).toMatchObject({
      sheets: ['Q1', 'Q2'],
      slides: [7],
      pages: [3],
      startSeconds: 12,
      endSeconds: 55.5,
      sources: ['transcription', 'ocr'],
      metadata: { header: ['a', 'b'] },
      charStart: 0,
      charEnd: extractedText(d).length,
      tokenCount: countTokens(chunk?.text ?? ''),
    });
    // Split apart, each chunk names only its own sections' fields.
    const small = chunkDocument(d, { maxTokens: 12, overlapTokens: 0 });
    const talk = small.find((c) => c.text.startsWith('Welcome'));
    expect(talk).toMatchObject({ startSeconds: 12, endSeconds: 55.5, sources: ['transcription'] });
    expect(talk?.sheets).toBeUndefined();
    expect(small.find((c) => c.text.includes('Revenue'))).toMatchObject({
      sheets: ['Q1'],
      metadata: { header: ['a', 'b'] },
    });
    // Text read from a text layer says nothing about its source.
    expect(
      chunkDocument(paragraphs(['plain']), { maxTokens: 50, overlapTokens: 0 })[0]?.sources,
    ).toBeUndefined();
  });

  it('a SectionChunker resumed from any quiet point yields exactly the chunks that follow it', () => {
    const options = { maxTokens: 120, overlapTokens: 20 };
    const sections: ExtractedSection[] = Array.from({ length: 240 }, (_, i) =>
      i % 17 === 0
        ? { text: `Heading ${i}`, kind: 'heading', heading: `Heading ${i}` }
        : { text: prose(1 + (i % 9), i), kind: 'paragraph', page: 1 + Math.floor(i / 50) },
    );
    const whole = chunkDocument({ provider: 'test', sections, metadata: {} }, options);
    // Every quiet point the chunker offers, with the index of the section to give it again.
    const chunker = new SectionChunker<number>(options);
    const points: { state: unknown; from: number }[] = [];
    sections.forEach((section, index) => {
      for (const step of chunker.add(section, index)) {
        const quiet = chunker.quiet;
        if (step && quiet && quiet.state.emitted === step.ordinal + 1) {
          points.push({ state: JSON.parse(JSON.stringify(quiet.state)), from: quiet.before as number });
        }
      }
    });
    for (const _ of chunker.finish());
    expect(points.length).toBeGreaterThan(20);
    for (const point of points.filter((_, i) => i % 9 === 0)) {
      const resumed = new SectionChunker<number>(options, point.state as never);
      const rest: Chunk[] = [];
      for (let i = point.from; i < sections.length; i++) {
        for (const step of resumed.add(sections[i] as ExtractedSection, i)) if (step) rest.push(step);
      }
      for (const step of resumed.finish()) rest.push(step);
      const emitted = (point.state as { emitted: number }).emitted;
      expect(rest).toEqual(whole.slice(emitted));
    }
  });
});

describe('exact counts from one tokenizer pass (chunking-tokens.ts)', () => {
  // Text that stresses the pre-token expression's edges: whitespace runs, CRLF, punctuation before
  // newlines, contractions, digits, non-Latin scripts, emoji, special-token strings, a lone surrogate.
  const alphabet = [
    'a',
    'Z',
    'word',
    ' the',
    ' ',
    '  ',
    '\t',
    '\n',
    '\r\n',
    '\n\n',
    ' \n ',
    '\u00a0',
    '.',
    '!',
    ':',
    ')',
    '"',
    "'s",
    "'ll",
    "'",
    '1',
    '23',
    '4567',
    'é',
    '中文',
    '—',
    '…',
    '🙂',
    '\ud800',
    '<|endoftext|>',
  ];
  let state = 11;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const junk = () => Array.from({ length: 20 + next(300) }, () => alphabet[next(alphabet.length)]).join('');
  const sampleText = () => extractedText(doc('content/Sample.md'));

  it('a block, any stretch of it and any chunk made of stretches count exactly like countTokens', () => {
    const corpus = sampleText();
    for (let i = 0; i < 1000; i++) {
      const source = i % 2 ? junk() : corpus.slice(next(corpus.length - 2000)).slice(0, 50 + next(1500));
      const block = pretokenize(source);
      expect(block.tokens).toBe(countTokens(source));
      const from = next(source.length);
      const to = from + next(source.length - from + 1);
      expect(countRange(block, from, to), JSON.stringify(source.slice(from, to))).toBe(
        countTokens(source.slice(from, to)),
      );
      const other = junk();
      const otherBlock = pretokenize(other);
      const a = next(other.length);
      const b = a + next(other.length - a + 1);
      const lead = ['', 'lead ', '\n'][next(3)] as string;
      const sep = ['\n\n', '', ' ', 'x'][next(4)] as string;
      const text = lead + source.slice(from, to) + sep + other.slice(a, b);
      const first = { start: lead.length, end: lead.length + to - from, block, from };
      const second = {
        start: first.end + sep.length,
        end: first.end + sep.length + b - a,
        block: otherBlock,
        from: a,
      };
      expect(countSpans(text, [first, second]), JSON.stringify(text)).toBe(countTokens(text));
      expect(countText(text)).toBe(countTokens(text));
    }
  });
});

describe('chunk text against the source', () => {
  it('without overlap, chunks are the extracted text with only the whitespace between them dropped', () => {
    for (const name of SAMPLE_FILES) {
      const source = doc(name);
      const text = extractedText(source);
      for (const maxTokens of [400, 120, 40]) {
        const chunks = chunkDocument(source, { maxTokens, overlapTokens: 0 });
        let rebuilt = '';
        for (const chunk of chunks) {
          const start = chunk.charStart as number;
          // Only whitespace lies between one chunk's end and the next one's start.
          expect(text.slice(rebuilt.length, start).trim(), `${name} #${chunk.ordinal}`).toBe('');
          rebuilt = text.slice(0, start) + chunk.text;
          // The chunk is the source text at its offsets, character for character.
          expect(text.slice(start, chunk.charEnd), `${name} #${chunk.ordinal}`).toBe(chunk.text);
        }
        expect(rebuilt).toBe(text);
      }
    }
  });

  it('with overlap, each chunk minus the carried words is the source text at its offsets', () => {
    const source = paragraphs([prose(80, 3), prose(60, 4), prose(90, 5)]);
    const text = extractedText(source);
    const chunks = chunkDocument(source, { maxTokens: 100, overlapTokens: 20 });
    expect(chunks.length).toBeGreaterThan(5);
    let previousEnd = 0;
    for (const chunk of chunks) {
      const start = chunk.charStart as number;
      const end = chunk.charEnd as number;
      // The carried part starts before the previous chunk's end; the rest continues the source.
      expect(start).toBeLessThanOrEqual(previousEnd === 0 ? 0 : previousEnd);
      const own = chunk.text.slice(chunk.text.length - (end - previousEnd)).trimStart();
      expect(text.slice(previousEnd, end).trimStart()).toBe(own);
      previousEnd = end;
    }
    expect(previousEnd).toBe(text.length);
  });

  it('a chunker state stays plain JSON (no tokenizer tables in heartbeat details)', () => {
    const chunker = new SectionChunker({ maxTokens: 60, overlapTokens: 10 });
    for (const _ of chunker.add({ text: prose(40, 2), kind: 'paragraph' }));
    const state = chunker.quiet?.state;
    for (const _ of chunker.add({ text: prose(5, 3), kind: 'paragraph' }));
    const latest = chunker.quiet?.state ?? state;
    expect(latest).toBeDefined();
    expect(JSON.parse(JSON.stringify(latest))).toEqual(latest);
    expect(Object.keys(latest?.overlap ?? {}).sort()).toEqual(
      latest?.overlap ? ['charStart', 'sections', 'text', 'tokens'] : [],
    );
  });
});
