/**
 * Which failures of S3 and PostgreSQL a retry can fix. The ingest activities run under Temporal's retry
 * policy (up to 2, 6 or 24 hours per tier): an outage should delay files, but a request the server
 * refuses for what it *is* fails the same way on every attempt, and retrying it only leaves the file in
 * `processing` for hours. Those become PermanentStorageError (non-retryable), so the workflow records
 * the failure at once with the server's own words.
 *
 * PostgreSQL, by SQLSTATE class (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 * - permanent: 21 cardinality violation, 22 data exception (invalid text such as a NUL byte, bad jsonb,
 *   out-of-range values), 23 integrity constraint violation (check, foreign key, not null, unique),
 *   42 syntax error or undefined object (except 42501 insufficient privilege), 0A feature not supported,
 *   2F/38/39 routine exceptions, 44 WITH CHECK OPTION violation, 54 program limit exceeded (a row or
 *   tsvector too large).
 * - transient: everything else. 08 connection exception, 57P01..57P03 shutdown / cannot connect now,
 *   40001 serialization failure, 40P01 deadlock, 53 insufficient resources (disk full, out of memory,
 *   too many connections), 55P03 lock not available, 57014 statement timeout, 58 system error, XX
 *   internal error, 25 invalid transaction state (the consequence of an earlier error), and deployment
 *   faults that hit every file alike and are fixed by an operator, not by failing files: 28 invalid
 *   authorization, 3D000 unknown database, 42501 insufficient privilege.
 * - network errors of the client (ECONNREFUSED, ECONNRESET, ETIMEDOUT, "Connection terminated
 *   unexpectedly", connection timeouts) are transient.
 * - but permanent whatever the class, since the server lacks what it needs to run the statement and no
 *   retry of it can heal that (without this, recordIngestFailure itself would retry for hours): 58P01
 *   undefined file (a library or file the server needs is not there) and a library the server cannot
 *   load ("could not load library …": an extension or the search column's text search dictionary; the
 *   server sends it as XX000 or another code that depends on a stale errno).
 *
 * S3, by HTTP status:
 * - permanent: 4xx other than 403, 404, 408, 409 and 429 (400 InvalidArgument / InvalidKey /
 *   KeyTooLongError, 411, 412, 413 EntityTooLarge, 414, 416 …), and a request the client cannot even
 *   build (URIError: a key that is not valid Unicode).
 * - transient: 5xx (503 SlowDown included), 408, 409, 429, 403 (credentials and policies are the same for
 *   every file: a deployment fault), network errors and timeouts.
 * - 404 depends on what was asked: the event's object missing is MissingObjectError (thrown where it is
 *   read); a derived object this run wrote and now cannot find (NoSuchKey) is permanent, since no retry
 *   of the reading step writes it again.
 */
import { CancelledFailure } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { errorText, NonRetryableError, PermanentStorageError } from '../../domain/errors.js';

export type StorageFailure =
  | { kind: 'permanent'; system: 'PostgreSQL' | 'S3'; message: string }
  | { kind: 'transient'; message: string };

const PERMANENT_SQLSTATE_CLASSES: ReadonlySet<string> = new Set([
  '0A',
  '21',
  '22',
  '23',
  '2F',
  '38',
  '39',
  '42',
  '44',
  '54',
]);
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set(['42501']);
const UNHEALABLE_SQLSTATES: ReadonlySet<string> = new Set(['58P01']);
const UNHEALABLE_MESSAGE = /^could not load library /;

const TRANSIENT_4XX: ReadonlySet<number> = new Set([403, 408, 409, 429]);
const DERIVED_NOT_FOUND: ReadonlySet<string> = new Set(['NoSuchKey', 'NotFound']);

interface PgErrorLike {
  code: string;
  message: string;
  severity?: string;
  detail?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

interface S3ErrorLike {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

/** An error the PostgreSQL server sent (pg's DatabaseError): a five-character SQLSTATE and a severity. */
function asPgError(error: unknown): PgErrorLike | undefined {
  const e = error as Partial<PgErrorLike> | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code)) return undefined;
  if (typeof e.severity !== 'string') return undefined;
  return e as PgErrorLike;
}

