/**
 * Routing one storage event: validate → (HEAD the object) → choose the tier → start `ingestFile` with a
 * deterministic id; a transcript JSON under `transcripts/` starts `buildMoments` on the LLM queue instead.
 * The caller acks, naks or dead-letters according to the result; this module never touches the message
 * itself, so the bridge and the self-test share exactly the same rules.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { headObject } from '../clients/object-store.js';
import type { Config } from '../config/config.js';
import { eventVersion, ingestWorkflowId, storedObjectVersion } from '../domain/ids.js';
import type { IngestFileInput } from '../domain/ingest.js';
import { type BuildMomentsInput, isTranscriptUpload } from '../domain/insight/build-moments.js';
import { momentsWorkflowId } from '../domain/insight/moment-ids.js';
import {
  boundedMimeType,
  type IgnoreCategory,
  parseStorageEvent,
  type StorageEvent,
} from '../domain/storage-event.js';
import { type Tier, tierForSize } from '../domain/tiers.js';
import { cutUtf8 } from '../domain/utf8.js';
import { llmTaskQueue, taskQueueFor } from '../temporal/names.js';
import { JobTypes, SearchAttributes } from '../temporal/search-attributes.js';
import { startBuildMoments, startIngestFile } from '../temporal/starts.js';
import { classifyHeadError, classifyStartError } from './failures.js';

export type RouteResult =
  | { kind: 'started'; workflowId: string; runId: string; tier: Tier; taskQueue: string; event: StorageEvent }
  | { kind: 'deduplicated'; workflowId: string; tier: Tier; event: StorageEvent }
  | { kind: 'ignored'; reason: string; category: IgnoreCategory }
  /** `rejection`: the reason's bounded category, the dead-letter metric's label (absent: invalid_event). */
  | { kind: 'rejected'; reason: string; rejection?: Rejection }
  /** Something transient failed (S3 or Temporal unreachable): nak and try again later. */
  | { kind: 'retry'; reason: string; temporalUnavailable: boolean };

/** Why an event is rejected (dead-lettered), as a bounded category; the reason text says the details. */
export type Rejection = 'invalid_event' | 'object_missing' | 's3_refused' | 'start_rejected';

export interface RouteDeps {
  cfg: Config;
  s3: S3Client;
  temporal: Client;
}

const START_DEADLINE_MS = 10_000;
/**
 * Temporal refuses a search attribute value over 2 KB (`limit.searchAttributeSizePerValue`); Keyword
 * values are cut well below, at a character boundary, so an odd file name never blocks a start.
 */
export const MAX_KEYWORD_BYTES = 1000;

/**
 * Buckets that are never tenants: the configured derived-data bucket; the parser adds every `p8fs-…`
 * bucket (RESERVED_BUCKET_PREFIX) on its own.
 */
export function reservedBuckets(cfg: Pick<Config, 's3'>): string[] {
  return [cfg.s3.derivedBucket];
}

type Facts =
  | { kind: 'event'; event: StorageEvent }
  | Exclude<RouteResult, { kind: 'started' | 'deduplicated' }>;

/** Resolves size, type and version from S3 for events that name an object that must exist. */
async function withObjectFacts(deps: RouteDeps, event: StorageEvent): Promise<Facts> {
  const where = `s3://${event.bucket}/${event.key}`;
  let head: Awaited<ReturnType<typeof headObject>>;
  try {
    head = await headObject(deps.s3, event.bucket, event.key);
  } catch (error) {
    const failure = classifyHeadError(error);
    if (failure.kind === 'permanent') {
      return {
        kind: 'rejected',
        rejection: 's3_refused',
        reason: `S3 at ${deps.cfg.s3.endpoint} refused HEAD ${where}: ${failure.message}`,
      };
    }
    return {
      kind: 'retry',
      reason: `S3 at ${deps.cfg.s3.endpoint} failed: ${failure.message}`,
      temporalUnavailable: false,
    };
  }
  if (!head)
    return {
      kind: 'rejected',
      rejection: 'object_missing',
      reason: `${event.type} event for ${where}, which does not exist`,
    };
  const storedType = boundedMimeType(
    head.contentType === 'application/octet-stream' ? undefined : head.contentType,
  );
  const resolved: StorageEvent = { ...event, size: head.size };
  const mimeType = event.mimeType ?? storedType;
  if (mimeType !== undefined) resolved.mimeType = mimeType;
  // What the workflow will read is the object as it is now: its etag (+ Last-Modified) is the version,
  // whatever the producer said (an mtime of one-second resolution would merge two saves in a second).
  const version = storedObjectVersion(head) ?? event.version;
  if (version !== undefined) resolved.version = version;
  return { kind: 'event', event: resolved };
}

export interface PlannedStart {
  kind: 'planned';
  event: StorageEvent;
  tier: Tier;
  workflowId: string;
  taskQueue: string;
  input: IngestFileInput;
  /** Set for a transcript upload: start buildMoments with this input instead of ingestFile. */
  moments?: BuildMomentsInput;
}

