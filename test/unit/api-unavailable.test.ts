import { describe, expect, it } from 'vitest';
import { isDependencyUnavailable } from '../../src/api/unavailable.js';

/** An error shaped as the AWS SDK v3 throws it for an S3 answer. */
function s3Error(status: number, fault: 'client' | 'server') {
  return Object.assign(new Error('UnknownError'), { $fault: fault, $metadata: { httpStatusCode: status } });
}

describe('isDependencyUnavailable: a server the API needs is away (503), not a fault of the request or ours', () => {
  it('network failures and PostgreSQL going away are outages', () => {
    expect(isDependencyUnavailable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('shutdown'), { code: '57P01' }))).toBe(true);
    expect(isDependencyUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    const wrapped = new Error('upload failed', {
      cause: new AggregateError([new Error('x'), Object.assign(new Error('y'), { code: 'ECONNRESET' })]),
    });
    expect(isDependencyUnavailable(wrapped)).toBe(true);
  });

  it("S3's server-side failures after the SDK's retries are outages (the soak saw SeaweedFS answer 500 while its filer was stopped)", () => {
    expect(isDependencyUnavailable(s3Error(503, 'server'))).toBe(true);
    expect(isDependencyUnavailable(s3Error(500, 'server'))).toBe(true);
    expect(isDependencyUnavailable(s3Error(502, 'server'))).toBe(true);
  });

  it('NATS not answering (a publish timing out while the server restarts: the soak saw it as a 500) is an outage', () => {
    const named = (name: string) => Object.assign(new Error('timeout'), { name });
    expect(isDependencyUnavailable(named('TimeoutError'))).toBe(true);
    expect(isDependencyUnavailable(named('NoResponders'))).toBe(true);
    expect(isDependencyUnavailable(named('ClosedConnectionError'))).toBe(true);
    expect(isDependencyUnavailable(named('InvalidSubjectError'))).toBe(false);
  });

  it("the request's own faults and our bugs are not", () => {
    expect(isDependencyUnavailable(s3Error(400, 'client'))).toBe(false);
    expect(isDependencyUnavailable(s3Error(403, 'client'))).toBe(false);
    expect(isDependencyUnavailable(s3Error(501, 'server'))).toBe(false);
    expect(isDependencyUnavailable(new TypeError('cannot read properties of undefined'))).toBe(false);
    expect(isDependencyUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
  });
});
