/**
 * The self-test proper, step by step: upload the sample to SeaweedFS, publish its storage event on the
 * test subject into the self-test's own stream (P8FS_STORAGE_EVENTS_TEST, which the production bridge
 * never consumes), read it back from there and route it exactly as the bridge does, process it with in-process storage workers through
 * a real workflow, and count its resources rows. Each step prints one line.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { routeEvent } from '../../bridge/route-event.js';
import { connectNats } from '../../clients/nats.js';
import { createPool } from '../../clients/postgres.js';
import { createS3Client } from '../../clients/s3.js';
import type { Config } from '../../config/config.js';
import { fileIdFor } from '../../domain/ids.js';
import type { IngestOutcome } from '../../domain/ingest.js';
import { createEventFor, publishEvent, uploadFile } from '../../events/publish.js';
import { ensureTestStream } from '../../events/streams.js';
import { createLogger } from '../../telemetry/logger.js';
import { PROCESS_NAMES } from '../../telemetry/process-names.js';
import { connectTemporal } from '../../temporal/connection.js';
import { taskQueueFor } from '../../temporal/names.js';
import { ingestFileHandle } from '../../temporal/starts.js';
import type { StorageWorkers } from '../../workers/storage-worker.js';
import { startStorageWorkers } from '../worker-process.js';
import { followActivities } from '../workflow-progress.js';
import {
  bounded,
  CLEANUP_STEP_MS,
  Interrupted,
  type Progress,
  step,
  unlessInterrupted,
} from './interrupt.js';
import { SELF_TEST_CATEGORY, type SelfTestOptions } from './options.js';

export interface SelfTestResources {
  s3?: S3Client;
  nc?: NatsConnection;
  temporal?: Client;
  workers?: StorageWorkers;
  /** workers.run(): resolves once they have stopped. */
  running?: Promise<void>;
}

/** The self-test proper; `interrupt` aborts with the signal's name or 'deadline'. */
export async function selfTestSteps(
  cfg: Config,
  file: string,
  options: SelfTestOptions,
  interrupt: AbortSignal,
  progress: Progress,
  resources: SelfTestResources,
  started: number,
): Promise<boolean> {
  const { tiers, tenant } = options;
  const wait = <T>(work: Promise<T>) => unlessInterrupted(work, interrupt);
  const s3 = createS3Client(cfg);
  resources.s3 = s3;
  const nc = await wait(connectNats(cfg, PROCESS_NAMES.selfTest));
  resources.nc = nc;
  const temporal = await wait(connectTemporal(cfg));
  resources.temporal = temporal;
  // No metrics for a short self-test: its port would clash with a worker already running on this host.
  // The self-test's step lines are its output; its worker speaks only of problems, in the same voice.
  const log = createLogger(
    { logLevel: 'warn', logFormat: cfg.logFormat === 'json' ? 'json' : 'pretty' },
    PROCESS_NAMES.selfTest,
  );
  const workers = await wait(startStorageWorkers(cfg, tiers, log, { metricsPort: 0 }));
  resources.workers = workers;
  resources.running = workers.run();
  // A worker that fails is reported by the workflow never finishing; its error must not crash the process.
  resources.running.catch(() => undefined);

  const jsm = await wait(jetstreamManager(nc));
  // The self-test acts as a one-message bridge on its own stream, so it may create the streams.
  await wait(ensureTestStream(jsm, cfg));
  const object = await wait(uploadFile(s3, file, tenant, SELF_TEST_CATEGORY));
  progress.uploaded = `s3://${object.bucket}/${object.key}`;
  step(
    `1/5 uploaded ${file} → s3://${object.bucket}/${object.key} (${object.size} bytes, ${object.mimeType})`,
  );

  const event = createEventFor(object);
  const published = await wait(
    publishEvent(jetstream(nc), cfg.nats.testSubject, event, `${object.path}@${object.etag}`),
  );
  step(
    `2/5 published on ${cfg.nats.testSubject} (stream ${cfg.nats.testStream} seq ${published.seq}${published.duplicate ? ', duplicate of an earlier publish' : ''}): ${JSON.stringify(event)}`,
  );

  const stored = await wait(jsm.streams.getMessage(cfg.nats.testStream, { seq: published.seq }));
  if (!stored) throw new Error(`message ${published.seq} not found in ${cfg.nats.testStream}`);
  progress.routing = routeEvent({ cfg, s3, temporal }, stored.data, `self-test#${published.seq}`).then(
    (result) => {
      progress.routed = result;
      if (result.kind === 'started' || result.kind === 'deduplicated') {
        progress.workflowId = result.workflowId;
        progress.taskQueue = taskQueueFor(cfg, result.tier);
        progress.startedHere = result.kind === 'started';
      }
      return result;
    },
  );
  const routed = await wait(progress.routing);
  if (routed.kind !== 'started' && routed.kind !== 'deduplicated') {
    step(`3/5 routing failed: ${routed.kind}: ${'reason' in routed ? routed.reason : ''}`);
    return false;
  }
  if (!tiers.includes(routed.tier)) {
    step(
      `3/5 the file belongs to tier ${routed.tier}, but this self-test serves ${tiers.join(', ')}: add --tier ${routed.tier}`,
    );
    return false;
  }
  step(
    `3/5 routed to ${taskQueueFor(cfg, routed.tier)} as workflow ${routed.workflowId}${routed.kind === 'deduplicated' ? ' (already existed: following it)' : ''}`,
  );

  const handle = ingestFileHandle(temporal, routed.workflowId);
  let done = false;
  const following = followActivities(
    handle,
    (s) => {
      if (interrupt.aborted) return;
      if (s.state === 'retrying') {
        step(
          `4/5   ${s.activity} retrying (attempt ${s.attempt})${s.detail ? `: last failure: ${s.detail}` : ''}`,
        );
      } else if (s.state !== 'started') {
        step(`4/5   ${s.activity} ${s.state}${s.detail ? `: ${s.detail}` : ''}`);
      }
    },
    () => done || interrupt.aborted,
  );
  let outcome: IngestOutcome;
  try {
    outcome = await wait(handle.result());
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    const cause = error instanceof WorkflowFailedError ? error.cause : error;
    step(`4/5 workflow failed: ${(cause as Error)?.message ?? String(cause)}`);
    return false;
  } finally {
    done = true;
    await bounded(following, CLEANUP_STEP_MS);
  }
  const pool = createPool(cfg, 1);
  try {
    const fileId = fileIdFor(object.bucket, object.path);
    const rows = await wait(
      pool.query<{ n: number }>('SELECT count(*)::int AS n FROM resources WHERE file_id = $1', [fileId]),
    );
    const chunks = outcome.status === 'completed' ? outcome.chunkCount : 0;
    step(
      `5/5 ${outcome.status}: provider ${'provider' in outcome ? outcome.provider : '-'}, pages ${'pageCount' in outcome ? (outcome.pageCount ?? '-') : '-'}, ${chunks} chunks, ${rows.rows[0]?.n ?? 0} resources rows for file ${fileId} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return outcome.status === 'completed' && rows.rows[0]?.n === chunks;
  } finally {
    await bounded(pool.end(), CLEANUP_STEP_MS);
  }
}
