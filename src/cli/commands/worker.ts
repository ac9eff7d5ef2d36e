import type { WorkerOptions } from '@temporalio/worker';
import { type Command, Option } from 'commander';
import { type Config, loadConfig } from '../../config/config.js';
import { TIERS, type Tier } from '../../domain/tiers.js';
import { createLogger, type Logger } from '../../telemetry/logger.js';
import { llmTaskQueue, taskQueueFor } from '../../temporal/names.js';
import { type RuntimeOptions, socketAddress, startWorkerRuntime } from '../../workers/runtime.js';
import type { StorageWorkers } from '../../workers/storage-worker.js';
import { currentHeap, heapCeilingRestartFlags, restartWithFlags, stopOnParentExit } from '../heap-ceiling.js';

/** Beyond the grace period: how long the SDK may take to report the cancelled activities before we stop waiting. */
const FORCE_AFTER_GRACE_MS = 5000;
/** Last resort beyond that: the process exits even if something still holds it open. */
const EXIT_AFTER_FORCE_MS = 5000;

export function tierOption(): Option {
  return new Option('--tier <tier...>', 'task queue tier(s) to serve; repeat or list several')
    .choices(TIERS)
    .default(['small']);
}

/** `llm` beside the storage tiers: the p8fs-llm queue (dreamAnalysis, dreamBatch, buildMoments). */
function workerTierOption(): Option {
  return new Option('--tier <tier...>', 'task queue(s) to serve: small, medium, large (storage) and/or llm')
    .choices([...TIERS, 'llm'])
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

/** The exit code a shell expects of a process ended by `signal` (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
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
  const { createStorageWorkers } = await import('../../workers/storage-worker.js');
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

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run storage workers (ingestFile and its activities) for one or more tiers in this process')
    .addOption(workerTierOption())
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  p8fs worker --tier small medium   # serves p8fs-storage-small and p8fs-storage-medium',
        '  p8fs worker --tier llm            # serves p8fs-llm: dreamAnalysis, dreamBatch, buildMoments',
        '',
        'LLM worker: the provider is P8FS_LLM_PROVIDER (openai | anthropic | heuristic | local; default openai',
        'with OPENAI_API_KEY, else anthropic with ANTHROPIC_API_KEY, else the offline heuristic). The server',
        'limits the p8fs-llm queue to P8FS_LLM_MAX_ACTIVITIES_PER_SECOND activities/s across all LLM workers.',
        '',
        'Stopping: on SIGINT or SIGTERM the workers take no new tasks, in-flight activities get',
        'P8FS_WORKER_SHUTDOWN_GRACE_SECONDS (default 20) to finish, the rest are cancelled (Temporal retries',
        'them on another worker) and the process exits 0. A second signal exits at once.',
        'Metrics: Prometheus on P8FS_WORKER_METRICS_HOST:P8FS_WORKER_METRICS_PORT (127.0.0.1:9464; port 0 = off);',
        'a port already taken on this host is a start-up error.',
        'Memory: `--tier large` alone restarts itself once with P8FS_WORKER_LARGE_V8_FLAGS (default',
        '"--max-old-space-size=128 --max-semi-space-size=4") unless NODE_OPTIONS already sets a heap ceiling,',
        'so streaming a 1 GiB file keeps the worker near its idle size (docs/RELIABILITY.md); set the variable empty to turn this off.',
      ].join('\n'),
    )
    .action(async (options: { tier: Array<Tier | 'llm'> }) => {
      const cfg = loadConfig();
      const log = createLogger(cfg, 'p8fs-worker');
      const restartFlags = heapCeilingRestartFlags(options.tier, cfg.worker.largeTierV8Flags, currentHeap());
      if (restartFlags.length > 0) {
        process.exitCode = await restartWithFlags(restartFlags, log);
        return;
      }
      stopOnParentExit(log);
      const tiers = [...new Set(options.tier)].filter((t): t is Tier => t !== 'llm');
      const withLlm = options.tier.includes('llm');
      const sets: StorageWorkers[] = [];
      if (withLlm) {
        // Imported on use: the LLM SDKs (OpenAI, Anthropic, llama.cpp) cost a storage-only worker ~28 MiB.
        const { createLlmWorker } = await import('../../workers/llm-worker.js');
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
      if (tiers.length > 0) sets.push(await startStorageWorkers(cfg, tiers, log));
      const workers = together(sets);
      log.info(
        {
          taskQueues: [...tiers.map((t) => taskQueueFor(cfg, t)), ...(withLlm ? [llmTaskQueue(cfg)] : [])],
          concurrency: Object.fromEntries(tiers.map((t) => [t, cfg.worker.concurrency[t]])),
          metrics: metricsDescription(cfg),
          shutdownGraceSeconds: cfg.worker.shutdownGraceSeconds,
        },
        'workers running (Ctrl-C for a graceful shutdown)',
      );
      await runUntilSignalled(workers, cfg, log);
      log.info('workers stopped');
    });
}
