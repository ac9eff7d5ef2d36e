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

/**
 * The file crosses a limit on what one extraction may produce or use (decompressed bytes, pages, nesting,
 * line length, memory): a property of the file, so retrying cannot help. The message names the limit,
 * its value, the variable that sets it and the file.
 */
export class LimitExceededError extends NonRetryableError {
  override readonly name = 'LimitExceededError';
}

/**
 * S3 or PostgreSQL refused a request for what it holds, not because it is unavailable: a data exception
 * or integrity violation (SQLSTATE classes 22, 23), an invalid statement (42, e.g. a relation that does
 * not exist), a server that lacks a file or cannot load a library it needs (58P01, "could not load
 * library …"), a key or request S3 rejects (4xx other than 403, 404, 408, 409, 429). The same request
 * fails the same way on every retry, so the file fails now; the message names the server's code and
 * words. Which errors are which: src/activities/ingest/storage-errors.ts.
 */
export class PermanentStorageError extends NonRetryableError {
  override readonly name = 'PermanentStorageError';
}

/**
 * A speech transcript that does not follow the transcript format (src/domain/insight/transcript.ts): the
 * message names the field and, for a segment, its index. The same bytes fail the same way on every retry.
 */
export class InvalidTranscriptError extends NonRetryableError {
  override readonly name = 'InvalidTranscriptError';
}

/** The model's API refused our key (401/403): no retry fixes a wrong or revoked key. */
export class LlmAuthError extends NonRetryableError {
  override readonly name = 'LlmAuthError';
}

/**
 * The model's API rejected the request itself (400/404/413/422: unknown model, prompt too long for the
 * model, a schema the server does not accept): the same request fails the same way again.
 */
export class LlmRequestRejectedError extends NonRetryableError {
  override readonly name = 'LlmRequestRejectedError';
}

/** The model's answers kept failing the task's schema after the configured re-asks; names the field. */
export class SchemaViolationError extends NonRetryableError {
  override readonly name = 'SchemaViolationError';
}

/** The configured LLM provider cannot run here (e.g. `local` without a model); the message says why. */
export class LlmProviderUnavailableError extends NonRetryableError {
  override readonly name = 'LlmProviderUnavailableError';
}

/** A session file that is not in the sessions format; the message names the file and the field. */
export class InvalidSessionError extends NonRetryableError {
  override readonly name = 'InvalidSessionError';
}

/** The embedding API refused our key (401/403); the message names the variable to fix. */
export class EmbeddingAuthError extends NonRetryableError {
  override readonly name = 'EmbeddingAuthError';
}

/** The embedding API rejected the request itself (400/404/413/422: unknown model, bad dimensions). */
export class EmbeddingRequestRejectedError extends NonRetryableError {
  override readonly name = 'EmbeddingRequestRejectedError';
}

/** The configured embedding provider cannot run here (model files missing or unreadable); says why. */
export class EmbeddingProviderUnavailableError extends NonRetryableError {
  override readonly name = 'EmbeddingProviderUnavailableError';
}

export const NON_RETRYABLE_ERRORS = [
  CorruptFileError,
  UnsupportedFileTypeError,
  MissingObjectError,
  LimitExceededError,
  PermanentStorageError,
  LlmAuthError,
  LlmRequestRejectedError,
  SchemaViolationError,
  LlmProviderUnavailableError,
  InvalidSessionError,
  InvalidTranscriptError,
  EmbeddingAuthError,
  EmbeddingRequestRejectedError,
  EmbeddingProviderUnavailableError,
] as const;

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
