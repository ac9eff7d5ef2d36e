/**
 * `p8fs ingest FILE… --tenant T [--wait]`: the everyday way in. Uploads each file to the tenant's bucket
 * in SeaweedFS; the storage event then comes from the filer subscriber (`p8fs subscriber`) when one
 * follows the bucket, or else from this command, which publishes it exactly as the subscriber would (the
 * same event type, so the bridge derives the same workflow id, and a late second event is deduplicated by
 * Temporal rather than ingested twice). With --wait it follows each file's workflow to its end and prints
 * a table; the exit code is 1 when any file did not complete.
 *
 * Everything is checked before the first byte goes out: every file exists and makes a valid event, and
 * S3, NATS and Temporal answer (each error names the variable that points at the server).
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type PlannedStart, planRoute, reservedBuckets } from '../../bridge/route-event.js';
import { connectNats } from '../../clients/nats.js';
import { ensureBucket, headObject } from '../../clients/object-store.js';
import { createS3Client } from '../../clients/s3.js';
import { type Config, loadConfig } from '../../config/config.js';
import { redactUrl } from '../../config/redact.js';
import { errorText } from '../../domain/errors.js';
import { parseStorageEvent } from '../../domain/storage-event.js';
import { publishEvent } from '../../events/publish.js';
import { ensureStreams } from '../../events/streams.js';
import { uploadMessageId } from '../../events/upload-event.js';
import { readCursor } from '../../subscriber/cursor.js';
import { connectTemporal, lazyTemporalClient } from '../../temporal/connection.js';
import { controlCharacterIn } from '../control-characters.js';
import { followIngests, type IngestRow, printIngestTable } from '../ingest-follow.js';
import { uploadLocalFile } from '../ingest-upload.js';
import { tenantBucketProblem } from '../tenant-bucket.js';

export type PublishMode = 'auto' | 'always' | 'never';

export interface IngestOptions {
  tenant: string;
  category: string;
  wait: boolean;
  /** Seconds --wait follows the workflows before giving up. */
  timeoutSeconds: number;
  publish: PublishMode;
  /** Seconds to let a running filer subscriber publish the event before publishing it here. */
  subscriberWaitSeconds: number;
}

const say = (line: string) => console.log(`[ingest] ${line}`);

/** A duration as people type it: `90` or `90s`, `10m`, `1h` → seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i.exec(value.trim());
  const seconds = match
    ? Number(match[1]) * ({ s: 1, m: 60, h: 3600 }[(match[2] ?? 's').toLowerCase()] ?? 1)
    : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a duration above 0 (e.g. 90s, 10m, 1h)`);
  }
  return seconds;
}

interface LocalFile {
  file: string;
  name: string;
  size: number;
}

/** Every file exists, is a regular file and makes an event the bridge accepts; else nothing is uploaded. */
async function checkFiles(cfg: Config, files: string[], options: IngestOptions): Promise<LocalFile[]> {
  const problems: string[] = [];
  const bucketProblem = tenantBucketProblem(options.tenant);
  if (bucketProblem) problems.push(bucketProblem);
  const checked: LocalFile[] = [];
  const keys = new Map<string, string>();
  for (const given of files) {
    const file = resolve(given);
    const name = basename(file);
    const info = await stat(file).catch((error: NodeJS.ErrnoException) => error);
    if (info instanceof Error) {
      problems.push(
        info.code === 'ENOENT' ? `file not found: ${given}` : `cannot read ${given}: ${errorText(info)}`,
      );
      continue;
    }
    if (!info.isFile()) {
      problems.push(`not a regular file: ${given}`);
      continue;
    }
    const control = controlCharacterIn(name);
    if (control) {
      problems.push(
        `the file name ${JSON.stringify(name)} contains a ${control}, which storage events reject`,
      );
      continue;
    }
    const path = `/buckets/${options.tenant}/${options.category}/${name}`;
    const parsed = parseStorageEvent(
      { event_type: 'create', path },
      { reservedBuckets: reservedBuckets(cfg) },
    );
    if (parsed.kind !== 'event') {
      problems.push(`${given} as ${path} would make an event the bridge rejects: ${parsed.reason}`);
      continue;
    }
    const earlier = keys.get(name);
    if (earlier) {
      problems.push(`${given} and ${earlier} would both be stored as ${path}`);
      continue;
    }
    keys.set(name, given);
    checked.push({ file, name, size: info.size });
  }
  if (problems.length > 0) {
    throw new Error(`ingest: nothing was uploaded:\n  ${problems.join('\n  ')}`);
  }
  return checked;
}

