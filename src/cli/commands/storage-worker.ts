/**
 * `p8fs storage-worker --tier small --send-sample FILE`: the seeds' self-test. Uploads FILE to SeaweedFS,
 * publishes its storage event on the test subject, routes it exactly as the bridge does, processes it with
 * an in-process worker through a real workflow, and prints each step. Exit code 0 only on success.
 * Without --send-sample it is a plain storage worker (same as `p8fs worker`).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { routeEvent } from '../../bridge/route-event.js';
import { connectNats } from '../../clients/nats.js';
import { createPool } from '../../clients/postgres.js';
import { createS3Client } from '../../clients/s3.js';
import { type Config, loadConfig } from '../../config/config.js';
import { fileIdFor } from '../../domain/ids.js';
import type { IngestOutcome } from '../../domain/ingest.js';
import type { Tier } from '../../domain/tiers.js';
import { createEventFor, publishEvent, uploadFile } from '../../events/publish.js';
import { ensureStreams } from '../../events/streams.js';
import { connectTemporal } from '../../temporal/connection.js';
import { taskQueueFor } from '../../temporal/names.js';
import { ingestFileHandle } from '../../temporal/starts.js';
import { createStorageWorkers } from '../../workers/storage-worker.js';
import { followActivities } from '../workflow-progress.js';
import { tierOption } from './worker.js';

function step(text: string): void {
  console.log(`[self-test] ${text}`);
}

export async function runSelfTest(
  cfg: Config,
  file: string,
  tiers: Tier[],
  tenant: string,
): Promise<boolean> {
  const started = Date.now();
  const s3 = createS3Client(cfg);
  const nc = await connectNats(cfg, 'p8fs-self-test');
  const temporal = await connectTemporal(cfg);
  const workers = await createStorageWorkers(cfg, tiers);
  const running = workers.run();
  try {
    const jsm = await jetstreamManager(nc);
    // The self-test acts as a one-message bridge, so it may create the streams the bridge owns.
    await ensureStreams(jsm, cfg);
    const object = await uploadFile(s3, file, tenant);
    step(
      `1/5 uploaded ${file} → s3://${object.bucket}/${object.key} (${object.size} bytes, ${object.mimeType})`,
    );

    const event = createEventFor(object);
    const published = await publishEvent(
      jetstream(nc),
      cfg.nats.testSubject,
      event,
      `${object.path}@${object.etag}`,
    );
    step(
      `2/5 published on ${cfg.nats.testSubject} (stream ${cfg.nats.eventsStream} seq ${published.seq}${published.duplicate ? ', duplicate of an earlier publish' : ''}): ${JSON.stringify(event)}`,
    );

    const stored = await jsm.streams.getMessage(cfg.nats.eventsStream, { seq: published.seq });
    if (!stored) throw new Error(`message ${published.seq} not found in ${cfg.nats.eventsStream}`);
    const routed = await routeEvent({ cfg, s3, temporal }, stored.data, `self-test#${published.seq}`);
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
        if (s.state !== 'started') step(`4/5   ${s.activity} ${s.state}${s.detail ? `: ${s.detail}` : ''}`);
      },
      () => done,
    );
    let outcome: IngestOutcome;
    try {
      outcome = await handle.result();
    } catch (error) {
      const cause = error instanceof WorkflowFailedError ? error.cause : error;
      step(`4/5 workflow failed: ${(cause as Error)?.message ?? String(cause)}`);
      return false;
    } finally {
      done = true;
      await following;
    }
    const pool = createPool(cfg, 1);
    try {
      const fileId = fileIdFor(object.bucket, object.path);
      const rows = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
        [fileId],
      );
      const chunks = outcome.status === 'completed' ? outcome.chunkCount : 0;
      step(
        `5/5 ${outcome.status}: provider ${'provider' in outcome ? outcome.provider : '-'}, pages ${'pageCount' in outcome ? (outcome.pageCount ?? '-') : '-'}, ${chunks} chunks, ${rows.rows[0]?.n ?? 0} resources rows for file ${fileId} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      return outcome.status === 'completed' && rows.rows[0]?.n === chunks;
    } finally {
      await pool.end();
    }
  } finally {
    workers.shutdown();
    await running;
    await temporal.connection.close();
    await nc.close();
    s3.destroy();
  }
}

export function registerStorageWorkerCommand(program: Command): void {
  program
    .command('storage-worker')
    .description(
      'Storage worker; with --send-sample FILE, an end-to-end self-test: upload → publish → process → report',
    )
    .addOption(tierOption())
    .option('--send-sample <file>', 'upload FILE, publish its event on the test subject and process it')
    .option('--tenant <tenant>', 'bucket (tenant) to upload the sample into', 'tenant-test')
    .addHelpText(
      'after',
      '\nExample:\n  p8fs storage-worker --tier small --send-sample ../shared/samples/content/Sample.pdf',
    )
    .action(async (options: { tier: Tier[]; sendSample?: string; tenant: string }) => {
      const cfg = loadConfig();
      const tiers = [...new Set(options.tier)];
      if (!options.sendSample) {
        const workers = await createStorageWorkers(cfg, tiers);
        console.log(`storage workers running on ${tiers.map((t) => taskQueueFor(cfg, t)).join(', ')}`);
        await workers.run();
        return;
      }
      const file = resolve(options.sendSample);
      if (!existsSync(file)) throw new Error(`--send-sample: file not found: ${file}`);
      const ok = await runSelfTest(cfg, file, tiers, options.tenant);
      console.log(ok ? '[self-test] PASSED' : '[self-test] FAILED');
      process.exitCode = ok ? 0 : 1;
    });
}
