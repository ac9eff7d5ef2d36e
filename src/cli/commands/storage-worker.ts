/**
 * `p8fs storage-worker --tier small --send-sample FILE`: the seeds' self-test. Uploads FILE to SeaweedFS,
 * publishes its storage event on the test subject, routes it exactly as the bridge does, processes it with
 * an in-process worker through a real workflow, and prints each step. Exit code 0 only on success.
 * Without --send-sample it is a plain storage worker (same as `p8fs worker`).
 *
 * The self-test never outlives its deadline (--timeout) or a signal, and never leaves work behind
 * silently: on either it terminates the workflow it started (or, with --keep-workflow, or when the
 * workflow was not its own, prints the workflow id, its task queue and the commands that stop it).
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type RouteResult, routeEvent } from '../../bridge/route-event.js';
import { connectNats } from '../../clients/nats.js';
import { createPool } from '../../clients/postgres.js';
import { createS3Client } from '../../clients/s3.js';
import { type Config, loadConfig } from '../../config/config.js';
import { redactSecrets } from '../../config/redact.js';
import { errorText } from '../../domain/errors.js';
import { fileIdFor } from '../../domain/ids.js';
import type { IngestOutcome } from '../../domain/ingest.js';
import { parseStorageEvent } from '../../domain/storage-event.js';
import type { Tier } from '../../domain/tiers.js';
import { createEventFor, publishEvent, uploadFile } from '../../events/publish.js';
import { ensureStreams } from '../../events/streams.js';
import { createLogger } from '../../telemetry/logger.js';
import { connectTemporal } from '../../temporal/connection.js';
import { taskQueueFor } from '../../temporal/names.js';
import { ingestFileHandle } from '../../temporal/starts.js';
import type { StorageWorkers } from '../../workers/storage-worker.js';
import { followActivities } from '../workflow-progress.js';
import { runUntilSignalled, signalExitCode, startStorageWorkers, tierOption } from './worker.js';

export const DEFAULT_SELF_TEST_TIMEOUT_SECONDS = 300;
/** How long an interrupted self-test waits for a start already sent to Temporal to be answered. */
const ROUTING_SETTLE_MS = 12_000;
/** Bound on each clean-up step (closing a connection to a server that went away must not hang). */
const CLEANUP_STEP_MS = 5000;

function step(text: string): void {
  console.log(`[self-test] ${text}`);
}

export interface SelfTestOptions {
  tiers: Tier[];
  tenant: string;
  /** Seconds before the self-test gives up (and stops its workflow, unless keepWorkflow). */
  timeoutSeconds: number;
  /** On deadline or signal, leave the workflow running (printed with the commands to stop it). */
  keepWorkflow?: boolean;
}

export type SelfTestResult =
  | { kind: 'passed' }
  | { kind: 'failed' }
  | { kind: 'interrupted'; by: NodeJS.Signals | 'deadline' };

/** What the self-test has set in motion so far, for the report when it is interrupted. */
interface Progress {
  workflowId?: string;
  taskQueue?: string;
  startedHere?: boolean;
  /** The routing of the event (HEAD + start), once it was sent; `routed` is its answer. */
  routing?: Promise<RouteResult>;
  routed?: RouteResult;
  uploaded?: string;
}

