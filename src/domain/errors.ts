/**
 * Failures that retrying cannot fix. Each class is listed in NON_RETRYABLE_ERRORS, and their names become
 * Temporal `nonRetryableErrorTypes`, so a corrupt or unsupported file ends in seconds with a clear reason
 * instead of retrying for hours. A new permanent failure is one class here plus one line in the list.
 */

/** Base of every error that retrying cannot fix; `name` is what Temporal matches on. */
export abstract class NonRetryableError extends Error {
  abstract override readonly name: string;
}

export class CorruptFileError extends NonRetryableError {
  override readonly name = 'CorruptFileError';
}

export class UnsupportedFileTypeError extends NonRetryableError {
  override readonly name = 'UnsupportedFileTypeError';
}

/** The object named by an event does not exist in S3 (deleted before we got to it, or a bad event). */
export class MissingObjectError extends NonRetryableError {
  override readonly name = 'MissingObjectError';
}

export const NON_RETRYABLE_ERRORS = [CorruptFileError, UnsupportedFileTypeError, MissingObjectError] as const;

/** Temporal matches `ApplicationFailure.type`, which the SDK takes from the thrown error's `name`. */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = NON_RETRYABLE_ERRORS.map(
  (ErrorClass) => new ErrorClass('').name,
);

/**
 * An error's message for people, from anything thrown: a system error's code is put in front when the
 * message does not say it ("ECONNREFUSED: connect …"), and an empty message falls back to the name.
 */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = (error as { code?: unknown }).code ?? (cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && code && !error.message.includes(code)) {
      return error.message ? `${code}: ${error.message}` : code;
    }
    return error.message || error.name;
  }
  return String(error);
}
