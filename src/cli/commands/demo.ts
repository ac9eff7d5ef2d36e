/**
 * `p8fs demo` (what `make demo` runs): stack up, migrate, then the whole pipeline on the sample files —
 * upload to SeaweedFS with the S3 API only; the filer subscriber (run in-process, like the bridge) turns
 * each upload into a storage event on JetStream, the bridge starts workflows on the tier task queues,
 * workers ingest into PostgreSQL — with live progress and a table per file at the end.
 * A second run uploads nothing that did not change, so no event and no new row.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { Bridge } from '../../bridge/bridge.js';
import { type PlannedStart, planRoute } from '../../bridge/route-event.js';
import { headObject } from '../../clients/object-store.js';
import { connectClient, createPool } from '../../clients/postgres.js';
import { createS3Client } from '../../clients/s3.js';
import { type Config, loadConfig } from '../../config/config.js';
import { databaseName, ensureDatabase } from '../../db/ensure-database.js';
import { migrate } from '../../db/migrate.js';
import { mimeTypeForFileName } from '../../domain/provider-catalog.js';
import { TIERS } from '../../domain/tiers.js';
import { type UploadedObject, uploadFile } from '../../events/publish.js';
import { samplesDir } from '../../stack/paths.js';
import { formatStatus, stackUp } from '../../stack/stack.js';
import { Subscriber } from '../../subscriber/subscriber.js';
import { createLogger } from '../../telemetry/logger.js';
import { connectTemporal } from '../../temporal/connection.js';
import { llmTaskQueue, userInsightTaskQueue } from '../../temporal/names.js';
import { ingestFileHandle } from '../../temporal/starts.js';
import { createLlmWorker } from '../../workers/llm-worker.js';
import { createStorageWorkers } from '../../workers/storage-worker.js';
import { createUserInsightWorker } from '../../workers/user-insight-worker.js';
import { runDreamsDemo } from '../demo-dreams.js';
import { runMomentsDemo } from '../demo-moments.js';
import { runDemoSearch } from '../demo-search.js';
import { runTenantInsightsDemo } from '../demo-tenant-insights.js';

interface Row {
  file: string;
  size: number;
  tier?: string;
  workflowId?: string;
  status: string;
  provider?: string;
  pages?: number;
  chunks?: number;
  seconds?: number;
}

const say = (line: string) => console.log(`[demo] ${line}`);
const ROUTE_TIMEOUT_MS = 5 * 60_000;
const FILER_EVENT_TIMEOUT_MS = 60_000;

function md5(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

function sampleFiles(): string[] {
  const root = samplesDir();
  // dreaming/resources: the documents the insight step's dream analysis reads, ingested like any upload.
  const folders = ['content', 'small', 'dreaming/resources'].map((f) => join(root, f));
  const missing = folders.filter((f) => !existsSync(f));
  if (missing.length > 0)
    throw new Error(`sample folders not found: ${missing.join(', ')} (expected ../shared/samples)`);
  return folders.flatMap((folder) =>
    readdirSync(folder)
      .filter((name) => statSync(join(folder, name)).isFile())
      .sort()
      .map((name) => join(folder, name)),
  );
}

/** Uploads unless the same bytes are already there, so a second run publishes identical events. */
async function uploadIfChanged(
  cfg: Config,
  file: string,
  tenant: string,
  category: string,
): Promise<UploadedObject & { uploaded: boolean }> {
  const s3 = createS3Client(cfg);
  try {
    const key = `${category}/${file.slice(file.lastIndexOf('/') + 1)}`;
    const head = await headObject(s3, tenant, key);
    const size = statSync(file).size;
    if (head && head.size === size && head.etag === (await md5(file))) {
      return {
        bucket: tenant,
        key,
        path: `/buckets/${tenant}/${key}`,
        size,
        mimeType: mimeTypeForFileName(file),
        etag: head.etag,
        uploaded: false,
      };
    }
    return { ...(await uploadFile(s3, file, tenant, category)), uploaded: true };
  } finally {
    s3.destroy();
  }
}

