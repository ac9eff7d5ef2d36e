import type { Command } from 'commander';
import { Bridge } from '../../bridge/bridge.js';
import { loadConfig } from '../../config/config.js';
import { createLogger } from '../../telemetry/logger.js';

async function runBridge(): Promise<void> {
  const cfg = loadConfig();
  const log = createLogger(cfg, 'p8fs-bridge');
  const bridge = await Bridge.create(cfg, log);
  bridge.start();
  log.info(
    {
      stream: cfg.nats.eventsStream,
      consumer: cfg.nats.bridgeConsumer,
      temporal: cfg.temporal.address,
      health: cfg.bridge.healthPort > 0 ? `http://127.0.0.1:${cfg.bridge.healthPort}/health` : 'off',
    },
    'bridge running',
  );
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing the batch in hand');
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await bridge.stop();
  log.info({ counters: bridge.counters }, 'bridge stopped');
}

export function registerBridgeCommand(program: Command): void {
  program
    .command('bridge')
    .alias('router')
    .description(
      'Turn storage events from JetStream into ingestFile workflows on the tier task queues; owns the streams and the DLQ',
    )
    .addHelpText(
      'after',
      '\nHealth and counters: GET /health and /metrics on P8FS_BRIDGE_HEALTH_PORT (default 8090).\nStops gracefully on SIGINT/SIGTERM after the batch in hand.',
    )
    .action(runBridge);
}
