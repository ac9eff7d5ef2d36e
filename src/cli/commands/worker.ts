import { type Command, Option } from 'commander';
import { loadConfig } from '../../config/config.js';
import { createLogger } from '../../telemetry/logger.js';
import type { Tier } from '../../domain/tiers.js';
import { taskQueueFor } from '../../temporal/names.js';
import { createStorageWorkers } from '../../workers/storage-worker.js';

export const TIERS: Tier[] = ['small', 'medium', 'large'];

export function tierOption(): Option {
  return new Option('--tier <tier...>', 'task queue tier(s) to serve; repeat or list several')
    .choices(TIERS)
    .default(['small']);
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run storage workers (ingestFile and its activities) for one or more tiers in this process')
    .addOption(tierOption())
    .addHelpText(
      'after',
      '\nExample:\n  p8fs worker --tier small medium   # serves p8fs-storage-small and p8fs-storage-medium',
    )
    .action(async (options: { tier: Tier[] }) => {
      const cfg = loadConfig();
      const log = createLogger(cfg, 'p8fs-worker');
      const tiers = [...new Set(options.tier)];
      const workers = await createStorageWorkers(cfg, tiers);
      log.info(
        {
          taskQueues: tiers.map((t) => taskQueueFor(cfg, t)),
          concurrency: Object.fromEntries(tiers.map((t) => [t, cfg.worker.concurrency[t]])),
          metrics: cfg.worker.metricsPort > 0 ? `http://127.0.0.1:${cfg.worker.metricsPort}/metrics` : 'off',
        },
        'workers running (Ctrl-C for a graceful shutdown)',
      );
      // The SDK shuts workers down gracefully on SIGINT/SIGTERM; run() resolves once they have drained.
      await workers.run();
      log.info('workers stopped');
    });
}
