/**
 * Failures that retrying cannot fix. Their class names are listed as Temporal `nonRetryableErrorTypes`
 * (see NON_RETRYABLE_ERROR_TYPES), so a corrupt or unsupported file ends in seconds with a clear reason
 * instead of retrying for hours.
 */
export class CorruptFileError extends Error {
  override readonly name = 'CorruptFileError';
}

export class UnsupportedFileTypeError extends Error {
  override readonly name = 'UnsupportedFileTypeError';
}

export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

/** The object named by an event does not exist in S3 (deleted before we got to it, or a bad event). */
export class MissingObjectError extends Error {
  override readonly name = 'MissingObjectError';
}

export const NON_RETRYABLE_ERROR_TYPES = [
  'CorruptFileError',
  'UnsupportedFileTypeError',
  'InvalidEventError',
  'MissingObjectError',
] as const;