/** The server a failure is about, named with the variable that points at it. */
function s3Failure(cfg: Config, error: unknown): Error {
  return new Error(
    `SeaweedFS S3 at ${redactUrl(cfg.s3.endpoint)} (P8FS_SEAWEEDFS_ENDPOINT) failed: ${errorText(error)}`,
    { cause: error },
  );
}

interface Connections {
  s3: S3Client;
  nc?: NatsConnection;
  jsm?: JetStreamManager;
  temporal: Client;
  /** Whether `temporal` was connected (and must be closed), rather than a lazy client never used. */
  temporalConnected: boolean;
}

async function connect(cfg: Config, options: IngestOptions): Promise<Connections> {
  const s3 = createS3Client(cfg, { maxAttempts: 2 });
  const connections: Connections = { s3, temporal: lazyTemporalClient(cfg), temporalConnected: false };
  try {
    await ensureBucket(s3, options.tenant).catch((error: unknown) => {
      throw s3Failure(cfg, error);
    });
    if (options.publish !== 'never') {
      // Its error names P8FS_NATS_URL and `p8fs stack up`, as Temporal's names TEMPORAL_ADDRESS.
      connections.nc = await connectNats(cfg, 'p8fs-ingest');
      connections.jsm = await jetstreamManager(connections.nc);
    }
    if (options.wait || options.publish === 'auto') {
      connections.temporal = await connectTemporal(cfg);
      connections.temporalConnected = true;
    }
    return connections;
  } catch (error) {
    await close(connections);
    throw error;
  }
}

async function close(connections: Connections): Promise<void> {
  if (connections.temporalConnected) await connections.temporal.connection.close().catch(() => undefined);
  await connections.nc?.close().catch(() => undefined);
  connections.s3.destroy();
}

function readableBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** One uploaded file: what it became in S3 and the start the bridge will make of its event. */
interface Uploaded {
  row: IngestRow;
  plan?: PlannedStart;
  /** The storage event as the filer subscriber would publish it (type create or update). */
  event: Record<string, unknown>;
  /** Local clock just before the PutObject, in ns: a subscriber cursor past it has handled the upload. */
  uploadStartedNs: bigint;
}

async function uploadOne(cfg: Config, c: Connections, local: LocalFile, o: IngestOptions): Promise<Uploaded> {
  const key = `${o.category}/${local.name}`;
  // Whether the key existed decides the event type the filer reports (update or create), which is part of
  // the workflow id: publishing the same type makes a second, late event name the same workflow.
  const existed =
    (await headObject(c.s3, o.tenant, key).catch((e: unknown) => Promise.reject(s3Failure(cfg, e)))) !==
    undefined;
  const uploadStartedNs = BigInt(Date.now()) * 1_000_000n;
  let reported = 0;
  const object = await uploadLocalFile(c.s3, local.file, local.size, o.tenant, o.category, {
    onProgress: (sent) => {
      // Big files report each part (about every 16 MiB); small ones only the line below.
      if (sent < local.size && sent - reported > 0)
        say(`  ${local.name}: ${readableBytes(sent)} of ${readableBytes(local.size)} sent`);
      reported = sent;
    },
  }).catch((error: unknown) => Promise.reject(s3Failure(cfg, error)));
  say(
    `uploaded ${local.name} → s3://${object.bucket}/${object.key} (${readableBytes(object.size)}, ${object.mimeType}${existed ? ', replacing the object that was there' : ''})`,
  );
  const event: Record<string, unknown> = {
    event_type: existed ? 'update' : 'create',
    path: object.path,
    size: object.size,
    mime_type: object.mimeType,
    etag: object.etag,
    source: 'p8fs-ingest',
  };
  const row: IngestRow = { file: local.name, path: object.path, status: 'uploaded' };
  const plan = await planRoute({ cfg, s3: c.s3, temporal: c.temporal }, JSON.stringify(event), 'p8fs-ingest');
  if (plan.kind !== 'planned') {
    row.status = plan.kind;
    row.reason = plan.reason;
    return { row, event, uploadStartedNs };
  }
  row.tier = plan.tier;
  row.workflowId = plan.workflowId;
  row.moments = plan.moments !== undefined;
  return { row, plan, event, uploadStartedNs };
}

