/**
 * A worker process as `p8fs storage-worker`, `p8fs dreaming-worker` and their alias `p8fs worker` run
 * it: the storage workers of the tiers asked for and/or the dreaming (LLM) worker, one metrics endpoint,
 * a graceful drain on SIGINT/SIGTERM. The self-test starts its in-process workers here too.
 */
import type { WorkerOptions } from '@temporalio/worker';
import { Option } from 'commander';
import { type Config, loadConfig } from '../config/config.js';
import { TIERS, type Tier } from '../domain/tiers.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { PROCESS_NAMES } from '../telemetry/process-names.js';
import { llmTaskQueue, taskQueueFor, userInsightTaskQueue } from '../temporal/names.js';
import { type RuntimeOptions, socketAddress, startWorkerRuntime } from '../workers/runtime.js';
import type { StorageWorkers } from '../workers/storage-worker.js';
import { currentHeap, heapCeilingRestartFlags, restartWithFlags, stopOnParentExit } from './heap-ceiling.js';
import { signalExitCode } from './signal-exit-code.js';

/** Beyond the grace period: how long the SDK may take to report the cancelled activities before we stop waiting. */
const FORCE_AFTER_GRACE_MS = 5000;
/** Last resort beyond that: the process exits even if something still holds it open. */
const EXIT_AFTER_FORCE_MS = 5000;

/**
 * What a worker process serves: storage tiers, `llm` for the dreaming worker's p8fs-llm queue and
 * `user-insight` for the user insight worker's p8fs-user-insight queue.
 */
export type WorkerQueue = Tier | 'llm' | 'user-insight';

export function tierOption(): Option {
  return new Option('--tier <tier...>', 'storage tier(s) to serve; repeat or list several')
    .choices(TIERS)
    .default(['small']);
}

/** Several worker sets of one process as one: run all, stop all. */
function together(sets: StorageWorkers[]): StorageWorkers {
  return {
    workers: sets.flatMap((s) => s.workers),
    async run() {
      await Promise.all(sets.map((s) => s.run()));
    },
    shutdown() {
      for (const s of sets) s.shutdown();
    },
  };
}

/** Worker options that bound a shutdown: drain for the grace period, then cancel, then give up. */
export function shutdownOptions(cfg: Config): Partial<WorkerOptions> {
  const graceMs = cfg.worker.shutdownGraceSeconds * 1000;
  return { shutdownGraceTime: graceMs, shutdownForceTime: graceMs + FORCE_AFTER_GRACE_MS };
}

/** Starts the worker runtime (metrics port checked first) and the storage workers for `tiers`. */
export async function startStorageWorkers(
  cfg: Config,
  tiers: Tier[],
  log: Logger,
  runtime: RuntimeOptions = { metricsPort: cfg.worker.metricsPort },
): Promise<StorageWorkers> {
  await startWorkerRuntime(cfg, log, runtime);
  // Imported on use: a process serving only the LLM queue never loads the storage activities and parsers.
  const { createStorageWorkers } = await import('../workers/storage-worker.js');
  return createStorageWorkers(cfg, tiers, shutdownOptions(cfg), log);
}

/**
 * Runs the workers until SIGINT or SIGTERM: then they stop polling, in-flight activities get
 * P8FS_WORKER_SHUTDOWN_GRACE_SECONDS to finish, the rest are cancelled, and this resolves. A second
 * signal exits at once. Whatever happens, the process is gone within grace + 10 s of the first signal.
 */
