import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CsvError } from 'csv-parse';
import type { ExtractedSection } from '../../domain/content.js';
import { CorruptFileError, NonRetryableError } from '../../domain/errors.js';
import { bareMime, fileExtension } from '../../domain/provider-catalog.js';
import { TableSections } from '../helpers/table-sections.js';
import { checkExtractedChars, limitExceeded } from '../limits.js';
import type {
  ContentProvider,
  ProviderContext,
  SourceFile,
  StreamCheckpoint,
  StreamItem,
} from '../provider.js';

const SNIFF_BYTES = 64 * 1024;

/**
 * CSV and TSV through csv-parse (quoted fields, embedded line breaks, a BOM): the first record is the
 * header, and the rows become markdown-table sections that each repeat it (table-sections.ts), with the
 * columns and row range in each section's metadata. The file streams through the parser (never read
 * whole); bytes that are not UTF-8 text stop it as corrupt, a record longer than maxLineChars as a limit.
 * The delimiter is the extension's (.tsv: tab), else the most frequent of , ; and tab in the first line.
 * Huge tables stream (streamSections): a checkpoint after each section carries the header, the rows and
 * characters so far, so a retry after a dead worker reads on from the last stored section.
 */
export const csvProvider: ContentProvider = {
  name: 'csv',
  version: '1.1.0',
  mimeTypes: ['text/csv', 'text/tab-separated-values', 'application/csv'],
  extensions: ['.csv', '.tsv'],
  async extract(file, ctx) {
    const sections: ExtractedSection[] = [];
    const stream = csvSections(file, ctx);
    let next = await stream.next();
    while (!next.done) {
      sections.push(next.value.section);
      next = await stream.next();
    }
    return { provider: 'csv', sections, metadata: next.value.metadata };
  },
  streamSections: (file, ctx, from) => csvSections(file, ctx, from),
};

/** Where a table stream stands between two sections (a checkpoint's state; JSON in heartbeat details). */
interface TableState {
  columns?: string[];
  rows: number;
  characters: number;
  line: number;
}

function tableState(from?: StreamCheckpoint): TableState {
  const state = from?.state ?? {};
  return {
    ...(Array.isArray(state.columns) ? { columns: state.columns.map(String) } : {}),
    rows: Number(state.rows ?? 0),
    characters: Number(state.characters ?? 0),
    line: Number(state.line ?? 0),
  };
}

/** The table's sections from `from` (the start when absent), each finished one with its checkpoint. */
async function* csvSections(
  file: SourceFile,
  ctx: ProviderContext,
  from?: StreamCheckpoint,
): AsyncGenerator<StreamItem, { metadata: Record<string, unknown> }, undefined> {
  const { name } = file;
  const { limits } = ctx.config;
  ctx.signal.throwIfAborted();
  const delimiter = await delimiterOf(file);
  const start = tableState(from);
  const table = new TableSections();
  if (start.columns) table.resume(start.columns, start.rows);
  let characters = start.characters;
  // The position after the last record read: where a stream resumed after the next section starts.
  let after: StreamCheckpoint = { byte: from?.byte ?? 0, state: { ...start } };
  for await (const record of csvRecords(file, ctx, delimiter, from?.byte ?? 0)) {
    const before = after;
    characters += record.cells.reduce((n, c) => n + c.length + 3, 0);
    checkExtractedChars(name, limits, characters);
    const line = start.line + record.lines;
    const section = table.add(record.cells, line);
    // A finished section holds the rows before this record: it resumes where that record starts.
    if (section) yield { section, checkpoint: before };
    if (table.rowCount % 1000 === 0) ctx.heartbeat({ rows: table.rowCount, bytes: record.end });
    after = {
      byte: record.end,
      state: { columns: table.columns && [...table.columns], rows: table.rowCount, characters, line },
    };
  }
  const last = table.flush();
  if (last) yield { section: last };
  return {
    metadata: {
      delimiter: delimiter === '\t' ? 'tab' : delimiter,
      rows: table.rowCount,
      ...(table.columns ? { columns: table.columns } : {}),
    },
  };
}

interface CsvRecord {
  cells: string[];
  /** Byte offset in the file right after this record (its line break included). */
  end: number;
  /** Lines read from the stream's start through this record. */
  lines: number;
}

/** The records of `file` from byte `fromByte` (a record boundary), checked as UTF-8 text on the way. */
async function* csvRecords(
  file: SourceFile,
  ctx: ProviderContext,
  delimiter: string,
  fromByte: number,
): AsyncGenerator<CsvRecord, void, undefined> {
  const { name } = file;
  const { signal } = ctx;
  let bytes = fromByte;
  // The BOM stays in the text (csv-parse drops it and counts its 3 bytes), so offsets stay file offsets.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
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
    bom: fromByte === 0,
    // Every line-break style, fixed: auto-discovery would take the first record's, which differs between
    // a stream read from the start and one resumed part-way (and mixed files exist).
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    max_record_size: ctx.config.limits.maxLineChars,
    info: true,
  });
  // The parser is read here while the pipeline feeds it; its failure ends both.
  const feeding = pipeline(createReadStream(file.path, { signal, start: fromByte }), decode, parser, {
    signal,
  });
  feeding.catch(() => {});
  try {
    // csv-parse counts `info.bytes` in UTF-8 bytes of what it was given, so offsets are file offsets.
    for await (const record of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; bytes: number };
    }>) {
      yield { cells: record.record, end: fromByte + record.info.bytes, lines: record.info.lines };
    }
    await feeding;
  } catch (err) {
    signal.throwIfAborted();
    throw csvFailure(
      name,
      await feeding.then(
        () => err,
        (fed: unknown) => fed ?? err,
      ),
      ctx,
    );
  }
}

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
    return new CorruptFileError(`${name} is not valid CSV: ${err.message}`, { cause: err });
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
