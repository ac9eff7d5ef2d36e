import type { ExtractedSection } from '../../domain/content.js';
import { CorruptFileError } from '../../domain/errors.js';
import { checkPackageBytes, packageFailure, readPart } from '../helpers/office-package.js';
import { TableSections } from '../helpers/table-sections.js';
import { xmlTokens } from '../helpers/xml-tokens.js';
import { BoundedZip, readZipDirectory, ZipFormatError } from '../helpers/zip.js';
import { approxBytes, checkExtractedChars, limitExceeded } from '../limits.js';
import { type ContentProvider, readSourceFile } from '../provider.js';

const WHAT = 'an XLSX workbook';

// exceljs is large and only workbooks need it: loaded on first use, once per extraction process.
let excelPromise: Promise<typeof import('exceljs')> | undefined;
async function loadExcel(): Promise<typeof import('exceljs')> {
  excelPromise ??= import('exceljs');
  const module = (await excelPromise) as typeof import('exceljs') & { default?: typeof import('exceljs') };
  return module.default ?? module;
}

/**
 * Excel workbooks (XLSX) through exceljs's streaming reader (exceljs is maintained; the `xlsx` package on
 * npm is a years-old release with known advisories), sheet by sheet: each sheet's first non-empty row is
 * its header and the rows become markdown-table sections that repeat it, with `sheet` set. Cells give
 * their shown value: a formula's cached result, rich text as text, dates as ISO dates. Before exceljs
 * sees the file, the ZIP directory's sizes are held to the decompressed-bytes limit; sheet names come
 * from xl/workbook.xml through the bounded ZIP reader.
 */
export const xlsxProvider: ContentProvider = {
  name: 'xlsx',
  version: '1.0.0',
  mimeTypes: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  extensions: ['.xlsx'],
  async extract(file, ctx) {
    const { name } = file;
    const { limits } = ctx.config;
    const buffer = await readSourceFile(file, ctx.signal);
    checkPackageBytes(buffer, name, WHAT);
    let sheetNames: Map<number, string>;
    try {
      const declared = readZipDirectory(buffer).reduce((n, e) => n + e.uncompressedSize, 0);
      if (declared > limits.maxDecompressedBytes) {
        throw limitExceeded(
          name,
          limits,
          'maxDecompressedBytes',
          `its parts declare ${approxBytes(declared)}`,
        );
      }
      const zip = new BoundedZip(buffer, limits.maxDecompressedBytes, ctx.signal);
      if (!zip.exists('xl/workbook.xml')) throw new ZipFormatError('no xl/workbook.xml');
      sheetNames = await namesOfSheets(zip);
    } catch (err) {
      throw packageFailure(name, WHAT, err, ctx);
    }
    const ExcelJS = await loadExcel();
    let read: Awaited<ReturnType<typeof readSheets>>;
    try {
      read = await readSheets(ExcelJS, file.path, sheetNames, name, ctx);
    } catch (first) {
      // A TypeError is exceljs failing, not a finding about the file, which our own ZIP reader found
      // well formed: seen once in 112 reads of one workbook under the soak's load ("reading 'model'":
      // it parsed the sheets without the workbook part). One more read; a second failure is the file's.
      if (!(first instanceof TypeError)) throw packageFailure(name, WHAT, first, ctx);
      try {
        read = await readSheets(ExcelJS, file.path, sheetNames, name, ctx);
      } catch (err) {
        throw packageFailure(name, WHAT, err, ctx);
      }
    }
    const { sections, sheets } = read;
    if (sheets.length === 0 && sheetNames.size === 0) {
      throw new CorruptFileError(`${name} is damaged or not ${WHAT} (no worksheets)`);
    }
    return { provider: 'xlsx', sections, metadata: { sheets } };
  },
};

/** Every sheet's rows as table sections, through exceljs's streaming reader. */
async function readSheets(
  ExcelJS: typeof import('exceljs'),
  path: string,
  sheetNames: Map<number, string>,
  name: string,
  ctx: Parameters<ContentProvider['extract']>[1],
) {
  const { limits } = ctx.config;
  const sections: ExtractedSection[] = [];
  const sheets: { name: string; rows: number; columns: string[] }[] = [];
  let characters = 0;
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    styles: 'cache',
    worksheets: 'emit',
  });
  for await (const worksheet of reader) {
    ctx.signal.throwIfAborted();
    // The reader's id is its part's number (sheetN.xml), as a string.
    const id = Number((worksheet as unknown as { id: number | string }).id);
    const sheet = sheetNames.get(id) ?? `Sheet${id}`;
    const table = new TableSections({ sheet });
    for await (const row of worksheet) {
      ctx.signal.throwIfAborted();
      const values = row.values as unknown[];
      const cells: string[] = [];
      for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]));
      characters += cells.reduce((n, c) => n + c.length + 3, 0);
      checkExtractedChars(name, limits, characters);
      const section = table.add(cells, row.number);
      if (section) sections.push(section);
      if (row.number % 1000 === 0) ctx.heartbeat({ sheet, row: row.number });
    }
    const last = table.flush();
    if (last) sections.push(last);
    sheets.push({ name: sheet, rows: Math.max(0, table.rowCount), columns: table.columns ?? [] });
  }
  return { sections, sheets };
}

/** Worksheet number (its part's xl/worksheets/sheetN.xml) → the name the workbook gives it. */
async function namesOfSheets(zip: BoundedZip): Promise<Map<number, string>> {
  const workbook = (await readPart(zip, 'xl/workbook.xml')) ?? '';
  const rels = (await readPart(zip, 'xl/_rels/workbook.xml.rels')) ?? '';
  const targets = new Map<string, string>();
  for (const token of xmlTokens(rels)) {
    if (token.kind === 'open' && token.name === 'Relationship') {
      targets.set(token.attrs.Id ?? '', token.attrs.Target ?? '');
    }
  }
  const names = new Map<number, string>();
  for (const token of xmlTokens(workbook)) {
    if (token.kind !== 'open' || !/(^|:)sheet$/.test(token.name)) continue;
    const target = targets.get(token.attrs['r:id'] ?? '') ?? '';
    const number = Number(/sheet(\d+)\.xml$/.exec(target)?.[1]);
    const sheetName = token.attrs.name;
    if (Number.isInteger(number) && sheetName) names.set(number, sheetName);
  }
  return names;
}

/** A cell's shown value as text. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.replace('.000Z', 'Z');
  }
  if (typeof value !== 'object') return String(value);
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.richText)) return (v.richText as { text?: string }[]).map((r) => r.text ?? '').join('');
  if ('result' in v) return cellText(v.result);
  if ('formula' in v || 'sharedFormula' in v) return '';
  if (typeof v.text === 'string') return v.text;
  if (typeof v.error === 'string') return v.error;
  return '';
}
