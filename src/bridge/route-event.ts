/**
 * Routing one storage event: validate → (HEAD the object) → choose the tier → start `ingestFile` with a
 * deterministic id. The caller acks, naks or dead-letters according to the result; this module never
 * touches the message itself, so the bridge and the self-test share exactly the same rules.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { headObject } from '../clients/object-store.js';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { eventVersion, ingestWorkflowId } from '../domain/ids.js';
import type { IngestFileInput } from '../domain/ingest.js';
import { parseStorageEvent, type StorageEvent } from '../domain/storage-event.js';
import { type Tier, tierForSize } from '../domain/tiers.js';
import { taskQueueFor } from '../temporal/names.js';
import { SearchAttributes } from '../temporal/search-attributes.js';
import { startIngestFile } from '../temporal/starts.js';

export type RouteResult =
  | { kind: 'started'; workflowId: string; runId: string; tier: Tier; taskQueue: string; event: StorageEvent }
  | { kind: 'deduplicated'; workflowId: string; tier: Tier; event: StorageEvent }
  | { kind: 'ignored'; reason: string }
  | { kind: 'rejected'; reason: string }
  /** Something transient failed (S3 or Temporal unreachable): nak and try again later. */
  | { kind: 'retry'; reason: string; temporalUnavailable: boolean };

export interface RouteDeps {
  cfg: Config;
  s3: S3Client;
  temporal: Client;
}

const START_DEADLINE_MS = 10_000;

/** Resolves size, type and version from S3 for events that name an object that must exist. */
async function withObjectFacts(deps: RouteDeps, event: StorageEvent): Promise<StorageEvent | string> {
  const head = await headObject(deps.s3, event.bucket, event.key);
  if (!head) return `${event.type} event for s3://${event.bucket}/${event.key}, which does not exist`;
  const storedType =
    head.contentType && head.contentType !== 'application/octet-stream' ? head.contentType : undefined;
  // A version from the producer wins; otherwise the object's etag + mtime tell one upload from the next.
  const version =
    event.version ?? [head.etag, head.lastModified?.getTime()].filter((part) => part !== undefined).join('-');
  return { ...event, size: head.size, mimeType: event.mimeType ?? storedType, version: version || undefined };
}

export interface PlannedStart {
  kind: 'planned';
  event: StorageEvent;
  tier: Tier;
  workflowId: string;
  taskQueue: string;
  input: IngestFileInput;
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
  const parsed = parseStorageEvent(payload);
  if (parsed.kind === 'reject') return { kind: 'rejected', reason: parsed.reason };
  if (parsed.kind === 'ignore') return { kind: 'ignored', reason: parsed.reason };

  let event = parsed.event;
  if (event.type !== 'delete') {
    try {
      const resolved = await withObjectFacts(deps, event);
      if (typeof resolved === 'string') return { kind: 'rejected', reason: resolved };
      event = resolved;
    } catch (error) {
      return {
        kind: 'retry',
        reason: `S3 at ${deps.cfg.s3.endpoint} failed: ${errorText(error)}`,
        temporalUnavailable: false,
      };
    }
  }
  const tier = tierForSize(event.size ?? 0, deps.cfg.tiers);
  const version = eventVersion(event);
  const versioned = { ...event, version };
  return {
    kind: 'planned',
    event: versioned,
    tier,
    workflowId: ingestWorkflowId(versioned),
    taskQueue: taskQueueFor(deps.cfg, tier),
    input: { event: versioned, tier, version, source },
  };
}

function searchAttributesFor(plan: PlannedStart): SearchAttributePair[] {
  const { event } = plan;
  const pairs: SearchAttributePair[] = [
    { key: SearchAttributes.TenantId, value: event.tenantId },
    { key: SearchAttributes.Tier, value: plan.tier },
    { key: SearchAttributes.FileName, value: event.fileName },
    { key: SearchAttributes.JobType, value: `ingest_${event.type}` },
  ];
  if (event.mimeType) pairs.push({ key: SearchAttributes.MimeType, value: event.mimeType });
  if (event.size !== undefined) pairs.push({ key: SearchAttributes.FileSize, value: event.size });
  return pairs;
}

export async function startPlanned(deps: RouteDeps, plan: PlannedStart): Promise<RouteResult> {
  const { event, tier, workflowId, taskQueue } = plan;
  try {
    const handle = await deps.temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
      startIngestFile(deps.temporal, plan.input, {
        taskQueue,
        workflowId,
        // A closed run of this id means this exact version was handled, whatever the outcome: never again
        // (a fixed file comes back as a new upload, hence a new version). Deletes are harmless to repeat.
        workflowIdReusePolicy: event.type === 'delete' ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
        // A run of this id still in progress: the duplicate is a no-op (start throws AlreadyStarted).
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: searchAttributesFor(plan),
      }),
    );
    return { kind: 'started', workflowId, runId: handle.firstExecutionRunId, tier, taskQueue, event };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      return { kind: 'deduplicated', workflowId, tier, event };
    return {
      kind: 'retry',
      reason: `Temporal at ${deps.cfg.temporal.address} did not accept the start: ${errorText(error)}`,
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
