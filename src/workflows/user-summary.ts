/**
 * userSummary (`p8fs dreaming process --task user-summary`): one tenant's recent activity → the
 * `p8fs-user-info` resource, in one activity (it makes the one model call). Replacing the resource is
 * idempotent, so a retried or repeated run leaves one summary.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { UserSummaryActivities } from '../activities/insight/user-summary.js';
import type { UserSummaryInput, UserSummaryOutcome } from '../domain/insight/user-summary.js';
import { activityRetry } from './failures.js';

const model = proxyActivities<UserSummaryActivities>({
  startToCloseTimeout: '20 minutes',
  scheduleToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: activityRetry('2 seconds', '2 minutes'),
});

export async function userSummary(input: UserSummaryInput): Promise<UserSummaryOutcome> {
  if (typeof input.tenantId !== 'string' || input.tenantId === '')
    throw ApplicationFailure.nonRetryable('userSummary: tenantId is missing', 'InvalidInputError');
  for (const key of ['maxSessions', 'maxMoments', 'maxResources', 'maxFiles'] as const) {
    const value = input[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0))
      throw ApplicationFailure.nonRetryable(
        `userSummary: ${key} must be a whole number above 0`,
        'InvalidInputError',
      );
  }
  return model.summarizeUser(input);
}