class Interrupted extends Error {
  constructor(readonly by: NodeJS.Signals | 'deadline') {
    super(`interrupted by ${by}`);
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The name of the first control character in `text` that storage events reject (C0 and DEL, as the
 * event contract), e.g. "line feed (U+000A)"; undefined if none.
 */
export function controlCharacterIn(text: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  const found = /[\u0000-\u001f\u007f]/.exec(text)?.[0];
  if (found === undefined) return undefined;
  const code = found.charCodeAt(0);
  const names: Record<number, string> = {
    0: 'NUL',
    9: 'tab',
    10: 'line feed',
    13: 'carriage return',
    27: 'escape',
    127: 'delete',
  };
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return names[code] ? `${names[code]} (${hex})` : `control character ${hex}`;
}

/**
 * The sample must make an event the contract accepts, checked before anything is uploaded: a name the
 * bridge would reject (a newline, a backslash, a bad tenant) fails here, naming the file and the reason.
 */
export function checkSampleName(file: string, tenant: string): void {
  const name = basename(file);
  const control = controlCharacterIn(name);
  if (control) {
    throw new Error(
      `--send-sample: the file name ${JSON.stringify(name)} (${JSON.stringify(file)}) contains a ${control}, ` +
        'which storage events reject; rename the file. Nothing was uploaded.',
    );
  }
  const parsed = parseStorageEvent({ event_type: 'create', path: `/buckets/${tenant}/uploads/${name}` });
  if (parsed.kind !== 'event') {
    throw new Error(
      `--send-sample: ${JSON.stringify(file)} with --tenant ${JSON.stringify(tenant)} would make an event the bridge rejects: ${parsed.reason}. Nothing was uploaded.`,
    );
  }
}

/** The commands that stop a workflow left running, with the connection this process used. */
export function stopCommands(cfg: Config, workflowId: string): string[] {
  const target = `--workflow-id ${shellQuote(workflowId)} --namespace ${shellQuote(cfg.temporal.namespace)} --address ${shellQuote(cfg.temporal.address)}`;
  return [
    `temporal workflow cancel ${target}`,
    `temporal workflow terminate ${target} --reason ${shellQuote('p8fs self-test interrupted')}`,
  ];
}

/** Resolves with `work`, or rejects with Interrupted as soon as `signal` aborts. */
function unlessInterrupted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Interrupted(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

async function bounded(what: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([what.catch(() => undefined), sleep(ms, undefined, { ref: false })]);
}

/**
 * After a deadline or a signal: stop the workflow this run started (terminate: the workers are going
 * away, so a cancel would only be seen by the next worker), or say exactly what is left running.
 */
async function settleInterrupted(
  cfg: Config,
  temporal: Client | undefined,
  progress: Progress,
  options: SelfTestOptions,
  by: NodeJS.Signals | 'deadline',
  started: number,
): Promise<void> {
  const after = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const why = by === 'deadline' ? `the --timeout of ${options.timeoutSeconds} s` : by;
  if (progress.routing && !progress.routed) {
    // The start may already be at Temporal: wait for its answer, so the report is exact.
    await bounded(progress.routing, ROUTING_SETTLE_MS);
  }
  if (!progress.workflowId) {
    step(
      `stopped by ${why} after ${after}: no workflow was started${progress.uploaded ? ` (${progress.uploaded} stays in S3)` : ''}; nothing left running`,
    );
    if (progress.routing && !progress.routed) {
      step(
        `the routing did not answer in time; if it started a workflow, list it with: temporal workflow list --namespace ${shellQuote(cfg.temporal.namespace)} --address ${shellQuote(cfg.temporal.address)} --query ${shellQuote(`TenantId = '${options.tenant}' AND ExecutionStatus = 'Running'`)}`,
      );
    }
    return;
  }
  const where = `workflow ${progress.workflowId} on task queue ${progress.taskQueue}`;
  if (progress.startedHere && !options.keepWorkflow && temporal) {
    try {
      await ingestFileHandle(temporal, progress.workflowId).terminate(
        `p8fs storage-worker --send-sample stopped by ${why}`,
      );
      step(`stopped by ${why} after ${after}: terminated its ${where}; nothing left running`);
      return;
    } catch (error) {
      // It may have ended on its own in the meantime: then there is nothing to stop.
      const status = await ingestFileHandle(temporal, progress.workflowId)
        .describe()
        .then((d) => d.status.name)
        .catch(() => undefined);
      if (status && status !== 'RUNNING') {
        step(
          `stopped by ${why} after ${after}: its ${where} had already ended (${status}); nothing left running`,
        );
        return;
      }
      step(`could not terminate ${where}: ${redactSecrets(errorText(error))}`);
    }
  }
  const reason = progress.startedHere
    ? options.keepWorkflow
      ? '--keep-workflow'
      : 'it could not be terminated'
    : 'it was started before this run (by a bridge or an earlier run), so it is not this run to stop';
  step(`stopped by ${why} after ${after}; left running (${reason}): ${where}`);
  step('it runs on whenever a worker serves that task queue; to stop it:');
  for (const command of stopCommands(cfg, progress.workflowId)) step(`  ${command}`);
}

interface SelfTestResources {
  s3?: S3Client;
  nc?: NatsConnection;
  temporal?: Client;
  workers?: StorageWorkers;
  /** workers.run(): resolves once they have stopped. */
  running?: Promise<void>;
}

/** The self-test proper; `interrupt` aborts with the signal's name or 'deadline'. */
async function selfTestSteps(
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
  const nc = await wait(connectNats(cfg, 'p8fs-self-test'));
  resources.nc = nc;
  const temporal = await wait(connectTemporal(cfg));
  resources.temporal = temporal;
  // No metrics for a short self-test: its port would clash with a worker already running on this host.
  // The self-test's step lines are its output; its worker speaks only of problems, in the same voice.
  const log = createLogger(
    { logLevel: 'warn', logFormat: cfg.logFormat === 'json' ? 'json' : 'pretty' },
    'p8fs-self-test',
  );
  const workers = await wait(startStorageWorkers(cfg, tiers, log, { metricsPort: 0 }));
  resources.workers = workers;
  resources.running = workers.run();
  // A worker that fails is reported by the workflow never finishing; its error must not crash the process.
  resources.running.catch(() => undefined);

  const jsm = await wait(jetstreamManager(nc));
  // The self-test acts as a one-message bridge, so it may create the streams the bridge owns.
  await wait(ensureStreams(jsm, cfg));
  const object = await wait(uploadFile(s3, file, tenant));
  progress.uploaded = `s3://${object.bucket}/${object.key}`;
  step(
    `1/5 uploaded ${file} → s3://${object.bucket}/${object.key} (${object.size} bytes, ${object.mimeType})`,
  );

  const event = createEventFor(object);
  const published = await wait(
    publishEvent(jetstream(nc), cfg.nats.testSubject, event, `${object.path}@${object.etag}`),
  );
  step(
    `2/5 published on ${cfg.nats.testSubject} (stream ${cfg.nats.eventsStream} seq ${published.seq}${published.duplicate ? ', duplicate of an earlier publish' : ''}): ${JSON.stringify(event)}`,
  );

  const stored = await wait(jsm.streams.getMessage(cfg.nats.eventsStream, { seq: published.seq }));
  if (!stored) throw new Error(`message ${published.seq} not found in ${cfg.nats.eventsStream}`);
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

export async function runSelfTest(
  cfg: Config,
  file: string,
  options: SelfTestOptions,
): Promise<SelfTestResult> {
  const started = Date.now();
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) {
      step(`${signal} again: exiting now`);
      process.exit(signalExitCode(signal));
    }
    interrupt.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const deadline = setTimeout(() => interrupt.abort('deadline'), options.timeoutSeconds * 1000);
  const progress: Progress = {};
  const resources: SelfTestResources = {};
  try {
    const steps = selfTestSteps(cfg, file, options, interrupt.signal, progress, resources, started);
    // Work still in flight when interrupted settles (or fails) on its own; it must not crash the process.
    steps.catch(() => undefined);
    return (await steps) ? { kind: 'passed' } : { kind: 'failed' };
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    await settleInterrupted(cfg, resources.temporal, progress, options, error.by, started);
    return { kind: 'interrupted', by: error.by };
  } finally {
    clearTimeout(deadline);
    // Every step bounded: a server that went away must not hold the process (the workers drain for at
    // most P8FS_WORKER_SHUTDOWN_GRACE_SECONDS, then cancel what is left).
    const { workers, running, temporal, nc, s3 } = resources;
    if (workers) {
      workers.shutdown();
      if (running) await bounded(running, cfg.worker.shutdownGraceSeconds * 1000 + 2 * CLEANUP_STEP_MS);
    }
    if (temporal) await bounded(temporal.connection.close(), CLEANUP_STEP_MS);
    if (nc) await bounded(nc.close(), CLEANUP_STEP_MS);
    s3?.destroy();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError('a number of seconds above 0');
  return seconds;
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
    .addOption(
      new Option('--timeout <seconds>', 'self-test deadline: give up (and stop its workflow) after this long')
        .argParser(positiveSeconds)
        .default(DEFAULT_SELF_TEST_TIMEOUT_SECONDS),
    )
    .option(
      '--keep-workflow',
      'self-test: on deadline or signal, leave its workflow running (printed with the commands to stop it)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  p8fs storage-worker --tier small --send-sample ../shared/samples/content/Sample.pdf',
        '',
        'The self-test ends at its --timeout (default 300 s) or on SIGINT/SIGTERM, whichever comes first.',
        'Then it terminates the workflow it started, so nothing retries after it (a workflow it only',
        'followed, e.g. one a running bridge had started, is left alone). With --keep-workflow it terminates',
        'nothing and prints the workflow id, its task queue and the `temporal workflow cancel` and',
        '`temporal workflow terminate` commands that stop it. Its in-process workers drain for at most',
        'P8FS_WORKER_SHUTDOWN_GRACE_SECONDS. A second signal exits at once.',
        'Exit codes: 0 passed; 1 failed or timed out; 130 (SIGINT) or 143 (SIGTERM) interrupted.',
        '',
        'Without --send-sample it is a plain storage worker, stopped like `p8fs worker` (see its --help).',
      ].join('\n'),
    )
    .action(
      async (options: {
        tier: Tier[];
        sendSample?: string;
        tenant: string;
        timeout: number;
        keepWorkflow?: boolean;
      }) => {
        const cfg = loadConfig();
        const tiers = [...new Set(options.tier)];
        if (!options.sendSample) {
          const log = createLogger(cfg, 'p8fs-worker');
          const workers = await startStorageWorkers(cfg, tiers, log);
          console.log(`storage workers running on ${tiers.map((t) => taskQueueFor(cfg, t)).join(', ')}`);
          await runUntilSignalled(workers, cfg, log);
          return;
        }
        const file = resolve(options.sendSample);
        checkSampleName(file, options.tenant);
        if (!existsSync(file)) throw new Error(`--send-sample: file not found: ${file}`);
        const result = await runSelfTest(cfg, file, {
          tiers,
          tenant: options.tenant,
          timeoutSeconds: options.timeout,
          keepWorkflow: options.keepWorkflow,
        });
        console.log(result.kind === 'passed' ? '[self-test] PASSED' : '[self-test] FAILED');
        process.exitCode =
          result.kind === 'passed'
            ? 0
            : result.kind === 'interrupted' && result.by !== 'deadline'
              ? signalExitCode(result.by)
              : 1;
        // Everything was closed above; nothing left over (a request to a server that went away) may hold
        // the process open after its report.
        setTimeout(() => process.exit(), CLEANUP_STEP_MS).unref();
      },
    );
}
