/**
 * The storage stream's figures, as `p8fs status` and the HTTP API's `GET /v1/stats` report them: the
 * messages stored in the events stream and in the DLQ, and the bridge consumer's backlog (waiting,
 * in flight, redelivered); the self-test's stream and the original P8FS's tier streams only where they
 * exist (their backlog is what a migration waits on). Cheap: a few stream infos, no message is read.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Config } from '../config/config.js';
import { TIERS } from '../domain/tiers.js';
import { tierStreamName } from './streams.js';

export interface StreamFigures {
  messages: number;
  bytes: number;
}

export interface BridgeConsumerFigures {
  name: string;
  /** Messages not yet delivered to the bridge. */
  pending: number;
  /** Delivered, not yet acknowledged. */
  ackPending: number;
  redelivered: number;
}

export interface StreamStats {
  /** By stream name; null when the stream does not exist yet (no bridge has run). */
  streams: Record<string, StreamFigures | null>;
  events: StreamFigures | null;
  deadLetters: StreamFigures | null;
  bridgeConsumer: BridgeConsumerFigures | null;
}

export async function streamStats(jsm: JetStreamManager, cfg: Config): Promise<StreamStats> {
  const figures = async (name: string): Promise<StreamFigures | null> => {
    const info = await jsm.streams.info(name).catch(() => undefined);
    return info ? { messages: info.state.messages, bytes: info.state.bytes } : null;
  };
  const events = await figures(cfg.nats.eventsStream);
  const deadLetters = await figures(cfg.nats.dlqStream);
  const consumer = await jsm.consumers
    .info(cfg.nats.eventsStream, cfg.nats.bridgeConsumer)
    .catch(() => undefined);
  const streams: Record<string, StreamFigures | null> = {
    [cfg.nats.eventsStream]: events,
    [cfg.nats.dlqStream]: deadLetters,
  };
  for (const name of [cfg.nats.testStream, ...TIERS.map((tier) => tierStreamName(cfg, tier))]) {
    const found = await figures(name);
    if (found) streams[name] = found;
  }
  return {
    streams,
    events,
    deadLetters,
    bridgeConsumer: consumer
      ? {
          name: cfg.nats.bridgeConsumer,
          pending: consumer.num_pending,
          ackPending: consumer.num_ack_pending,
          redelivered: consumer.num_redelivered,
        }
      : null,
  };
}
