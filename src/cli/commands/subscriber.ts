import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { Subscriber } from '../../subscriber/subscriber.js';
import { assertPortFree } from '../../telemetry/health-server.js';
import { createLogger } from '../../telemetry/logger.js';
import { PROCESS_NAMES } from '../../telemetry/process-names.js';
import { PROCESS_COMMANDS } from '../process-commands.js';
import { runUntilSignal } from '../run-until-signal.js';

async function runSubscriber(): Promise<void> {
  const cfg = loadConfig();
  const log = createLogger(cfg, PROCESS_NAMES.subscriber);
  await assertPortFree(cfg.subscriber.healthPort, 'P8FS_SUBSCRIBER_HEALTH_PORT');
  const subscriber = await Subscriber.create(cfg, log);
  subscriber.start();
  log.info(
    {
      filer: cfg.subscriber.filerGrpc,
      pathPrefix: cfg.subscriber.pathPrefix,
      subject: cfg.nats.eventsSubject,
      // The cursor's key is P8FS_SUBSCRIBER_NAME, still `seaweed-events` by default although the process
      // is now `subscriber`: it is stored in NATS KV, and a new default would start running deployments
      // over from P8FS_SUBSCRIBER_START instead of resuming where they were.
      cursor: `${cfg.subscriber.cursorBucket}/${cfg.subscriber.name}`,
      health: cfg.subscriber.healthPort > 0 ? `http://127.0.0.1:${cfg.subscriber.healthPort}/health` : 'off',
    },
    'subscriber running',
  );
  // How long a stopping subscriber waits for the event in hand (one publish and one cursor write). What it
  // has not recorded in the cursor is replayed by the next start, and the replay's Nats-Msg-Ids make it a
  // no-op, so leaving early loses nothing.
  await runUntilSignal({
    timeoutMs: 10_000,
    log,
    finishing: 'the event in hand',
    stop: () => subscriber.stop(),
    tooSlow: { message: 'subscriber did not stop in time: exiting' },
  });
  log.info({ counters: subscriber.counters, cursorNs: subscriber.position }, 'subscriber stopped');
}

export function registerSubscriberCommand(program: Command): void {
  program
    .command(PROCESS_COMMANDS.subscriber.name)
    .aliases(PROCESS_COMMANDS.subscriber.aliases)
    .description(
      "Follow the SeaweedFS filer's metadata stream under /buckets and publish a storage event per object change (uploads start ingestion by themselves)",
    )
    .addHelpText(
      'after',
      [
        '',
        'Aliases: seaweed-events, seaweedfs-grpc-subscriber (the Kubernetes Deployment runs `p8fs subscriber`).',
        'Filer gRPC: P8FS_SEAWEEDFS_FILER_GRPC (default: the filer HTTP port + 10000). Resumes from the cursor',
        'in the NATS KV bucket P8FS_SUBSCRIBER_CURSOR_BUCKET (key P8FS_SUBSCRIBER_NAME), written after each',
        'JetStream ack. Health and counters: GET /health and /metrics on P8FS_SUBSCRIBER_HEALTH_PORT',
        '(default 8091). Stops gracefully on SIGINT/SIGTERM; a second signal exits at once.',
      ].join('\n'),
    )
    .action(runSubscriber);
}