/**
 * Everything short of starting: validate, ask S3 for the object's facts, choose tier, version and the
 * deterministic workflow id. Also used to find the workflow of an event that was already routed.
 */
export async function planRoute(
  deps: RouteDeps,
  payload: Uint8Array | string,
  source: string,
): Promise<PlannedStart | Exclude<RouteResult, { kind: 'started' | 'deduplicated' }>> {
  const parsed = parseStorageEvent(payload, { reservedBuckets: reservedBuckets(deps.cfg) });
  if (parsed.kind === 'reject')
    return { kind: 'rejected', rejection: 'invalid_event', reason: parsed.reason };
  if (parsed.kind === 'ignore') return { kind: 'ignored', reason: parsed.reason, category: parsed.category };

  let event = parsed.event;
  if (event.type !== 'delete') {
    const facts = await withObjectFacts(deps, event);
    if (facts.kind !== 'event') return facts;
    event = facts.event;
  }
  const tier = tierForSize(event.size ?? 0, deps.cfg.tiers);
  const version = eventVersion(event);
  const versioned = { ...event, version };
  if (isTranscriptUpload(versioned)) {
    // A transcript becomes moments, not resources: buildMoments on the LLM queue, deduplicated the same way.
    return {
      kind: 'planned',
      event: versioned,
      tier,
      workflowId: momentsWorkflowId(versioned),
      taskQueue: llmTaskQueue(deps.cfg),
      input: { event: versioned, tier, version, source },
      moments: { tenantId: versioned.tenantId, transcriptKey: versioned.key, source },
    };
  }
  return {
    kind: 'planned',
    event: versioned,
    tier,
    workflowId: ingestWorkflowId(versioned),
    taskQueue: taskQueueFor(deps.cfg, tier),
    input: { event: versioned, tier, version, source },
  };
}

export function searchAttributesFor(
  plan: Pick<PlannedStart, 'event' | 'tier' | 'moments'>,
): SearchAttributePair[] {
  const { event } = plan;
  const keyword = (value: string) => cutUtf8(value, MAX_KEYWORD_BYTES);
  const pairs: SearchAttributePair[] = [
    { key: SearchAttributes.TenantId, value: keyword(event.tenantId) },
    { key: SearchAttributes.Tier, value: plan.tier },
    { key: SearchAttributes.FileName, value: keyword(event.fileName) },
    // The job type of the `jobs` table (ingest_file, build_moments); the event type (create, update,
    // delete, rename) is in the memo and the summary.
    { key: SearchAttributes.JobType, value: plan.moments ? JobTypes.buildMoments : JobTypes.ingestFile },
  ];
  if (event.mimeType) pairs.push({ key: SearchAttributes.MimeType, value: keyword(event.mimeType) });
  if (event.size !== undefined) pairs.push({ key: SearchAttributes.FileSize, value: event.size });
  return pairs;
}

export async function startPlanned(deps: RouteDeps, plan: PlannedStart): Promise<RouteResult> {
  const { event, tier, workflowId, taskQueue } = plan;
  try {
    const options = {
      taskQueue,
      workflowId,
      // A closed run of this id means this exact version was handled, whatever the outcome: never again
      // (a fixed file comes back as a new upload, hence a new version). Deletes are harmless to repeat.
      workflowIdReusePolicy: event.type === 'delete' ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      // A run of this id still in progress: the duplicate is a no-op (start throws AlreadyStarted).
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: searchAttributesFor(plan),
    } as const;
    const moments = plan.moments;
    const handle = await deps.temporal.withDeadline(
      Date.now() + START_DEADLINE_MS,
      (): Promise<{ firstExecutionRunId: string }> =>
        moments
          ? startBuildMoments(deps.temporal, moments, options)
          : startIngestFile(deps.temporal, plan.input, options),
    );
    return { kind: 'started', workflowId, runId: handle.firstExecutionRunId, tier, taskQueue, event };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      return { kind: 'deduplicated', workflowId, tier, event };
    // Rejected for what this event is (too large a value, invalid UTF-8): retrying cannot help, so it
    // goes to the DLQ now. Anything else means Temporal is not usable right now: nak and pause.
    const failure = classifyStartError(error);
    if (failure.kind === 'permanent') {
      return {
        kind: 'rejected',
        rejection: 'start_rejected',
        reason: `Temporal at ${deps.cfg.temporal.address} rejected the start of ${JSON.stringify(workflowId)}: ${failure.message}`,
      };
    }
    return {
      kind: 'retry',
      reason: `Temporal at ${deps.cfg.temporal.address} did not accept the start: ${failure.message}`,
      temporalUnavailable: true,
    };
  }
}

export async function routeEvent(
  deps: RouteDeps,
  payload: Uint8Array | string,
  source: string,
): Promise<RouteResult> {
  const plan = await planRoute(deps, payload, source);
  return plan.kind === 'planned' ? startPlanned(deps, plan) : plan;
}
