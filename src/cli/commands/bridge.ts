import type { Command } from 'commander';
import { Bridge } from '../../bridge/bridge.js';
import { loadConfig } from '../../config/config.js';
import { assertPortFree } from '../../telemetry/health-server.js';
import { createLogger } from '../../telemetry/logger.js';
import { PROCESS_NAMES } from '../../telemetry/process-names.js';
import { PROCESS_COMMANDS } from '../process-commands.js';
import { runUntilSignal } from '../run-until-signal.js';

async function runBridge(options: { workerId?: string }): Promise<void> {
  const cfg = loadConfig();
  // The seeds start the router with --worker-id=ID: replicas share one durable consumer, so the id
  // changes nothing here but the log lines, which carry it to tell replicas apart.
  const base = createLogger(cfg, PROCESS_NAMES.bridge);
  const log = options.workerId ? base.child({ instance: options.workerId }) : base;
  await assertPortFree(cfg.bridge.healthPort, 'P8FS_BRIDGE_HEALTH_PORT');
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
  // How long a stopping bridge waits for the batch in hand. Routing one batch takes well under this; a
  // bridge paused because Temporal is away may be sleeping between probes, and must not hold the stop.
  // What it has not acked is redelivered by JetStream to the next bridge, so nothing is lost by leaving.
  await runUntilSignal({
    timeoutMs: 10_000,
    log,
    finishing: 'the batch in hand',
    stop: () => bridge.stop(),
    tooSlow: {
      message: 'bridge did not stop in time: exiting; JetStream redelivers the messages not acked',
      fields: () => ({ counters: bridge.counters }),
    },
  });
  log.info({ counters: bridge.counters }, 'bridge stopped');
}

export function registerBridgeCommand(program: Command): void {
  program
    .command(PROCESS_COMMANDS.bridge.name)
    .aliases(PROCESS_COMMANDS.bridge.aliases)
    .description(
      'Turn storage events from JetStream into ingestFile workflows on the tier task queues; owns the streams and the DLQ',
    )
    .option(
      '--worker-id <id>',
      'an instance id for the log lines (accepted as the seeds pass it; nothing else)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Aliases: router, tiered-storage-router (the Kubernetes Deployment runs `p8fs bridge`).',
        'Health and counters: GET /health and /metrics on P8FS_BRIDGE_HEALTH_PORT (default 8090).',
        'Stops gracefully on SIGINT/SIGTERM after the batch in hand (at most 10 s, then it exits 1; JetStream',
        'redelivers what was not acked). A second signal exits at once.',
      ].join('\n'),
    )
    .action(runBridge);
}
