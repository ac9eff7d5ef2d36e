/**
 * The streaming form of each provider (ContentProvider.streamSections) against its whole-file form on real
 * files: the same sections in the same order, and a stream started from any of its checkpoints yields
 * exactly the sections after that checkpoint (what a retry after a dead worker relies on).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExtractedSection } from '../../src/domain/content.js';
import { csvProvider } from '../../src/providers/formats/csv.js';
import { markdownProvider } from '../../src/providers/formats/markdown.js';
import { pdfProvider } from '../../src/providers/formats/pdf/pdf.js';
import { structuredProvider } from '../../src/providers/formats/structured.js';
import { textProvider } from '../../src/providers/formats/text.js';
import { DEFAULT_MEDIA } from '../../src/providers/media/settings.js';
import {
  type ContentProvider,
  localContext,
  localFile,
  type SourceFile,
  type StreamCheckpoint,
} from '../../src/providers/provider.js';
import { SAMPLES_DIR } from '../support/samples.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'p8fs-stream-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// OCR off: page 8 of Sample.pdf (a photograph) would take seconds; both forms see the same setting.
const ctx = localContext({
  config: { limits: localContext().config.limits, media: { ...DEFAULT_MEDIA, ocr: false } },
});

async function streamed(provider: ContentProvider, file: SourceFile, from?: StreamCheckpoint) {
  const items: { section: ExtractedSection; checkpoint?: StreamCheckpoint }[] = [];
  const stream = provider.streamSections?.(file, ctx, from);
  if (!stream) throw new Error(`${provider.name} does not stream`);
  let next = await stream.next();
  while (!next.done) {
    items.push(next.value);
    next = await stream.next();
  }
  return { items, summary: next.value };
}

/** Whole-file sections equal the streamed ones, and every checkpoint resumes to the exact tail. */
async function expectSameAsWhole(provider: ContentProvider, file: SourceFile, resumeAt = 6) {
  const whole = await provider.extract(file, ctx);
  const { items } = await streamed(provider, file);
  expect(items.map((i) => i.section)).toEqual(whole.sections);
  const checkpoints = items.flatMap((item, index) =>
    item.checkpoint ? [{ index, cp: item.checkpoint }] : [],
  );
  expect(checkpoints.length).toBeGreaterThan(1);
  // Checkpoints are JSON (they travel in heartbeat details): compare after a round trip.
  const step = Math.max(1, Math.floor(checkpoints.length / resumeAt));
  for (let k = 0; k < checkpoints.length; k += step) {
    const { index, cp } = checkpoints[k] as { index: number; cp: StreamCheckpoint };
    const resumed = await streamed(provider, file, JSON.parse(JSON.stringify(cp)));
    expect(resumed.items.map((i) => i.section)).toEqual(whole.sections.slice(index + 1));
  }
  return { whole, items };
}

