/**
 * How the workflows retry their activities and describe a failure that ended one, in one place. Pure and
 * deterministic: each workflow passes the same values it always did, so the commands it emits (and the
 * recorded histories) are unchanged.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  type RetryPolicy,
} from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';

type Duration = NonNullable<RetryPolicy['initialInterval']>;

/**
 * Transient failures (a server restarting, a network blip) retry with exponential backoff for as long as
 * the activity's schedule-to-close budget allows; the error types retrying cannot fix end at once.
 */
export function activityRetry(initialInterval: Duration, maximumInterval: Duration): RetryPolicy {
  return {
    initialInterval,
    backoffCoefficient: 2,
    maximumInterval,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  };
}

export interface FailureDescription {
  errorType: string;
  message: string;
  stack?: string;
}

function describeError(cause: unknown, withStack: boolean): FailureDescription {
  if (!(cause instanceof Error)) return { errorType: 'Error', message: String(cause) };
  const errorType = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : cause.name;
  return withStack
    ? { errorType, message: cause.message, stack: cause.stack }
    : { errorType, message: cause.message };
}

/**
 * The error an activity threw (ActivityFailure's cause), else the error itself: its type (the
 * ApplicationFailure's type or the Error's name) and message, and its stack when asked for.
 */
export function describeFailure(error: unknown, options: { withStack?: boolean } = {}): FailureDescription {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return describeError(cause, options.withStack ?? false);
}

/**
 * One line `type: message` for the innermost failure under child-workflow and activity wrappers (a
 * child's failure is usually its activity's), for reasons kept in a batch's records.
 */
export function failureReason(error: unknown): string {
  let cause: unknown = error;
  while (cause instanceof ChildWorkflowFailure || cause instanceof ActivityFailure) {
    if (!cause.cause) break;
    cause = cause.cause;
  }
  if (!(cause instanceof Error)) return String(cause);
  const { errorType, message } = describeError(cause, false);
  return `${errorType}: ${message}`;
}