/** When the bridge has started the workflow, its start time; undefined after ROUTE_TIMEOUT_MS. */
async function waitForStart(handle: WorkflowHandle): Promise<Date | undefined> {
  const deadline = Date.now() + ROUTE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      return (await handle.describe()).startTime;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      await sleep(200);
    }
  }
  return undefined;
}

function printTable(rows: Row[]): void {
  const header = ['file', 'tier', 'provider', 'pages', 'chunks', 'seconds', 'status'];
  const body = rows.map((r) => [
    r.file,
    r.tier ?? '-',
    r.provider ?? '-',
    r.pages?.toString() ?? '-',
    r.chunks?.toString() ?? '-',
    r.seconds?.toFixed(2) ?? '-',
    r.status,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const cells of body) console.log(line(cells));
}

async function runDemo(options: { tenant: string; skipStack: boolean }): Promise<boolean> {
  const cfg = loadConfig();
  if (!options.skipStack) {
    say('bringing the local stack up (servers already running are reused)');
    const states = await stackUp(cfg, (line) => say(line));
    console.log(formatStatus(states));
  }
  const admin = await connectClient(cfg, 'postgres');
  await ensureDatabase(admin, databaseName(cfg)).finally(() => admin.end());
  const db = await connectClient(cfg);
  const applied = await migrate(db, (line) => say(line)).finally(() => db.end());
  say(
    `database ${databaseName(cfg)}: ${applied.length === 0 ? 'schema up to date' : `${applied.length} migration(s) applied`}`,
  );

  // The demo's own lines are its output; the processes it hosts speak only when something is wrong, in
  // the same readable voice (JSON only when asked for with P8FS_LOG_FORMAT=json).
  const log = createLogger(
    { logLevel: 'warn', logFormat: cfg.logFormat === 'json' ? 'json' : 'pretty' },
    'p8fs-demo',
  );
  const bridge = await Bridge.create(cfg, log);
  // No metrics port: the workers `p8fs stack up` started may be serving it; those share the work anyway.
  const workers = await createStorageWorkers(
    { ...cfg, worker: { ...cfg.worker, metricsPort: 0 } },
    [...TIERS],
    {},
    log,
  );
  const workersRunning = workers.run();
  const temporal = await connectTemporal(cfg);
  // The subscriber in-process, without a health server (a `p8fs subscriber` may be serving its port).
  // Only the demo tenant's bucket, with a cursor of its own, so other producers on the filer stay out.
  const subscriber = await Subscriber.create(
    {
      ...cfg,
      subscriber: {
        ...cfg.subscriber,
        healthPort: 0,
        pathPrefix: `/buckets/${options.tenant}/`,
        name: `${cfg.subscriber.name}-demo`,
      },
    },
    log,
  );
  const filerEvents = new Map<string, Record<string, unknown>>();
  subscriber.onEvent = (handled) => {
    if (handled.kind === 'publish')
      filerEvents.set(`${handled.event.path}@${handled.event.etag}`, handled.event);
  };
  const s3 = createS3Client(cfg);
  const rows: Row[] = [];
  // Ctrl-C or SIGTERM: stop the bridge and the workers (in-flight activities get the grace period), say
  // what is left, and exit; workflows are durable and finish when workers run again. A second signal
  // exits at once.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopping = true;
    say(
      `${signal}: stopping the bridge and the workers; workflows still running resume with the next \`make demo\``,
    );
    void Promise.all([bridge.stop(), subscriber.stop()]).finally(() => {
      workers.shutdown();
      void workersRunning.finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  bridge.start();
  subscriber.start();
  await subscriber.positioned;
  say(`filer subscriber following ${cfg.subscriber.pathPrefix} on ${cfg.subscriber.filerGrpc}`);
  say(
    `bridge consuming ${cfg.nats.eventsStream}; workers on ${cfg.temporal.taskQueuePrefix}-storage-{small,medium,large}`,
  );
  const started = Date.now();
  let ingested = false;
  try {
    const planned: [Row, PlannedStart][] = [];
    for (const file of sampleFiles()) {
      const category = file.includes('/small/') ? 'small' : 'content';
      const object = await uploadIfChanged(cfg, file, options.tenant, category);
      const row: Row = { file: `${category}/${basename(file)}`, size: object.size, status: 'uploaded' };
      rows.push(row);
      if (!object.uploaded) {
        // No upload, so no filer event: follow the earlier run's workflow for this version instead.
        const earlier = await earlierRun({ cfg, s3, temporal }, object);
        say(`${row.file}: unchanged in S3 since an earlier run (no upload, so no filer event)`);
        if (earlier) planned.push([row, earlier]);
        else row.status = 'unchanged in S3; no earlier workflow found';
        continue;
      }
      const event = await waitForFilerEvent(filerEvents, `${object.path}@${object.etag}`);
      if (!event) {
        row.status = `no filer event within ${FILER_EVENT_TIMEOUT_MS / 1000} s: is the filer's gRPC port (${cfg.subscriber.filerGrpc}) reachable?`;
        say(`✗ ${row.file}: ${row.status}`);
        continue;
      }
      say(
        `uploaded ${row.file} (${object.size} bytes) with S3 PutObject; its ${String(event.event_type)} event came from the filer (ts_ns ${String(event.filer_ts_ns)})`,
      );
      // Name the workflow exactly as the bridge does (whichever bridge routes the event), to follow it.
      const plan = await planRoute({ cfg, s3, temporal }, JSON.stringify(event), 'demo');
      if (plan.kind === 'planned') planned.push([row, plan]);
      else row.status = `${plan.kind}: ${plan.reason}`;
    }
    await Promise.all(
      planned.map(async ([row, plan]) => {
        row.tier = plan.tier;
        row.workflowId = plan.workflowId;
        const handle = ingestFileHandle(temporal, plan.workflowId);
        const startTime = await waitForStart(handle);
        if (!startTime) {
          row.status = 'not started within 5 minutes: is the bridge stuck? see `p8fs status`';
          return;
        }
        const earlier = startTime.getTime() < started;
        say(
          `${row.file} → ${plan.tier} tier, ${earlier ? 'already ingested by an earlier run (deduplicated)' : 'workflow started'}: ${plan.workflowId}`,
        );
        try {
          const outcome = await handle.result();
          if (outcome.status === 'completed') {
            Object.assign(row, {
              provider: outcome.provider,
              pages: outcome.pageCount,
              chunks: outcome.chunkCount,
            });
          }
          row.status = earlier ? `${outcome.status} (earlier run)` : outcome.status;
        } catch (error) {
          const cause = error instanceof WorkflowFailedError ? error.cause : error;
          row.status = `failed: ${((cause as Error)?.message ?? String(cause)).replace(/^.*?: /, '')}`;
        }
        const description = await handle.describe();
        if (description.closeTime)
          row.seconds = (description.closeTime.getTime() - description.startTime.getTime()) / 1000;
        say(
          `${row.status.startsWith('failed') ? '✗' : '✓'} ${row.file}: ${row.status}${row.chunks !== undefined ? `, ${row.chunks} chunks` : ''}`,
        );
      }),
    );
    ingested = true;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await subscriber.stop();
    await bridge.stop();
    if (!ingested) {
      workers.shutdown();
      await workersRunning;
    }
    await temporal.connection.close();
    s3.destroy();
  }

  printTable(rows);
  const pool = createPool(cfg, 1);
  try {
    const totals = await pool.query<{ files: number; resources: number; failed: number }>(
      `SELECT (SELECT count(*)::int FROM files WHERE tenant_id = $1) AS files,
              (SELECT count(*)::int FROM resources WHERE tenant_id = $1 AND file_id IS NOT NULL) AS resources,
              (SELECT count(*)::int FROM files WHERE tenant_id = $1 AND status = 'failed') AS failed`,
      [options.tenant],
    );
    const t = totals.rows[0];
    console.log(
      `\nTenant ${options.tenant}: ${t?.files} files (${t?.failed} failed), ${t?.resources} resources rows in PostgreSQL; ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
    // The audio samples' transcripts, as stored: what the audio provider heard, with time ranges.
    const transcripts = await pool.query<{ uri: string; content: string }>(
      `SELECT f.uri, r.content FROM resources r JOIN files f ON f.id = r.file_id
       WHERE r.tenant_id = $1 AND f.provider = 'audio' ORDER BY f.uri, r.ordinal`,
      [options.tenant],
    );
    if (transcripts.rows.length > 0) console.log('\nTranscripts:');
    for (const row of transcripts.rows) console.log(`  ${basename(row.uri)} ${row.content}`);
  } finally {
    await pool.end();
  }
  console.log(`Subscriber counters: ${JSON.stringify(subscriber.counters)}`);
  console.log(`Bridge counters: ${JSON.stringify(bridge.counters)}`);
  console.log(`Temporal UI: ${cfg.temporal.uiUrl}/namespaces/${cfg.temporal.namespace}/workflows`);
  // The storage workers stay up through the insights: moments are embedded on their -embed queues
  // (buildMoments and the moments task call embedMoments there), and affinity reads those vectors.
  let insightsOk = false;
  let searchOk = false;
  try {
    insightsOk = await runInsightStep(cfg, options.tenant);
    // The end: search by words, then one question by meaning (src/cli/demo-search.ts, `p8fs search`).
    searchOk = await runDemoSearch(cfg, options.tenant, say);
  } finally {
    workers.shutdown();
    await workersRunning;
  }
  return rows.every((r) => r.workflowId !== undefined) && insightsOk && searchOk;
}

/**
 * Insights: an LLM worker and a user insight worker in-process, dream analysis, moments and the user
 * summary with the configured provider.
 */
async function runInsightStep(cfg: Config, tenantId: string): Promise<boolean> {
  say(
    `insights: LLM worker on ${llmTaskQueue(cfg)} and user insight worker on ${userInsightTaskQueue(cfg)} with provider ${cfg.llm.provider}`,
  );
  const log = createLogger(
    { logLevel: 'warn', logFormat: cfg.logFormat === 'json' ? 'json' : 'pretty' },
    'p8fs-demo',
  );
  const llmCfg = { ...cfg, worker: { ...cfg.worker, metricsPort: 0 } };
  const worker = await createLlmWorker(llmCfg, {}, log);
  const running = worker.run();
  const insightWorker = await createUserInsightWorker(llmCfg, {}, log);
  const insightRunning = insightWorker.run();
  const client = await connectTemporal(cfg);
  try {
    const ctx = { cfg, client, say, tenantId };
    const dreams = await runDreamsDemo(ctx);
    const moments = await runMomentsDemo(ctx);
    // Moments from the tenant's own sessions and documents, and its user summary.
    const tenantInsights = await runTenantInsightsDemo(ctx);
    return dreams && moments && tenantInsights;
  } finally {
    worker.shutdown();
    insightWorker.shutdown();
    await Promise.all([running, insightRunning]);
    await client.connection.close();
  }
}

/** The workflow an earlier demo run started for this object version (as a create or an update). */
async function earlierRun(
  deps: Parameters<typeof planRoute>[0],
  object: UploadedObject,
): Promise<PlannedStart | undefined> {
  for (const type of ['create', 'update']) {
    const event = { event_type: type, path: object.path, size: object.size, mime_type: object.mimeType };
    const plan = await planRoute(deps, JSON.stringify(event), 'demo');
    if (plan.kind !== 'planned') continue;
    const found = await ingestFileHandle(deps.temporal, plan.workflowId)
      .describe()
      .then(
        () => true,
        () => false,
      );
    if (found) return plan;
  }
  return undefined;
}

/** The event the subscriber published for this object version (path@etag), once it has. */
async function waitForFilerEvent(
  events: Map<string, Record<string, unknown>>,
  version: string,
): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + FILER_EVENT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const event = events.get(version);
    if (event) return event;
    await sleep(50);
  }
  return undefined;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the main job on the local stack: ingest every sample file end to end and print a table')
    .option('--tenant <tenant>', 'tenant (bucket) to upload the samples into', 'tenant-demo')
    .option('--skip-stack', 'do not start the stack; use the servers given by the environment')
    .action(async (options: { tenant: string; skipStack?: boolean }) => {
      const ok = await runDemo({ tenant: options.tenant, skipStack: options.skipStack ?? false });
      process.exitCode = ok ? 0 : 1;
    });
}
