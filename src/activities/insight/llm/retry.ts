/**
 * Our HTTP retry policy for model APIs (the SDKs' own retries are switched off, maxRetries: 0, so these
 * are the ones that count and their waits are visible): 429, 408, 409 and 5xx and connection failures
 * are retried up to P8FS_LLM_HTTP_RETRIES times, each after the server's Retry-After (retry-after-ms,
 * retry-after seconds or HTTP date) or else an exponential backoff. A wait longer than
 * P8FS_LLM_RETRY_MAX_WAIT_SECONDS, or retries exhausted, becomes a retryable Temporal failure with
 * `nextRetryDelay` = the server's wait, so the activity retries later without holding a worker slot.
 * 401/403 become LlmAuthError and other 4xx LlmRequestRejectedError: retrying cannot fix those.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { errorText, LlmAuthError, LlmRequestRejectedError } from '../../../domain/errors.js';

export interface RetryPolicy {
  retries: number;
  maxWaitMs: number;
  /** First backoff without a Retry-After; doubled per attempt, at most 30 s. */
  baseDelayMs?: number;
}

interface HttpishError {
  status?: number;
  headers?: Headers | Record<string, string | null | undefined>;
  name?: string;
}

function header(error: HttpishError, name: string): string | undefined {
  const { headers } = error;
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | null | undefined>)[name];
  return value ?? undefined;
}

/** The server's requested wait in ms, from retry-after-ms or retry-after (seconds or an HTTP date). */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  const e = error as HttpishError;
  const ms = Number(header(e, 'retry-after-ms'));
  if (header(e, 'retry-after-ms') !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = header(e, 'retry-after');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function statusOf(error: unknown): number | undefined {
  const status = (error as HttpishError).status;
  return typeof status === 'number' ? status : undefined;
}

function isConnectionFailure(error: unknown): boolean {
  const name = (error as HttpishError).name ?? '';
  return (
    /APIConnection(Timeout)?Error/.test(name) ||
    (error instanceof Error &&
      statusOf(error) === undefined &&
      /connect|timed? ?out|ECONN|socket/i.test(error.message))
  );
}

export function isRetryableHttp(error: unknown): boolean {
  const status = statusOf(error);
  if (status === undefined) return isConnectionFailure(error);
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Translates a final failure into our error classes; returns the error unchanged when it is not HTTP. */
export function classifyHttpError(error: unknown, where: string): Error {
  const status = statusOf(error);
  if (status === 401 || status === 403) {
    return new LlmAuthError(
      `${where} refused the API key (HTTP ${status}): check the key variable for this provider (OPENAI_API_KEY or ANTHROPIC_API_KEY). Server said: ${errorText(error)}`,
      { cause: error },
    );
  }
  if (status !== undefined && status >= 400 && status < 500 && !isRetryableHttp(error)) {
    return new LlmRequestRejectedError(
      `${where} rejected the request (HTTP ${status}): ${errorText(error)}`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

export interface RetryEvents {
  signal?: AbortSignal;
  onWait?: (details: { attempt: number; waitMs: number; status?: number; retryAfterMs?: number }) => void;
}

/** Runs `call`, retrying transient HTTP failures as described above. */
export async function withHttpRetries<T>(
  where: string,
  policy: RetryPolicy,
  call: () => Promise<T>,
  events: RetryEvents = {},
): Promise<T> {
  const base = policy.baseDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (events.signal?.aborted) throw error;
      if (!isRetryableHttp(error)) throw classifyHttpError(error, where);
      const status = statusOf(error);
      const asked = retryAfterMs(error);
      const waitMs = asked ?? Math.min(30_000, base * 2 ** (attempt - 1));
      if (attempt > policy.retries || waitMs > policy.maxWaitMs) {
        // Temporal retries the activity after the server's wait (or its own backoff without one).
        throw ApplicationFailure.create({
          type: 'LlmUnavailableError',
          message: `${where} is unavailable after ${attempt} attempt(s) (${status !== undefined ? `HTTP ${status}` : 'no response'}): ${errorText(error)}${asked !== undefined ? `; the server asked to wait ${Math.round(asked / 1000)} s` : ''}`,
          nonRetryable: false,
          ...(error instanceof Error ? { cause: error } : {}),
          ...(asked !== undefined ? { nextRetryDelay: Math.max(1000, asked) } : {}),
        });
      }
      events.onWait?.({
        attempt,
        waitMs,
        ...(status !== undefined ? { status } : {}),
        ...(asked !== undefined ? { retryAfterMs: asked } : {}),
      });
      await sleep(waitMs, undefined, events.signal ? { signal: events.signal } : undefined);
    }
  }
}
