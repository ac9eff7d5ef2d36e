import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CsvError } from 'csv-parse';
import type { ExtractedSection } from '../domain/content.js';
import { CorruptFileError, NonRetryableError } from '../domain/errors.js';
import { bareMime, fileExtension } from '../domain/provider-catalog.js';
import { checkExtractedChars, limitExceeded } from './limits.js';
import type { ContentProvider, ProviderContext, SourceFile } from './provider.js';
import { TableSections } from './table-sections.js';

const SNIFF_BYTES = 64 * 1024;

/**
 * CSV and TSV through csv-parse (quoted fields, embedded line breaks, a BOM): the first record is the
 * header, and the rows become markdown-table sections that each repeat it (table-sections.ts), with the
 * columns and row range in each section's metadata. The file streams through the parser (never read
 * whole); bytes that are not UTF-8 text stop it as corrupt, a record longer than maxLineChars as a limit.
 * The delimiter is the extension's (.tsv: tab), else the most frequent of , ; and tab in the first line.
 */
export const csvProvider: ContentProvider = {
  name: 'csv',
  version: '1.0.0',
  mimeTypes: ['text/csv', 'text/tab-separated-values', 'application/csv'],
  extensions: ['.csv', '.tsv'],
  async extract(file, ctx) {
    const { name } = file;
    const { signal } = ctx;
    const { limits } = ctx.config;
    signal.throwIfAborted();
    const delimiter = await delimiterOf(file);
    const table = new TableSections();
    const sections: ExtractedSection[] = [];
    let characters = 0;
    let bytes = 0;
    const decoder = new TextDecoder('utf-8', { fatal: true });
    // Bytes → checked UTF-8 text: a NUL or an invalid sequence means this is not a text table.
    const decode = new Transform({
      readableObjectMode: false,
      transform(chunk: Buffer, _encoding, done) {
        const nul = chunk.indexOf(0);
        if (nul !== -1)
          return done(new CorruptFileError(`${name} is not text: NUL byte at offset ${bytes + nul}`));
        bytes += chunk.length;
        try {
          done(null, decoder.decode(chunk, { stream: true }));
        } catch {
          done(new CorruptFileError(`${name} is not valid UTF-8 text (near byte ${bytes})`));
        }
      },
      flush(done) {
        try {
          done(null, decoder.decode());
        } catch {
          done(new CorruptFileError(`${name} is not valid UTF-8 text (it ends inside a character)`));
        }
      },
    });
    const { parse } = await import('csv-parse');
    const parser = parse({
      delimiter,
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      max_record_size: limits.maxLineChars,
      info: true,
    });
    const collect = new Transform({
      objectMode: true,
      transform(record: { record: string[]; info: { lines: number } }, _encoding, done) {
        const cells = record.record;
        characters += cells.reduce((n, c) => n + c.length + 3, 0);
        try {
          checkExtractedChars(name, limits, characters);
          const section = table.add(cells, record.info.lines);
          if (section) sections.push(section);
          if (table.rowCount % 1000 === 0) ctx.heartbeat({ rows: table.rowCount, bytes });
          done();
        } catch (err) {
          done(err as Error);
        }
      },
    });
    try {
      await pipeline(createReadStream(file.path, { signal }), decode, parser, collect, { signal });
    } catch (err) {
      signal.throwIfAborted();
      throw csvFailure(name, err, ctx);
    }
    const last = table.flush();
    if (last) sections.push(last);
    return {
      provider: 'csv',
      sections,
      metadata: {
        delimiter: delimiter === '\t' ? 'tab' : delimiter,
        rows: table.rowCount,
        ...(table.columns ? { columns: table.columns } : {}),
      },
    };
  },
};

function csvFailure(name: string, err: unknown, ctx: ProviderContext): Error {
  if (err instanceof NonRetryableError) return err;
  // csv-parse's CsvError (loaded lazily, so told apart by its shape): a CSV_* code.
  if (err instanceof Error && /^CSV_/.test(String((err as CsvError).code ?? ''))) {
    if ((err as CsvError).code === 'CSV_MAX_RECORD_SIZE') {
      return limitExceeded(
        name,
        ctx.config.limits,
        'maxLineChars',
        `a record ${err.message.replace(/^.*?(at line \d+).*$/s, '$1')}`,
      );
    }
    return new CorruptFileError(`${name} is not valid CSV: ${err.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Tab for .tsv and its mime type; otherwise the likeliest of , ; tab in the first line (quotes skipped). */
async function delimiterOf(file: SourceFile): Promise<string> {
  if (fileExtension(file.name) === '.tsv' || bareMime(file.mimeType) === 'text/tab-separated-values')
    return '\t';
  const handle = await open(file.path, 'r');
  let head: string;
  try {
    const buffer = Buffer.alloc(Math.min(SNIFF_BYTES, file.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
  ]);
  let quoted = false;
  for (const ch of head) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) as number) + 1);
  }
  let best = ',';
  for (const [ch, n] of counts) if (n > (counts.get(best) as number)) best = ch;
  return best;
}
