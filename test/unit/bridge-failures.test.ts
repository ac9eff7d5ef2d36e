/**
 * The bridge's decisions that need no server: how every gRPC status and HTTP status is classified (the
 * same decisions are checked on real server errors in test/integration/hardening-events.test.ts), the
 * UTF-8-safe cut of search-attribute values, and the rate-limited log of ignored events.
 */
import { Writable } from 'node:stream';
import { ServiceError } from '@temporalio/client';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { classifyHeadError, classifyStartError } from '../../src/bridge/failures.js';
import { IgnoredEventLog } from '../../src/bridge/ignored-events.js';
import { MAX_KEYWORD_BYTES, searchAttributesFor } from '../../src/bridge/route-event.js';
import type { StorageEvent } from '../../src/domain/storage-event.js';
import { cutUtf8 } from '../../src/domain/utf8.js';
import { SearchAttributes } from '../../src/temporal/search-attributes.js';

/** What @grpc/grpc-js throws (an Error with code, details and metadata), wrapped as the SDK wraps it. */
function grpcError(code: number, details: string): ServiceError {
  const names = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND'];
  const cause = Object.assign(new Error(`${code} ${names[code] ?? 'X'}: ${details}`), {
    code,
    details,
    metadata: { get: () => [] },
  });
  return new ServiceError('Failed to start Workflow', { cause });
}

describe('classifyStartError', () => {
  it.each([
    [3, 'INVALID_ARGUMENT', 'search attribute MimeType value size 2050 exceeds size limit 2048'],
    [11, 'OUT_OF_RANGE', 'out of range'],
    [13, 'INTERNAL', 'grpc: error unmarshalling request: string field contains invalid UTF-8'],
  ])('gRPC %i (%s) about the request is permanent, with the server message', (code, name, details) => {
    expect(classifyStartError(grpcError(code, details))).toEqual({
      kind: 'permanent',
      message: `${name}: ${details}`,
    });
  });

  it.each([
    [1, 'CANCELLED'],
    [2, 'UNKNOWN'],
    [4, 'DEADLINE_EXCEEDED'],
    [5, 'NOT_FOUND'],
    [7, 'PERMISSION_DENIED'],
    [8, 'RESOURCE_EXHAUSTED'],
    [9, 'FAILED_PRECONDITION'],
    [10, 'ABORTED'],
    [12, 'UNIMPLEMENTED'],
    [13, 'INTERNAL'],
    [14, 'UNAVAILABLE'],
    [15, 'DATA_LOSS'],
    [16, 'UNAUTHENTICATED'],
  ])('gRPC %i (%s) means Temporal is unusable for every event: pause', (code, name) => {
    expect(classifyStartError(grpcError(code, 'server says no'))).toEqual({
      kind: 'unavailable',
      message: `${name}: server says no`,
    });
  });

  it('client-side errors raised before sending are permanent; other errors pause', () => {
    expect(classifyStartError(new TypeError('Missing WorkflowOptions.taskQueue')).kind).toBe('permanent');
    expect(classifyStartError(Object.assign(new Error('bad payload'), { name: 'ValueError' })).kind).toBe(
      'permanent',
    );
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7233'), { code: 'ECONNREFUSED' });
    expect(classifyStartError(refused).kind).toBe('unavailable');
    expect(classifyStartError(new Error('something else')).kind).toBe('unavailable');
    expect(classifyStartError('a string').kind).toBe('unavailable');
  });
});

