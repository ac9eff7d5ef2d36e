/**
 * The content providers for HTML, CSV/TSV, XLSX, PPTX, ODT, RTF, EML, ZIP, source code and unknown
 * types, each on a real file of its type (test/fixtures/content, made by real writers: see
 * scripts/fixtures/make-content-fixtures.sh): the text, headings, sheet and slide numbers, header
 * repetition in table chunks, the members a container hands on, and how member paths are cleaned.
 * The rules every provider shares (corrupt files, limits, empty files, cancellation) are in
 * provider-conformance.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { archiveDepth, memberPath } from '../../src/activities/ingest/member-files.js';
import { projectRoot } from '../../src/config/project-root.js';
import { chunkDocument } from '../../src/domain/chunking.js';
import type { ExtractedDocument } from '../../src/domain/content.js';
import { CorruptFileError } from '../../src/domain/errors.js';
import {
  DEFAULT_LIMITS,
  extractFile,
  localContext,
  pickProvider,
  UNKNOWN_TYPE_PROVIDER,
} from '../../src/providers/index.js';

const content = (name: string) => path.join(projectRoot(), 'test/fixtures/content', name);
const tmp = mkdtempSync(path.join(tmpdir(), 'p8fs-office-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function extract(name: string, memberDir?: string): Promise<ExtractedDocument> {
  const provider = pickProvider(undefined, name) as string;
  expect(provider, name).toBeDefined();
  const ctx = localContext({ config: { limits: DEFAULT_LIMITS, ...(memberDir ? { memberDir } : {}) } });
  return extractFile(provider, content(name), ctx);
}

const texts = (doc: ExtractedDocument) => doc.sections.map((s) => s.text).join('\n');

describe('HTML', () => {
  it('keeps the main text and its headings, drops scripts, styles, navigation and the footer', async () => {
    const doc = await extract('field-guide.html');
    expect(doc.metadata.title).toBe('Field Guide to Tide Pools');
    const headings = doc.sections.filter((s) => s.kind === 'heading').map((s) => s.heading);
    expect(headings).toEqual([
      'Field Guide to Tide Pools',
      'Field Guide to Tide Pools > Creatures',
      'Field Guide to Tide Pools > Safety',
    ]);
    expect(doc.sections).toContainEqual({
      text: 'Sea anemones close when the water drains away.',
      kind: 'paragraph',
      heading: 'Field Guide to Tide Pools > Creatures',
    });
    expect(doc.sections.find((s) => s.kind === 'list')?.text).toBe('- Hermit crabs\n- Periwinkles');
    expect(doc.sections.find((s) => s.kind === 'table')?.text).toContain(
      'Watch the tide | Rising water cuts off paths',
    );
    const text = texts(doc);
    expect(text).toContain('retreats & leaves water');
    for (const junk of [
      'UA-SHOULD',
      'font-family',
      'document.write',
      'Shop navigation',
      'Copyright',
      'Enable scripts',
    ]) {
      expect(text).not.toContain(junk);
    }
  });
});

describe('CSV and TSV', () => {
  it('turns rows into markdown tables that each repeat the header, with columns and rows in metadata', async () => {
    const doc = await extract('cities.csv');
    const tables = doc.sections.filter((s) => s.kind === 'table');
    expect(tables.length).toBeGreaterThan(3);
    expect(tables.length).toBe(doc.sections.length);
    for (const table of tables) {
      expect(
        table.text.startsWith('| city | country | population | notes |\n| --- | --- | --- | --- |\n'),
      ).toBe(true);
      expect(table.metadata?.columns).toEqual(['city', 'country', 'population', 'notes']);
    }
    // Every data row once, in order, quoted commas kept inside their cell.
    const rows = tables.flatMap((t) => t.text.split('\n').slice(2));
    expect(rows).toHaveLength(120);
    expect(rows[0]).toBe('| city-001 | Country 1 | 1000 | quoted, with comma 1 |');
    expect(rows[119]).toBe('| city-120 | Country 1 | 120000 | quoted, with comma 120 |');
    expect(tables[0]?.metadata).toMatchObject({ firstRow: 2 });
    expect(tables.at(-1)?.metadata).toMatchObject({ lastRow: 121 });
    expect(doc.metadata).toMatchObject({ delimiter: ',', rows: 120 });
  });

  it('every chunk of a table holds its header line (sections fit a chunk whole)', async () => {
    const doc = await extract('cities.csv');
    const chunks = chunkDocument(doc, { maxTokens: 400, overlapTokens: 40 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.text).toContain('| city | country | population | notes |');
  });

  it('reads .tsv with tabs; a semicolon CSV is recognised by its first line', async () => {
    const tsv = await extract('birds.tsv');
    expect(tsv.sections[0]?.text).toBe(
      '| species | wingspan_cm | habitat |\n| --- | --- | --- |\n| Osprey | 160 | coasts |\n| Kestrel | 75 | farmland |',
    );
    const file = path.join(tmp, 'semi.csv');
    writeFileSync(file, 'name;score\nAnna;12,5\nBo;7\n');
    const semi = await extractFile('csv', file);
    expect(semi.sections[0]?.text).toContain('| Anna | 12,5 |');
  });
});

describe('XLSX', () => {
  it('reads each sheet under its own name, header repeated, dates as dates', async () => {
    const doc = await extract('inventory.xlsx');
    const sheets = [...new Set(doc.sections.map((s) => s.sheet))];
    expect(sheets).toEqual(['Inventory', 'Budget']);
    const inventory = doc.sections.filter((s) => s.sheet === 'Inventory');
    expect(inventory.length).toBeGreaterThan(1);
    for (const section of inventory) {
      expect(section.kind).toBe('table');
      expect(section.text).toMatch(/^\| Item \| Quantity \| Warehouse \| Restocked \|/);
    }
    expect(texts(doc)).toContain('| widget-001 | 3 | Rotterdam | 2024-01-02 |');
    expect(texts(doc)).toContain('| widget-060 | 180 | Lisbon |');
    const budget = doc.sections.filter((s) => s.sheet === 'Budget');
    expect(budget).toHaveLength(1);
    expect(budget[0]?.text).toContain('| Q1 | 1250.5 | Marguerite |');
    expect(budget[0]?.metadata?.columns).toEqual(['Quarter', 'Amount', 'Owner']);
  });

  it("exceljs failing once with a TypeError (as under the soak's load) is read again; twice is the file's", async () => {
    const excel = (await import('exceljs')) as unknown as {
      default?: { stream: { xlsx: { WorkbookReader: unknown } } };
      stream: { xlsx: { WorkbookReader: unknown } };
    };
    const xlsx = (excel.default ?? excel).stream.xlsx;
    const Real = xlsx.WorkbookReader as new (...args: unknown[]) => unknown;
    let failures = 1;
    xlsx.WorkbookReader = function FlakyReader(...args: unknown[]) {
      if (failures-- > 0) throw new TypeError("Cannot read properties of undefined (reading 'model')");
      return new Real(...args);
    };
    try {
      const doc = await extract('inventory.xlsx');
      expect([...new Set(doc.sections.map((s) => s.sheet))]).toEqual(['Inventory', 'Budget']);
      failures = 2;
      const error = await extract('inventory.xlsx').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptFileError);
      expect((error as Error).message).toMatch(/is damaged or not an XLSX workbook .*reading 'model'/);
    } finally {
      xlsx.WorkbookReader = Real;
    }
  });

  it('every chunk holds its sheet header, although table text is token-dense', async () => {
    const doc = await extract('inventory.xlsx');
    const chunks = chunkDocument(doc, { maxTokens: 400, overlapTokens: 40 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.text).toMatch(/\| (Item|Quarter) \|/);
  });
});

describe('PPTX', () => {
  it('reads slides in order with their numbers, titles as headings, tables as rows and speaker notes', async () => {
    const doc = await extract('review.pptx');
    expect(doc.metadata).toMatchObject({ slides: 3, title: 'Quarterly Review' });
    const headings = doc.sections.filter((s) => s.kind === 'heading').map((s) => [s.slide, s.text]);
    expect(headings).toEqual([
      [1, 'Quarterly Review'],
      [2, 'Shipping Delays'],
      [3, 'Volumes by Port'],
    ]);
    expect(doc.sections).toContainEqual({
      text: 'Cranes at berth four were idle for nine days\nCustoms backlog cleared in March',
      kind: 'paragraph',
      slide: 2,
      heading: 'Shipping Delays',
    });
    const notes = doc.sections.find((s) => s.metadata?.notes);
    expect(notes).toMatchObject({ slide: 2, text: 'Mention the pelican incident only if asked.' });
    expect(doc.sections.find((s) => s.slide === 3 && s.kind === 'paragraph')?.text).toBe(
      'Port | Containers\nValparaiso | 1200\nGdansk | 860',
    );
  });
});

describe('ODT', () => {
  it('reads headings with their levels, paragraphs, lists and tables', async () => {
    const doc = await extract('journal.odt');
    expect(doc.sections.map((s) => [s.kind, s.heading])).toEqual([
      ['heading', 'Beekeeping Journal'],
      ['paragraph', 'Beekeeping Journal'],
      ['heading', 'Beekeeping Journal > Spring Inspection'],
      ['paragraph', 'Beekeeping Journal > Spring Inspection'],
      ['list', 'Beekeeping Journal > Spring Inspection'],
      ['table', 'Beekeeping Journal > Spring Inspection'],
    ]);
    expect(doc.sections[3]?.text).toBe('Queen spotted in hive three, brood pattern solid.');
    expect(doc.sections[4]?.text).toBe('- replace frames\n- order foundation wax\n- check varroa boards');
    expect(doc.sections[5]?.text).toBe('Month | Kilograms\nJune | 14\nJuly | 21');
  });
});

describe('RTF', () => {
  it('reads paragraphs with code-page bytes and Unicode escapes, skipping font tables and field codes', async () => {
    const doc = await extract('log.rtf');
    expect(doc.sections.map((s) => s.text)).toEqual([
      'Lighthouse Maintenance Log',
      'The lamp at Cap Fréhel was cleaned on Tuesday; the keeper noted “heavy fog” at dawn.',
      'See the harbour log',
      'Temperature: 12°C – wind from the north-west.',
    ]);
    expect(texts(doc)).not.toMatch(/Calibri|Riched20|HYPERLINK/);
  });
});

describe('EML', () => {
  it('gives headers and body as sections and writes each attachment as a member file', async () => {
    const dir = path.join(tmp, 'eml-members');
    const doc = await extract('survey.eml', dir);
    expect(doc.sections[0]).toMatchObject({
      kind: 'metadata',
      heading: 'Orchard survey results',
      metadata: {
        from: '"Ada Quist" <ada@example.org>',
        to: '"Bram Oduya" <bram@example.org>',
        subject: 'Orchard survey results',
        date: '2024-05-17T09:30:00.000Z',
      },
    });
    expect(texts(doc)).toContain('The orchard survey counted 412 apple trees and 37 pear trees.');
    expect(doc.members?.map((m) => [m.name, m.mimeType, m.size])).toEqual([
      ['tally.csv', 'text/csv', 29],
      ['notes.txt', 'text/plain', 55],
    ]);
    const tally = doc.members?.[0];
    expect(readFileSync(path.join(dir, tally?.file as string), 'utf8')).toBe(
      'Tree,Count\nApple,412\nPear,37\n',
    );
    expect(doc.sections.at(-1)).toMatchObject({ kind: 'metadata' });
    expect(doc.sections.at(-1)?.text).toMatch(
      /holds 2 attachments:\n- tally\.csv \(29 bytes\)\n- notes\.txt/,
    );
  });
});

describe('ZIP', () => {
  it('writes every member (directories skipped) and lists them in its own resource', async () => {
    const dir = path.join(tmp, 'zip-members');
    const doc = await extract('bundle.zip', dir);
    expect(doc.members?.map((m) => m.name)).toEqual(['readme.txt', 'docs/timetable.md']);
    const md = doc.members?.[1];
    expect(md?.mimeType).toBe('text/markdown');
    expect(readFileSync(path.join(dir, md?.file as string), 'utf8')).toContain(
      'The first ferry to Ilha Verde leaves at 06:40.',
    );
    expect(doc.sections).toHaveLength(1);
    expect(doc.sections[0]?.text).toMatch(
      /^bundle\.zip holds 2 files:\n- readme\.txt \(39 bytes\)\n- docs\/timetable\.md/,
    );
  });

  it('cleans member paths so nothing leaves the container prefix', () => {
    const taken = new Set<string>();
    expect(memberPath('../../etc/passwd', 0, taken)).toBe('etc/passwd');
    expect(memberPath('..\\..\\windows\\evil.txt', 1, taken)).toBe('windows/evil.txt');
    expect(memberPath('/abs/./x?.md', 2, taken)).toBe('abs/x_.md');
    expect(memberPath('a\u0000b\u202e.txt', 3, taken)).toBe('a_b_.txt');
    expect(memberPath('..', 4, taken)).toBe('member-5');
    expect(memberPath('etc/passwd', 5, taken)).toBe('6-etc/passwd');
    expect(archiveDepth('uploads/a.zip')).toBe(0);
    expect(archiveDepth('uploads/a.zip.parts/b.zip.parts/c.txt')).toBe(2);
  });
});

describe('source code', () => {
  it('names the language of the file', async () => {
    const doc = await extractFile(
      'code',
      path.join(projectRoot(), 'scripts/fixtures/make_content_fixtures.py'),
    );
    expect(doc.metadata.language).toBe('python');
    expect(doc.sections.every((s) => s.kind === 'code')).toBe(true);
    expect(texts(doc)).toContain('def xlsx() -> None:');
  });
});

describe('unknown types', () => {
  it('are described by one metadata section: name, size, type and SHA-256', async () => {
    const bytes = Buffer.from([0x00, 0x01, 0x02, 0xfe, 0xff, 0x42]);
    const file = path.join(tmp, 'blob.bin');
    writeFileSync(file, bytes);
    expect(pickProvider(undefined, 'blob.bin')).toBeUndefined();
    const doc = await extractFile(UNKNOWN_TYPE_PROVIDER, {
      path: file,
      name: 'blob.bin',
      size: bytes.length,
    });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(doc.sections).toHaveLength(1);
    expect(doc.sections[0]).toMatchObject({
      kind: 'metadata',
      metadata: {
        name: 'blob.bin',
        size: 6,
        mimeType: 'application/octet-stream',
        extension: '.bin',
        sha256,
      },
    });
    expect(doc.sections[0]?.text).toContain(`SHA-256: ${sha256}`);
  });

  it('an empty file of any type fails as empty, naming the file', async () => {
    const file = path.join(tmp, 'nothing.txt');
    writeFileSync(file, '');
    const failure = extractFile('text', { path: file, name: 'nothing.txt', size: 0 });
    await expect(failure).rejects.toBeInstanceOf(CorruptFileError);
    await expect(failure).rejects.toThrow('nothing.txt is empty (0 bytes)');
  });
});
