/**
 * Whether a request failed because a server the API needs (PostgreSQL, SeaweedFS, NATS, Temporal) is
 * away rather than because of the request or our code: such a failure is a 503 with Retry-After, which
 * tells a client to try again later (the soak saw outages answered 500, which a client must not retry).
 */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);
/** pg's own words when a connection is lost or cannot be had from the pool in time. */
const PG_CONNECTION_MESSAGE =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/**
 * NATS (@nats-io/nats-core's error names): JetStream did not answer in time, nobody listens (the stream's
 * server is restarting), or the connection is closed or reconnecting. TimeoutError is also the DOM name of
 * an AbortSignal.timeout, which likewise means a server did not answer in time.
 */
const OUTAGE_ERROR_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'NoResponders',
  'ConnectionError',
  'ClosedConnectionError',
  'DrainingConnectionError',
]);

/** Seconds a client is asked to wait after a 503 of an outage. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export function isDependencyUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const e = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
    $metadata?: { httpStatusCode?: number };
    $fault?: unknown;
  };
  if (typeof e.code === 'string') {
    if (NETWORK_CODES.has(e.code)) return true;
    // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now).
    if (/^08...$/.test(e.code) || /^57P0[123]$/.test(e.code)) return true;
  }
  if (typeof e.message === 'string' && PG_CONNECTION_MESSAGE.test(e.message)) return true;
  if (error instanceof Error && OUTAGE_ERROR_NAMES.has(error.name)) return true;
  // S3: the server said it is unavailable or overloaded, or failed on its side after the SDK's own
  // retries (SeaweedFS's S3 gateway answers 500 "UnknownError" while its filer or volume server is away).
  const status = e.$metadata?.httpStatusCode;
  if (status === 503) return true;
  if (e.$fault === 'server' && (status === 500 || status === 502 || status === 504)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDependencyUnavailable(inner, depth + 1)))
    return true;
  return isDependencyUnavailable(e.cause, depth + 1);
}