describe('classifyHeadError', () => {
  const http = (status: number) =>
    Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: status } });

  it.each([400, 405, 411, 412, 414, 416])('HTTP %i is permanent', (status) => {
    expect(classifyHeadError(http(status))).toMatchObject({
      kind: 'permanent',
      message: expect.stringMatching(new RegExp(`^HTTP ${status} `)),
    });
  });

  it.each([403, 408, 409, 429, 500, 502, 503, 504])('HTTP %i is transient', (status) => {
    expect(classifyHeadError(http(status)).kind).toBe('transient');
  });

  it('keeps what the SDK said when it is more than "UnknownError"', () => {
    const named = Object.assign(new Error('The key is too long'), {
      name: 'KeyTooLongError',
      $metadata: { httpStatusCode: 400 },
    });
    expect(classifyHeadError(named)).toEqual({
      kind: 'permanent',
      message: 'HTTP 400 Bad Request (KeyTooLongError: The key is too long)',
    });
  });

  it('client-side errors are permanent, network errors transient', () => {
    expect(classifyHeadError(new URIError('URI malformed'))).toEqual({
      kind: 'permanent',
      message: 'URIError: URI malformed',
    });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifyHeadError(reset)).toEqual({ kind: 'transient', message: 'ECONNRESET: socket hang up' });
  });
});

describe('search attribute values', () => {
  it('cuts UTF-8 at a character boundary', () => {
    expect(cutUtf8('abc', 3)).toBe('abc');
    expect(cutUtf8('abcd', 3)).toBe('abc');
    expect(cutUtf8('ééé', 5)).toBe('éé');
    expect(cutUtf8('a😀b', 4)).toBe('a');
    expect(cutUtf8('a😀b', 5)).toBe('a😀');
    expect(cutUtf8('', 0)).toBe('');
  });

  it(`caps every Keyword value at ${MAX_KEYWORD_BYTES} bytes`, () => {
    const event: StorageEvent = {
      type: 'create',
      path: '/buckets/t/x',
      bucket: 't',
      key: 'x',
      tenantId: 't',
      category: 'uncategorized',
      fileName: `${'漢'.repeat(400)}.txt`,
      mimeType: `text/${'x'.repeat(2000)}`,
      size: 5,
    };
    const pairs = searchAttributesFor({ event, tier: 'small' });
    for (const pair of pairs) {
      if (typeof pair.value === 'string') {
        expect(Buffer.byteLength(pair.value, 'utf8')).toBeLessThanOrEqual(MAX_KEYWORD_BYTES);
      }
    }
    const fileName = pairs.find((pair) => pair.key === SearchAttributes.FileName)?.value;
    expect(fileName).toBe('漢'.repeat(333));
    expect(pairs.find((pair) => pair.key === SearchAttributes.FileSize)?.value).toBe(5);
  });
});

describe('IgnoredEventLog', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function capture() {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
        callback();
      },
    });
    return { lines, log: pino({ level: 'info' }, sink) };
  }

  it('logs the first at once, then one summary per interval and category with the count', async () => {
    vi.useFakeTimers();
    const { lines, log } = capture();
    const ignored = new IgnoredEventLog(log, 10_000);
    for (let i = 0; i < 1000; i++) ignored.record('directory', `path "/buckets/t/d${i}/" is a directory`, i);
    ignored.record('multipart-part', 'path "/buckets/t/.uploads/1" is a multipart upload part', 1001);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, category: 'directory', seq: 0 });
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({
      category: 'directory',
      suppressed: 999,
      seq: 999,
      msg: '999 more events ignored (directory) in the last 10 s; latest: path "/buckets/t/d999/" is a directory',
    });
    // Within the next interval: counted, reported at its end; after a quiet interval: logged at once.
    ignored.record('directory', 'again', 2000);
    expect(lines).toHaveLength(3);
    vi.advanceTimersByTime(10_000);
    expect(lines[3]).toMatchObject({ suppressed: 1, reason: 'again' });
    vi.advanceTimersByTime(10_000);
    ignored.record('directory', 'later', 3000);
    expect(lines[4]).toMatchObject({ reason: 'later', seq: 3000 });
    expect(lines[4]?.suppressed).toBeUndefined();
  });

  it('flush reports what is pending (on shutdown)', () => {
    const { lines, log } = capture();
    const ignored = new IgnoredEventLog(log, 60_000);
    ignored.record('rename-to-itself', 'a', 1);
    ignored.record('rename-to-itself', 'b', 2);
    ignored.flush();
    expect(lines.map((line) => line.suppressed)).toEqual([undefined, 1]);
    ignored.flush();
    expect(lines).toHaveLength(2);
  });
});
