/**
 * Which PostgreSQL errors a retry can heal (src/activities/ingest/storage-errors.ts), on errors built as
 * pg builds them from the server's message: a server that cannot load a library or lacks a file it needs
 * fails the same way on every retry, so it is permanent whatever SQLSTATE it came with, and the activity
 * (recordIngestFailure included) throws it as non-retryable instead of retrying for hours.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { asActivityError, classifyStorageError } from '../../src/activities/ingest/storage-errors.js';
import { NON_RETRYABLE_ERROR_TYPES, PermanentStorageError } from '../../src/domain/errors.js';

/** A DatabaseError as pg-protocol makes it from an ErrorResponse. */
function serverError(code: string, message: string): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error');
  return Object.assign(error, { code, severity: 'ERROR' });
}

describe('PostgreSQL errors a retry cannot heal', () => {
  it.each([
    [
      'a library the server cannot load (XX000)',
      'XX000',
      'could not load library "/usr/lib/x.so": file too short',
    ],
    [
      'a library the server cannot load (58030)',
      '58030',
      'could not load library "$libdir/dict_snowball": I/O error',
    ],
    [
      'a file the server needs is missing (58P01)',
      '58P01',
      'could not access file "$libdir/vector": No such file',
    ],
    ['a relation that does not exist (42P01)', '42P01', 'relation "files" does not exist'],
  ])('%s is permanent', (_what, code, message) => {
    const failure = classifyStorageError(serverError(code, message));
    expect(failure).toEqual({
      kind: 'permanent',
      system: 'PostgreSQL',
      message: `SQLSTATE ${code}: ${message}`,
    });
  });

  it.each([
    ['an internal error with other words (XX000)', 'XX000', 'cache lookup failed for relation 1234'],
    ['an I/O error (58030)', '58030', 'could not read block 7 in file "base/1/2": I/O error'],
    ['a server shutting down (57P01)', '57P01', 'terminating connection due to administrator command'],
    ['insufficient privilege (42501)', '42501', 'permission denied for table files'],
  ])('%s stays transient', (_what, code, message) => {
    expect(classifyStorageError(serverError(code, message)).kind).toBe('transient');
  });

  it('recordIngestFailure throws a library the server cannot load as a non-retryable error', () => {
    const cause = serverError('XX000', 'could not load library "/usr/lib/postgresql/dict_snowball.so": gone');
    const thrown = asActivityError('recordIngestFailure', cause);
    expect(thrown).toBeInstanceOf(PermanentStorageError);
    expect(NON_RETRYABLE_ERROR_TYPES).toContain((thrown as Error).name);
    expect((thrown as Error).message).toMatch(
      /^recordIngestFailure: PostgreSQL refused: SQLSTATE XX000: could not load library/,
    );
    expect((thrown as Error).cause).toBe(cause);
  });
});