export async function runUntilSignalled(workers: StorageWorkers, cfg: Config, log: Logger): Promise<void> {
  const graceMs = cfg.worker.shutdownGraceSeconds * 1000;
  let first: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (first) {
      log.warn({ signal }, 'second signal: exiting now without waiting for in-flight activities');
      process.exit(signalExitCode(signal));
    }
    first = signal;
    log.info(
      { signal, graceSeconds: cfg.worker.shutdownGraceSeconds },
      'shutting down: no new tasks; in-flight activities get the grace period, then are cancelled (signal again to exit at once)',
    );
    workers.shutdown();
    setTimeout(
      () => {
        log.error({ signal }, 'workers did not stop within the grace period: exiting');
        process.exit(1);
      },
      graceMs + FORCE_AFTER_GRACE_MS + EXIT_AFTER_FORCE_MS,
    ).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await workers.run();
  } catch (error) {
    // GracefulShutdownPeriodExpiredError: an activity ignored its cancellation; Temporal retries it elsewhere.
    if (first && (error as Error).name === 'GracefulShutdownPeriodExpiredError') {
      log.warn({ error: (error as Error).message }, 'in-flight activities did not stop: leaving them');
      process.exitCode = 1;
      return;
    }
    throw error;
  } finally {
    // Once stopped, nothing we started may keep the process alive (an activity that ignored cancellation).
    if (first) setTimeout(() => process.exit(), EXIT_AFTER_FORCE_MS).unref();
    // Signals from here on end the process the default way.
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function metricsDescription(cfg: Config): string {
  return cfg.worker.metricsPort > 0
    ? `http://${socketAddress(cfg.worker.metricsHost, cfg.worker.metricsPort)}/metrics`
    : 'off';
}

/** Help shared by the worker commands: how they stop, where their metrics are. */
export const WORKER_STOP_HELP = [
  'Stopping: on SIGINT or SIGTERM the workers take no new tasks, in-flight activities get',
  'P8FS_WORKER_SHUTDOWN_GRACE_SECONDS (default 20) to finish, the rest are cancelled (Temporal retries',
  'them on another worker) and the process exits 0. A second signal exits at once.',
  'Metrics and health: GET /metrics and /health on P8FS_WORKER_METRICS_HOST:P8FS_WORKER_METRICS_PORT',
  '(127.0.0.1:9464; port 0 = off); a port already taken on this host is a start-up error.',
];

/** Help of the commands that serve storage tiers: the large tier's heap ceiling. */
export const LARGE_TIER_HELP = [
  'Memory: `--tier large` alone restarts itself once with P8FS_WORKER_LARGE_V8_FLAGS (default',
  '"--max-old-space-size=128 --max-semi-space-size=4") unless NODE_OPTIONS already sets a heap ceiling,',
  'so streaming a 1 GiB file keeps the worker near its idle size (docs/RELIABILITY.md); set the variable empty to turn this off.',
];

/**
 * The worker process for `queues`, until a signal. It logs as the storage worker when it serves a
 * storage tier (the deprecated `worker --tier small llm` serves both), else as the dreaming worker, or
 * as the user insight worker when that is all it serves.
 */
export async function runWorkerProcess(queues: readonly WorkerQueue[]): Promise<void> {
  const cfg = loadConfig();
  const tiers = [...new Set(queues)].filter((t): t is Tier => t !== 'llm' && t !== 'user-insight');
  const withLlm = queues.includes('llm');
  const withUserInsight = queues.includes('user-insight');
  const log = createLogger(
    cfg,
    tiers.length > 0
      ? PROCESS_NAMES.storageWorker
      : withLlm || !withUserInsight
        ? PROCESS_NAMES.dreamingWorker
        : PROCESS_NAMES.userInsightWorker,
  );
  const restartFlags = heapCeilingRestartFlags(queues, cfg.worker.largeTierV8Flags, currentHeap());
  if (restartFlags.length > 0) {
    process.exitCode = await restartWithFlags(restartFlags, log);
    return;
  }
  stopOnParentExit(log);
  const sets: StorageWorkers[] = [];
  if (withLlm) {
    // Imported on use: the LLM SDKs (OpenAI, Anthropic, llama.cpp) cost a storage-only worker ~28 MiB.
    const { createLlmWorker } = await import('../workers/llm-worker.js');
    const llm = await createLlmWorker(cfg, shutdownOptions(cfg), log);
    log.info(
      {
        taskQueue: llmTaskQueue(cfg),
        provider: llm.description,
        maxActivitiesPerSecond: cfg.llm.maxActivitiesPerSecond,
        concurrency: cfg.llm.concurrency,
      },
      'LLM worker ready',
    );
    sets.push(llm);
  }
  if (withUserInsight) {
    const { createUserInsightWorker } = await import('../workers/user-insight-worker.js');
    const insight = await createUserInsightWorker(cfg, shutdownOptions(cfg), log);
    log.info(
      {
        taskQueue: userInsightTaskQueue(cfg),
        provider: insight.description,
        maxActivitiesPerSecond: cfg.llm.maxActivitiesPerSecond,
        concurrency: cfg.llm.concurrency,
      },
      'user insight worker ready',
    );
    sets.push(insight);
  }
  if (tiers.length > 0) sets.push(await startStorageWorkers(cfg, tiers, log));
  const workers = together(sets);
  log.info(
    {
      taskQueues: [
        ...tiers.map((t) => taskQueueFor(cfg, t)),
        ...(withLlm ? [llmTaskQueue(cfg)] : []),
        ...(withUserInsight ? [userInsightTaskQueue(cfg)] : []),
      ],
      concurrency: Object.fromEntries(tiers.map((t) => [t, cfg.worker.concurrency[t]])),
      metrics: metricsDescription(cfg),
      shutdownGraceSeconds: cfg.worker.shutdownGraceSeconds,
    },
    'workers running (Ctrl-C for a graceful shutdown)',
  );
  await runUntilSignalled(workers, cfg, log);
  log.info('workers stopped');
}
