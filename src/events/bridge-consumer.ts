/**
 * The bridge's durable consumer on the events stream, and what stands in its way on a stream the
 * original P8FS made. Its router creates P8FS_STORAGE_EVENTS with WorkQueue retention, where JetStream
 * lets only one consumer take any subject ("multiple non-filtered consumers not allowed on workqueue
 * stream"), and keeps its own consumer `tiered-storage-router` there.
 *
 * - A consumer of the original's router (`tiered-storage-router`; `router-consumer`,
 *   `simple-tiered-router` and `router-<time>`, which the original's router itself deletes as stale)
 *   that is idle, twice in a row (no pull request waiting, nothing unacknowledged), is removed: no
 *   router is using it, and on a WorkQueue stream its unacknowledged messages stay in the stream, which
 *   the bridge's consumer then delivers. Nothing is lost.
 * - One in use (a router still running), or any other consumer, stops the bridge with the conflict and
 *   the commands that resolve it: the bridge never takes work from under a running process.
 * On a Limits stream (ours) other consumers do not conflict and are left alone.
 */
import { type ConsumerInfo, type JetStreamManager, RetentionPolicy } from '@nats-io/jetstream';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { StreamConflictError } from './stream-adoption.js';
import { bridgeConsumerConfig } from './streams.js';

/** Consumer names of the original P8FS router on the events stream. */
export function isOriginalRouterConsumer(name: string): boolean {
  return (
    ['tiered-storage-router', 'router-consumer', 'simple-tiered-router'].includes(name) ||
    /^router-\d+$/.test(name)
  );
}

/** How long apart the two idle checks are: longer than the gap between a router's pull requests. */
const IDLE_RECHECK_MS = 1500;

const busy = (c: ConsumerInfo) => c.num_waiting > 0 || c.num_ack_pending > 0 || c.push_bound === true;

function describe(c: ConsumerInfo): string {
  return `${c.num_waiting} pull request(s) waiting, ${c.num_ack_pending} message(s) unacknowledged`;
}

function routerInUse(stream: string, c: ConsumerInfo): StreamConflictError {
  return new StreamConflictError(
    `${stream} has WorkQueue retention (as the original P8FS router creates it), where only one consumer may take its messages, ` +
      `and the original router's consumer ${c.name} is in use (${describe(c)}). Stop the original router first ` +
      `(its Deployment: \`kubectl -n p8fs scale deployment/tiered-storage-router --replicas=0\`, or end \`python -m p8fs.cli router\`), ` +
      `then start the bridge again: it removes that consumer once idle. Or remove it yourself: ` +
      `\`nats consumer rm ${stream} ${c.name} -f\`. Nothing is lost: what it has not acknowledged stays in ${stream} for the bridge.`,
  );
}

function otherConsumer(stream: string, c: ConsumerInfo, ours: string): StreamConflictError {
  return new StreamConflictError(
    `${stream} has WorkQueue retention, where only one consumer may take its messages, and consumer ${c.name} ` +
      `(not the bridge's ${ours}) is there (${describe(c)}). Stop what reads it, then remove it: ` +
      `\`nats consumer rm ${stream} ${c.name} -f\` (what it has not acknowledged stays in the stream), ` +
      `or set P8FS_BRIDGE_CONSUMER=${c.name} to let the bridge use that consumer.`,
  );
}

/**
 * Clears the way (see above) and creates or updates the bridge's consumer. Returns what it did, one line
 * each, for the log.
 */
export async function ensureBridgeConsumer(
  jsm: JetStreamManager,
  cfg: Config,
  recheckMs = IDLE_RECHECK_MS,
): Promise<string[]> {
  const stream = cfg.nats.eventsStream;
  const ours = cfg.nats.bridgeConsumer;
  const notes: string[] = [];
  const info = await jsm.streams.info(stream);
  if (info.config.retention === RetentionPolicy.Workqueue) {
    for await (const c of jsm.consumers.list(stream)) {
      if (c.name === ours) continue;
      if (!isOriginalRouterConsumer(c.name)) throw otherConsumer(stream, c, ours);
      if (busy(c)) throw routerInUse(stream, c);
      await new Promise((resolve) => setTimeout(resolve, recheckMs));
      const again = await jsm.consumers.info(stream, c.name);
      if (busy(again)) throw routerInUse(stream, again);
      // Another bridge replica starting at the same time may have removed it first.
      await jsm.consumers.delete(stream, c.name).catch((error: unknown) => {
        if (!/consumer not found/i.test(errorText(error))) throw error;
      });
      notes.push(
        `removed the original P8FS router's idle consumer ${c.name} from ${stream} (as \`nats consumer rm ${stream} ${c.name} -f\`; ` +
          `its ${again.num_pending} pending message(s) stay in the stream for the bridge)`,
      );
    }
  }
  const consumer = bridgeConsumerConfig(cfg);
  try {
    await jsm.consumers.add(stream, consumer);
  } catch (error) {
    if (!/already (in use|exists)/i.test(errorText(error))) {
      if (/workqueue/i.test(errorText(error))) {
        throw new StreamConflictError(
          `${stream}: the bridge's consumer ${ours} was refused (${errorText(error)}): another process created a consumer meanwhile; ` +
            `see \`nats consumer ls ${stream}\``,
          { cause: error },
        );
      }
      throw error;
    }
    await jsm.consumers.update(stream, consumer.durable_name, consumer);
  }
  return notes;
}