describe('streamed sections equal whole-file sections', () => {
  it('plain text (small/sample.txt and a CRLF file with long paragraphs)', async () => {
    await expectSameAsWhole(textProvider, await localFile(path.join(SAMPLES_DIR, 'small/sample.txt')));
    const crlf = path.join(dir, 'crlf.txt');
    writeFileSync(crlf, Array.from({ length: 50 }, (_, i) => `para ${i}\r\nline two ${i}\r\n\r\n`).join(''));
    await expectSameAsWhole(textProvider, await localFile(crlf));
  });

  it('Markdown: Sample.md and diary_sample.md, heading paths kept across resumes', async () => {
    for (const name of ['content/Sample.md', 'content/diary_sample.md']) {
      const { items } = await expectSameAsWhole(
        markdownProvider,
        await localFile(path.join(SAMPLES_DIR, name)),
      );
      expect(items.some((i) => i.section.heading)).toBe(true);
    }
  });

  it('Markdown: front matter, fences, setext headings and nested headings', async () => {
    const file = path.join(dir, 'doc.md');
    writeFileSync(
      file,
      [
        '---',
        'title: A test',
        'tags: [a, b]',
        '---',
        '# Top',
        '',
        'Intro paragraph',
        'continues here.',
        '',
        '## Second',
        '',
        '```js',
        'const a = 1;',
        '',
        'const b = 2;',
        '```',
        '',
        'Setext title',
        '============',
        '',
        '- item one',
        '- item two',
        '',
        '| a | b |',
        '| 1 | 2 |',
        '',
        '### Third',
        'Last words.',
        '',
      ].join('\n'),
    );
    const { items, whole } = await expectSameAsWhole(markdownProvider, await localFile(file), 20);
    expect(whole.metadata?.frontMatter).toEqual({ title: 'A test', tags: ['a', 'b'] });
    const last = items.at(-1)?.section;
    expect(last?.heading).toBe('Setext title > Third');
  });

  it('JSON Lines: one record per line, resumable after any record', async () => {
    const file = path.join(dir, 'events.jsonl');
    const records = Array.from({ length: 40 }, (_, i) => ({
      id: i,
      kind: i % 3 ? 'view' : 'buy',
      tags: [`t${i}`],
    }));
    writeFileSync(file, `${records.map((r) => JSON.stringify(r)).join('\n')}\n\n"a scalar"\n`);
    const source = await localFile(file);
    const { whole, items } = await expectSameAsWhole(structuredProvider, source, 10);
    expect(whole.sections).toHaveLength(41);
    expect(whole.sections[0]).toEqual({
      text: 'id: 0\nkind: buy\ntags:\n  - t0',
      heading: 'line 1',
      kind: 'paragraph',
    });
    expect(items.at(-1)?.section).toEqual({ text: 'a scalar', heading: 'line 42', kind: 'paragraph' });
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"a":1}\n{"a":\n');
    await expect(streamed(structuredProvider, await localFile(bad))).rejects.toThrow(
      /bad\.jsonl is not valid JSON \(line 2/,
    );
    await expect(structuredProvider.extract(await localFile(bad), ctx)).rejects.toThrow(/line 2/);
  });

  it('CSV: header repeated in every section, resumable after any section, ragged and quoted rows', async () => {
    const file = path.join(dir, 'orders.csv');
    const rows = Array.from({ length: 120 }, (_, i) =>
      i === 50
        ? `${i},"multi\nline, quoted",${'é'.repeat(i % 7)},extra`
        : `${i},item ${i},${'é'.repeat(i % 7)}`,
    );
    writeFileSync(file, `\uFEFFid,name,notes\n${rows.join('\r\n')}\n`);
    const source = await localFile(file);
    const { whole, items } = await expectSameAsWhole(csvProvider, source, 12);
    expect(whole.sections.length).toBeGreaterThan(5);
    for (const section of whole.sections) expect(section.text.startsWith('| id | name | notes')).toBe(true);
    expect(whole.metadata).toMatchObject({ rows: 120, delimiter: ',' });
    expect(items.at(-1)?.section.metadata).toMatchObject({ lastRow: 122 });
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, Buffer.concat([Buffer.from('a,b\n1,2\n'), Buffer.from([0xff, 0xfe, 0x00])]));
    await expect(streamed(csvProvider, await localFile(bad))).rejects.toThrow(/bad\.csv is not text/);
  });

  it('text-layer PDF: Sample.pdf page by page, with page numbers and headings', async () => {
    const source = await localFile(path.join(SAMPLES_DIR, 'content/Sample.pdf'));
    const { items } = await expectSameAsWhole(pdfProvider, source, 8);
    const pages = new Set(items.map((i) => i.section.page));
    expect(pages.size).toBeGreaterThanOrEqual(6);
    const { summary } = await streamed(pdfProvider, source);
    expect(summary?.pageCount).toBe(8);
    expect(readFileSync(source.path).length).toBe(source.size);
  });
});
