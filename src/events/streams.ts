/**
 * The bridge is the single authority over the storage-event streams and its durable consumer: it creates
 * them, or updates them to this configuration. Workers never touch stream configuration.
 */
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';

const DAY_NS = nanos(24 * 60 * 60 * 1000);

export function eventsStreamConfig(cfg: Config): Partial<StreamConfig> & { name: string } {
  return {
    name: cfg.nats.eventsStream,
    // Not `p8fs.storage.events.>`: the dead-letter subject p8fs.storage.events.dlq lives below it and
    // belongs to the DLQ stream (JetStream refuses overlapping subjects).
    subjects: [cfg.nats.eventsSubject, cfg.nats.testSubject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: 7 * DAY_NS,
    // Producers set Nats-Msg-Id; the same id inside this window is stored once.
    duplicate_window: nanos(cfg.nats.duplicateWindowSeconds * 1000),
  };
}

export function dlqStreamConfig(cfg: Config): Partial<StreamConfig> & { name: string } {
  return {
    name: cfg.nats.dlqStream,
    subjects: [cfg.nats.dlqSubject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: 30 * DAY_NS,
    duplicate_window: nanos(cfg.nats.duplicateWindowSeconds * 1000),
  };
}

/** Redelivery delays after an ack timeout (a crashed bridge); naks carry their own delay. */
const BACKOFF_MS = [10_000, 30_000, 60_000, 120_000];

export function bridgeConsumerConfig(cfg: Config): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: cfg.nats.bridgeConsumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(BACKOFF_MS[0] as number),
    backoff: BACKOFF_MS.map((ms) => nanos(ms)),
    max_deliver: Math.max(cfg.bridge.maxDeliver, BACKOFF_MS.length + 1),
    // Bounds what is in flight (and so the bridge's memory) however large the backlog gets.
    max_ack_pending: Math.max(cfg.bridge.batchSize * 4, 256),
  };
}

function isAlreadyExists(error: unknown): boolean {
  const text = errorText(error);
  return /already (in use|exists)/i.test(text);
}

export async function ensureStreams(jsm: JetStreamManager, cfg: Config): Promise<void> {
  for (const stream of [eventsStreamConfig(cfg), dlqStreamConfig(cfg)]) {
    try {
      await jsm.streams.add(stream);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      await jsm.streams.update(stream.name, stream);
    }
  }
  const consumer = bridgeConsumerConfig(cfg);
  try {
    await jsm.consumers.add(cfg.nats.eventsStream, consumer);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    await jsm.consumers.update(cfg.nats.eventsStream, consumer.durable_name, consumer);
  }
}
