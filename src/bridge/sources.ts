/**
 * What the bridge pulls from, adopted as found: the events stream through the bridge's consumer, and any
 * of the original P8FS's tier streams (./tier-streams.ts). A conflict throws, naming the command that
 * resolves it (src/events/stream-adoption.ts, src/events/bridge-consumer.ts).
 */
import { type Consumer, type JetStreamManager, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config/config.js';
import { ensureBridgeConsumer } from '../events/bridge-consumer.js';
import { ensureStreams } from '../events/streams.js';
import type { Logger } from '../telemetry/logger.js';
import { findTierSources, type TierSource } from './tier-streams.js';

/** A stream the bridge pulls from: the events stream, or one of the original's tier streams. */
export interface Source extends TierSource {
  pull: Consumer;
}

/**
 * The streams and consumers as the bridge needs them, adopted as found (a conflict throws, naming the
 * command that resolves it): the events stream's consumer first, then any of the original's tier streams.
 */
export async function adoptSources(
  nc: NatsConnection,
  jsm: JetStreamManager,
  cfg: Config,
  log: Logger,
): Promise<Source[]> {
  const notes: string[] = [];
  for (const adoption of await ensureStreams(jsm, cfg)) {
    if (adoption.created) notes.push(`created stream ${adoption.stream}`);
    else if (adoption.changes.length > 0) {
      notes.push(`adopted stream ${adoption.stream} (${adoption.retention}): ${adoption.changes.join('; ')}`);
    }
  }
  notes.push(...(await ensureBridgeConsumer(jsm, cfg)));
  const tiers = await findTierSources(jsm, cfg);
  notes.push(...tiers.notes);
  for (const note of notes) log.info(note);
  const js = jetstream(nc);
  const main = {
    stream: cfg.nats.eventsStream,
    consumer: cfg.nats.bridgeConsumer,
    maxDeliver: cfg.bridge.maxDeliver,
  };
  const sources: Source[] = [];
  for (const source of [main, ...tiers.sources]) {
    sources.push({ ...source, pull: await js.consumers.get(source.stream, source.consumer) });
  }
  return sources;
}
