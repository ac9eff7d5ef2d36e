/**
 * Rows into a table with `COPY … FROM STDIN` (text format) through the client (pg-copy-streams): one
 * statement for any number of rows, no per-statement parse/plan and no 65,535-parameter limit, so it
 * stores chunks faster than multi-row INSERTs (bench/store.bench.ts measures both against server-side
 * COPY). It runs inside the caller's transaction; a failure or cancellation fails the COPY (CopyFail),
 * and the caller's ROLLBACK removes whatever it had written.
 *
 * Errors are the server's own (pg DatabaseError with its SQLSTATE: 22xxx bad data, 23505 duplicate key
 * …), so src/activities/ingest/storage-errors.ts classifies them exactly as it does an INSERT's.
 */
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** A column value as COPY's text format carries it; strings must already be storable (cleanText). */
export type CopyValue = string | number | null;

/**
 * One value in COPY's text format: NULL as \N, and backslash, tab, newline and carriage return escaped
 * (the escape, the column delimiter and the row ends), so neither a line holding only `\.` (the
 * end-of-data marker) nor a literal `\N` in the text can be read as anything but text. Every other
 * character, any Unicode included, is sent as it is (the connection is UTF-8).
 */
export function copyTextValue(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  // One native pass per character present: faster than one regex with a replacement callback.
  let text = value;
  if (text.includes('\\')) text = text.replaceAll('\\', '\\\\');
  if (text.includes('\t')) text = text.replaceAll('\t', '\\t');
  if (text.includes('\n')) text = text.replaceAll('\n', '\\n');
  if (text.includes('\r')) text = text.replaceAll('\r', '\\r');
  return text;
}

/** Rows as COPY text-format lines, each ending in a newline. */
export function copyTextRows(rows: readonly (readonly CopyValue[])[]): string {
  let text = '';
  for (const row of rows) {
    text += row.map(copyTextValue).join('\t');
    text += '\n';
  }
  return text;
}

/** A table or column name, quoted. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface CopyOptions {
  /** Aborting it fails the COPY (the server discards it) and throws the signal's reason. */
  signal?: AbortSignal;
  /** Called after each batch is handed to the connection, with the rows sent so far (heartbeats). */
  onBatch?: (rows: number) => void;
}

/**
 * Copies `batches` of rows (each row one value per column, in `columns`' order) into `table` on `client`
 * with one COPY FROM STDIN, honouring the socket's back-pressure, and returns the row count the server
 * reports. Must run inside a transaction the caller rolls back on error.
 */
export async function copyRows(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  batches: Iterable<readonly (readonly CopyValue[])[]> | AsyncIterable<readonly (readonly CopyValue[])[]>,
  options: CopyOptions = {},
): Promise<number> {
  const { signal } = options;
  signal?.throwIfAborted();
  const stream = client.query(
    copyFrom(`COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM STDIN (FORMAT text)`),
  );
  // Settles once: with the server's CommandComplete (after end()), or with its error. After an error
  // pg-copy-streams has let go of the connection, so nothing more may be written or destroyed.
  let failure: unknown;
  let settled = false;
  const finished = new Promise<void>((resolve, reject) => {
    stream.once('finish', () => {
      settled = true;
      resolve();
    });
    stream.once('error', (error) => {
      settled = true;
      failure = error;
      reject(error);
    });
  });
  finished.catch(() => undefined);
  const onAbort = () => {
    // CopyFail: the server answers with an error (57014), which settles `finished`.
    if (!settled && !stream.destroyed)
      stream.destroy(new Error('COPY cancelled: the activity was cancelled'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let sent = 0;
    for await (const rows of batches) {
      if (settled) break;
      signal?.throwIfAborted();
      if (rows.length === 0) continue;
      if (!stream.write(Buffer.from(copyTextRows(rows), 'utf8'))) {
        // Wait for the socket to drain, or for the server's error (no drain comes then).
        await Promise.race([once(stream, 'drain'), finished]);
      }
      sent += rows.length;
      options.onBatch?.(sent);
    }
    if (failure === undefined) {
      signal?.throwIfAborted();
      stream.end();
    }
    await finished;
    return stream.rowCount;
  } catch (error) {
    if (!settled && !stream.destroyed) {
      // Our side failed (the row source threw, or cancellation): fail the COPY and let it settle so the
      // connection is ready for the caller's ROLLBACK.
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
      await finished.catch(() => undefined);
    } else if (!settled) {
      await finished.catch(() => undefined);
    }
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
