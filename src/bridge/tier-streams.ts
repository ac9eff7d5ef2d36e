/**
 * The original P8FS's tier streams, served so nothing published there is stranded. Its router
 * republished each event from p8fs.storage.events to p8fs.storage.events.small|medium|large, kept in
 * P8FS_STORAGE_EVENTS_SMALL|MEDIUM|LARGE (WorkQueue) and read by its storage workers through the durable
 * consumers small-workers, medium-workers, large-workers; old producers may still publish there.
 *
 * When such a stream exists the bridge reads it through that same consumer (so an old worker still
 * running shares the messages instead of the stream refusing a second consumer), or creates it as the
 * original did when missing; every event is then routed like any other, to our tier by its size. These
 * streams are never created and their configuration is never changed, except that a consumer's
 * max_deliver below the bridge's is raised to it, so a message naked while Temporal is away is not given
 * up after the original's 3 deliveries.
 */
import { AckPolicy, type JetStreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { TIERS } from '../domain/tiers.js';
import { tierStreamName } from '../events/streams.js';

export interface TierSource {
  stream: string;
  consumer: string;
  /** Deliveries after which the bridge dead-letters an event of this stream. */
  maxDeliver: number;
}

export const tierConsumerName = (tier: string) => `${tier}-workers`;

export interface TierSources {
  sources: TierSource[];
  /** What was found or done, one line each, for the log. */
  notes: string[];
}

export async function findTierSources(jsm: JetStreamManager, cfg: Config): Promise<TierSources> {
  const sources: TierSource[] = [];
  const notes: string[] = [];
  for (const tier of TIERS) {
    const stream = tierStreamName(cfg, tier);
    const info = await jsm.streams.info(stream).catch((error: unknown) => {
      if (/stream not found/i.test(errorText(error))) return undefined;
      throw error;
    });
    if (!info) continue;
    const name = tierConsumerName(tier);
    let consumer = await jsm.consumers.info(stream, name).catch(() => undefined);
    if (!consumer) {
      const others: string[] = [];
      for await (const c of jsm.consumers.list(stream)) others.push(c.name);
      if (others.length > 0 && info.config.retention === RetentionPolicy.Workqueue) {
        notes.push(
          `not serving ${stream}: it has no consumer ${name} but ${others.join(', ')}, and WorkQueue allows one; ` +
            `\`nats consumer rm ${stream} ${others[0]} -f\` once nothing reads it, and restart the bridge`,
        );
        continue;
      }
      // As the original's router creates it (client.py ensure_consumer's defaults).
      consumer = await jsm.consumers.add(stream, {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        max_deliver: 3,
        ack_wait: nanos(300_000),
      });
      notes.push(`created consumer ${name} on ${stream} as the original P8FS router does`);
    }
    let maxDeliver = consumer.config.max_deliver ?? -1;
    if (maxDeliver > 0 && maxDeliver < cfg.bridge.maxDeliver) {
      await jsm.consumers.update(stream, name, { max_deliver: cfg.bridge.maxDeliver });
      notes.push(`raised max_deliver of ${stream} ${name} from ${maxDeliver} to ${cfg.bridge.maxDeliver}`);
      maxDeliver = cfg.bridge.maxDeliver;
    }
    sources.push({
      stream,
      consumer: name,
      maxDeliver: maxDeliver > 0 ? Math.min(maxDeliver, cfg.bridge.maxDeliver) : cfg.bridge.maxDeliver,
    });
    notes.push(
      `serving the original P8FS tier stream ${stream} through consumer ${name} (${consumer.num_pending} pending)`,
    );
  }
  return { sources, notes };
}