function asS3Error(error: unknown): (S3ErrorLike & { status: number }) | undefined {
  const e = error as S3ErrorLike | undefined;
  const status = e?.$metadata?.httpStatusCode;
  if (typeof status !== 'number') return undefined;
  return { ...e, name: e?.name, message: e?.message, status };
}

function pgText(e: PgErrorLike): string {
  const where = [
    e.table ? `table ${e.table}` : undefined,
    e.column ? `column ${e.column}` : undefined,
    e.constraint ? `constraint ${e.constraint}` : undefined,
  ].filter(Boolean);
  return [
    `SQLSTATE ${e.code}: ${e.message}`,
    e.detail ? ` (${shortened(e.detail)})` : '',
    where.length > 0 ? ` [${where.join(', ')}]` : '',
  ].join('');
}

/**
 * A detail may quote a whole row ("Failing row contains (…)"), i.e. a chunk of the user's text: enough of
 * it to recognise the row goes into files.error and logs, not all of it.
 */
const MAX_DETAIL_CHARS = 200;

function shortened(text: string): string {
  return text.length <= MAX_DETAIL_CHARS ? text : `${text.slice(0, MAX_DETAIL_CHARS)}…`;
}

function s3Text(e: S3ErrorLike & { status: number }): string {
  const said = [e.name, e.message].filter(
    (part): part is string => !!part && part !== 'Unknown' && part !== 'UnknownError',
  );
  return `HTTP ${e.status}${said.length > 0 ? ` ${[...new Set(said)].join(': ')}` : ''}`;
}

/** Classifies an error an activity got from S3 or PostgreSQL (or from anything else: then transient). */
export function classifyStorageError(error: unknown): StorageFailure {
  const pgError = asPgError(error);
  if (pgError) {
    const message = pgText(pgError);
    const permanent =
      (PERMANENT_SQLSTATE_CLASSES.has(pgError.code.slice(0, 2)) && !TRANSIENT_SQLSTATES.has(pgError.code)) ||
      UNHEALABLE_SQLSTATES.has(pgError.code) ||
      UNHEALABLE_MESSAGE.test(pgError.message);
    return permanent ? { kind: 'permanent', system: 'PostgreSQL', message } : { kind: 'transient', message };
  }
  const s3Error = asS3Error(error);
  if (s3Error) {
    const message = s3Text(s3Error);
    const { status } = s3Error;
    if (status === 404) {
      return DERIVED_NOT_FOUND.has(s3Error.name ?? '')
        ? { kind: 'permanent', system: 'S3', message }
        : { kind: 'transient', message };
    }
    const permanent = status >= 400 && status < 500 && !TRANSIENT_4XX.has(status);
    return permanent ? { kind: 'permanent', system: 'S3', message } : { kind: 'transient', message };
  }
  if (error instanceof URIError) {
    return { kind: 'permanent', system: 'S3', message: `URIError: ${error.message}` };
  }
  return { kind: 'transient', message: errorText(error) };
}

/**
 * `error` as the activity should throw it: a permanent storage failure becomes PermanentStorageError
 * naming the step and the server's words; anything else (transient errors, cancellation, errors that
 * are already non-retryable) is thrown as it came.
 */
export function asActivityError(step: string, error: unknown): unknown {
  if (
    error instanceof NonRetryableError ||
    error instanceof ApplicationFailure ||
    error instanceof CancelledFailure
  ) {
    return error;
  }
  const failure = classifyStorageError(error);
  if (failure.kind === 'transient') return error;
  const permanent = new PermanentStorageError(`${step}: ${failure.system} refused: ${failure.message}`);
  (permanent as { cause?: unknown }).cause = error;
  return permanent;
}

type AsyncMethods = Record<string, (...args: never[]) => Promise<unknown>>;

/** The same activities, each throwing permanent storage failures as PermanentStorageError. */
export function withStorageErrorsClassified<T extends AsyncMethods>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = {
      // A named function, so stack traces and Temporal's activity type stay `name`.
      async [name](...args: never[]) {
        try {
          return await activity(...args);
        } catch (error) {
          throw asActivityError(name, error);
        }
      },
    }[name];
  }
  return wrapped as T;
}