/** The subscriber's cursor as a number (undefined when none is stored). */
async function cursorNs(cfg: Config, nc: NatsConnection): Promise<bigint | undefined> {
  const cursor = await readCursor(nc, cfg.subscriber.cursorBucket, cfg.subscriber.name);
  return cursor && /^\d+$/.test(cursor) ? BigInt(cursor) : undefined;
}

async function workflowExists(temporal: Client, workflowId: string): Promise<boolean> {
  return temporal.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      () => true,
      () => false,
    );
}

/**
 * Delivers the storage event of each upload once: left to the filer subscriber when one is running (its
 * cursor moves past the upload, or the workflow appears), published here otherwise. JetStream's
 * Nats-Msg-Id (from the workflow id) keeps a retried publish single; Temporal's id keeps a late
 * subscriber event from starting a second run.
 */
async function deliverEvents(
  cfg: Config,
  c: Connections,
  uploads: Uploaded[],
  o: IngestOptions,
  cursorBefore: bigint | undefined,
): Promise<void> {
  const planned = uploads.filter((u) => u.plan !== undefined);
  if (planned.length === 0 || o.publish === 'never') {
    for (const u of planned) u.row.delivery = 'left to the filer subscriber (--publish never)';
    return;
  }
  const followed = planned[0]?.plan?.event.path.startsWith(cfg.subscriber.pathPrefix) ?? false;
  let waiting = planned;
  if (o.publish === 'auto' && c.nc && followed && cursorBefore !== undefined) {
    // A running subscriber stores its cursor when it starts and after every event: give it a moment.
    const deadline = Date.now() + o.subscriberWaitSeconds * 1000;
    while (waiting.length > 0 && Date.now() < deadline) {
      const cursor = await cursorNs(cfg, c.nc);
      const still: Uploaded[] = [];
      for (const u of waiting) {
        const id = u.plan?.workflowId ?? '';
        if (cursor !== undefined && cursor >= u.uploadStartedNs) {
          u.row.delivery = `published by the filer subscriber (${cfg.subscriber.name})`;
        } else if (await workflowExists(c.temporal, id)) {
          u.row.delivery = 'its workflow was already started (the filer subscriber and bridge were quicker)';
        } else {
          still.push(u);
        }
      }
      waiting = still;
      if (waiting.length > 0) await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (waiting.length === 0) return;
  const why =
    o.publish === 'always'
      ? '--publish always'
      : !followed
        ? `the filer subscriber follows ${cfg.subscriber.pathPrefix} only`
        : cursorBefore === undefined
          ? `no filer subscriber has run (no cursor ${cfg.subscriber.name} in NATS KV ${cfg.subscriber.cursorBucket})`
          : `the filer subscriber did not take it within ${o.subscriberWaitSeconds} s`;
  if (!c.jsm) throw new Error('internal: NATS is needed to publish');
  // Like the self-test, a producer may create the streams the bridge owns (same definitions): events
  // published before the first bridge runs wait in the stream.
  await ensureStreams(c.jsm, cfg);
  const js = jetstream(c.nc as NatsConnection);
  for (const u of waiting) {
    const msgId = uploadMessageId('p8fs-ingest', u.plan?.workflowId ?? '');
    const published = await publishEvent(js, cfg.nats.eventsSubject, u.event, msgId);
    u.row.delivery = `published here on ${cfg.nats.eventsSubject} (seq ${published.seq}${published.duplicate ? ', a duplicate of an earlier publish: stored once' : ''}): ${why}`;
  }
}

export async function runIngest(files: string[], options: IngestOptions): Promise<IngestRow[]> {
  const cfg = loadConfig();
  const locals = await checkFiles(cfg, files, options);
  const c = await connect(cfg, options);
  try {
    const cursorBefore = c.nc && options.publish === 'auto' ? await cursorNs(cfg, c.nc) : undefined;
    const uploads: Uploaded[] = [];
    for (const local of locals) uploads.push(await uploadOne(cfg, c, local, options));
    await deliverEvents(cfg, c, uploads, options, cursorBefore);
    for (const { row } of uploads) {
      say(
        row.workflowId
          ? `${row.file}: ${row.delivery}; workflow ${row.workflowId} (${row.moments ? 'moments on the LLM queue' : `${row.tier} tier`})`
          : `${row.file}: not routed: ${row.status}: ${row.reason}`,
      );
    }
    const rows = uploads.map((u) => u.row);
    if (!options.wait) {
      if (rows.some((r) => r.workflowId)) {
        say(
          `follow them with --wait, \`p8fs status\`, or \`temporal workflow list --query "TenantId='${options.tenant}'"\``,
        );
      }
      return rows;
    }
    await followIngests(cfg, c.temporal, rows, options.timeoutSeconds, say);
    printIngestTable(rows);
    return rows;
  } finally {
    await close(c);
  }
}

/** Whether the command succeeded: every file routed and, with --wait, completed. */
export function ingestSucceeded(rows: IngestRow[], waited: boolean): boolean {
  return rows.every((r) => r.workflowId !== undefined && (!waited || r.status === 'completed'));
}

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description(
      "Upload files into a tenant's bucket in SeaweedFS so they are ingested; with --wait follow each file's workflow and print a table",
    )
    .argument('<files...>', 'local files to upload (each stored as CATEGORY/NAME in the bucket)')
    .requiredOption('--tenant <tenant>', 'tenant: the bucket the files go into')
    .option('--category <folder>', 'folder inside the bucket', 'uploads')
    .option('--wait', 'follow each workflow to its end, show its steps and print a table of the outcomes')
    .addOption(
      new Option('--timeout <duration>', 'with --wait: stop following after this long (90s, 10m, 1h)')
        .argParser(parseDuration)
        .default(600, '10m'),
    )
    .addOption(
      new Option(
        '--publish <when>',
        'who publishes the storage events: auto (the filer subscriber when it is running, else this command), always (this command), never (only the subscriber)',
      )
        .choices(['auto', 'always', 'never'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--subscriber-wait <duration>',
        'with --publish auto: how long a running filer subscriber gets to take the upload before this command publishes its event',
      )
        .argParser(parseDuration)
        .default(5, '5s'),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  p8fs ingest ../shared/samples/content/Sample.pdf --tenant tenant-test --wait',
        '  p8fs ingest notes/*.md --tenant tenant-a --category notes',
        '',
        'The upload is the event: a running `p8fs subscriber` publishes it from the filer. When none is',
        'running (no cursor in NATS KV, or it did not take the upload within --subscriber-wait), this command',
        'publishes the same event itself; a late second event names the same workflow and is deduplicated.',
        'Files of 64 MiB and more go up as a multipart upload, with progress. Nothing is uploaded unless',
        'every file exists and S3 (P8FS_SEAWEEDFS_ENDPOINT), NATS (P8FS_NATS_URL) and Temporal',
        '(TEMPORAL_ADDRESS) answer. --wait needs a bridge and workers running (`p8fs stack up`).',
        'Exit codes: 0 every file uploaded and routed (with --wait: completed); 1 otherwise.',
      ].join('\n'),
    )
    .action(
      async (
        files: string[],
        options: {
          tenant: string;
          category: string;
          wait?: boolean;
          timeout: number;
          publish: PublishMode;
          subscriberWait: number;
        },
      ) => {
        const waited = options.wait ?? false;
        const rows = await runIngest(files, {
          tenant: options.tenant,
          category: options.category,
          wait: waited,
          timeoutSeconds: options.timeout,
          publish: options.publish,
          subscriberWaitSeconds: options.subscriberWait,
        });
        process.exitCode = ingestSucceeded(rows, waited) ? 0 : 1;
      },
    );
}
