/**
 * What a failed call tells the bridge: is the *event* unusable (dead-letter it now, with the server's
 * words), or is a *server* unusable (nak and try later; for Temporal also stop pulling)? Deciding this
 * wrongly either loses the backlog into the DLQ during an outage, or parks one bad event for
 * `maxDeliver` deliveries while the bridge pauses again and again (46 minutes with the defaults).
 *
 * Temporal, `startWorkflowExecution` (the SDK wraps the gRPC error in `ServiceError.cause`):
 * - permanent, about this event: INVALID_ARGUMENT (a search attribute over the size limit, an id too
 *   long, …), OUT_OF_RANGE, and INTERNAL "error unmarshalling request" (the request is not valid
 *   protobuf, e.g. invalid UTF-8 in a string); also errors the client raises before sending anything
 *   (TypeError, RangeError, URIError, the SDK's ValueError and payload converter errors): the same input
 *   fails the same way every time.
 * - unavailable, pause: everything else. UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED
 *   (rate limits), ABORTED, UNKNOWN and other INTERNAL errors are outages or overload. UNAUTHENTICATED,
 *   PERMISSION_DENIED, NOT_FOUND (namespace), FAILED_PRECONDITION (namespace not active, …) and
 *   UNIMPLEMENTED are deployment faults: they hit every event alike, so dead-lettering would drain the
 *   whole stream into the DLQ; pausing keeps the backlog until an operator fixes it.
 *
 * S3, HEAD of the event's object (404 never gets here: it means "missing" and is dead-lettered):
 * - permanent: 4xx other than 403, 408, 409 and 429 (a request S3 refuses for this key: 400, 412, 414,
 *   416, …), and client-side errors raised before sending (URIError "URI malformed", TypeError,
 *   RangeError).
 * - transient: 5xx, network errors (ECONNREFUSED, resets, timeouts), 403 (credentials are the same for
 *   every event: a deployment fault), 408, 409, 429, and anything unknown.
 */
import { STATUS_CODES } from 'node:http';
import { isGrpcServiceError } from '@temporalio/client';
import { errorText } from '../domain/errors.js';

export type StartFailure = { kind: 'permanent'; message: string } | { kind: 'unavailable'; message: string };

export type HeadFailure = { kind: 'permanent'; message: string } | { kind: 'transient'; message: string };

/** gRPC status codes by number (they are part of the gRPC protocol and never change). */
const GRPC_CODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'OK'],
  [1, 'CANCELLED'],
  [2, 'UNKNOWN'],
  [3, 'INVALID_ARGUMENT'],
  [4, 'DEADLINE_EXCEEDED'],
  [5, 'NOT_FOUND'],
  [6, 'ALREADY_EXISTS'],
  [7, 'PERMISSION_DENIED'],
  [8, 'RESOURCE_EXHAUSTED'],
  [9, 'FAILED_PRECONDITION'],
  [10, 'ABORTED'],
  [11, 'OUT_OF_RANGE'],
  [12, 'UNIMPLEMENTED'],
  [13, 'INTERNAL'],
  [14, 'UNAVAILABLE'],
  [15, 'DATA_LOSS'],
  [16, 'UNAUTHENTICATED'],
]);

const PERMANENT_GRPC_CODES: ReadonlySet<number> = new Set([3, 11]);
const GRPC_INTERNAL = 13;
/** The server could not decode the request at all: sending it again cannot help. */
const UNREADABLE_REQUEST = /error unmarshalling request|invalid UTF-8/i;
/** Errors the client raises while building a request, before anything is sent. */
const CLIENT_SIDE_ERRORS: ReadonlySet<string> = new Set([
  'TypeError',
  'RangeError',
  'URIError',
  'ValueError',
  'PayloadConverterError',
  'DataConverterError',
]);

interface GrpcLike {
  code: number;
  details?: string;
  message: string;
}

/** The gRPC error in `error` or its cause chain (the SDK wraps it in ServiceError). */
function grpcErrorIn(error: unknown): GrpcLike | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (isGrpcServiceError(current)) return current as GrpcLike;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function grpcText(grpc: GrpcLike): string {
  const name = GRPC_CODE_NAMES.get(grpc.code) ?? `code ${grpc.code}`;
  return `${name}: ${grpc.details || grpc.message}`;
}

function isClientSide(error: unknown): boolean {
  return error instanceof Error && CLIENT_SIDE_ERRORS.has(error.name);
}

/** Classifies an error from starting a workflow (WorkflowExecutionAlreadyStartedError is handled before). */
export function classifyStartError(error: unknown): StartFailure {
  const grpc = grpcErrorIn(error);
  if (grpc) {
    const message = grpcText(grpc);
    const unreadable = grpc.code === GRPC_INTERNAL && UNREADABLE_REQUEST.test(grpc.details || grpc.message);
    if (PERMANENT_GRPC_CODES.has(grpc.code) || unreadable) return { kind: 'permanent', message };
    return { kind: 'unavailable', message };
  }
  if (isClientSide(error))
    return { kind: 'permanent', message: `${(error as Error).name}: ${errorText(error)}` };
  return { kind: 'unavailable', message: errorText(error) };
}

const TRANSIENT_4XX: ReadonlySet<number> = new Set([403, 408, 409, 429]);

/** Classifies an error from HEAD of the event's object (not-found is handled before). */
export function classifyHeadError(error: unknown): HeadFailure {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  if (typeof status === 'number') {
    const message = httpText(status, error);
    const permanent = status >= 400 && status < 500 && !TRANSIENT_4XX.has(status);
    return { kind: permanent ? 'permanent' : 'transient', message };
  }
  if (isClientSide(error)) {
    return { kind: 'permanent', message: `${(error as Error).name}: ${errorText(error)}` };
  }
  return { kind: 'transient', message: errorText(error) };
}

/** "HTTP 416 Range Not Satisfiable" plus what the SDK made of the body (HEAD answers have none). */
function httpText(status: number, error: unknown): string {
  const e = error as { name?: string };
  const text = errorText(error);
  const said = [e.name, text].filter((part) => part && part !== 'Unknown' && part !== 'UnknownError');
  const phrase = Object.hasOwn(STATUS_CODES, status) ? ` ${STATUS_CODES[status]}` : '';
  return `HTTP ${status}${phrase}${said.length > 0 ? ` (${[...new Set(said)].join(': ')})` : ''}`;
}
