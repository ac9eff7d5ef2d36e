/**
 * The storage-event streams' authority: the events stream, the self-test's own stream and the dead-letter
 * stream, created when missing and adopted when they exist (./stream-adoption.ts: never a retention
 * change, so a stream the original P8FS made with WorkQueue retention works as it is). The bridge's
 * durable consumer is made by the bridge alone (./bridge-consumer.ts). Workers never touch streams.
 */
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Config } from '../config/config.js';
import { type Adoption, adoptStream, type WantedStream } from './stream-adoption.js';

const DAY_NS = nanos(24 * 60 * 60 * 1000);

/** A file-stored Limits stream of ours on one subject, kept `days` days. */
function limitsStream(
  cfg: Config,
  name: string,
  variable: string,
  subject: string,
  days: number,
): WantedStream {
  return {
    name,
    variable,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: days * DAY_NS,
    // Producers set Nats-Msg-Id; the same id inside this window is stored once.
    duplicate_window: nanos(cfg.nats.duplicateWindowSeconds * 1000),
  };
}

/**
 * Not `p8fs.storage.events.>`: the dead-letter and self-test subjects live below it and belong to their
 * own streams (JetStream refuses overlapping subjects), and so do the original's tier subjects.
 */
export function eventsStreamConfig(cfg: Config): WantedStream {
  return limitsStream(cfg, cfg.nats.eventsStream, 'P8FS_EVENTS_STREAM', cfg.nats.eventsSubject, 7);
}

/**
 * The self-test's own stream (the seeds' TEST queue): the production bridge never consumes it, the
 * self-test reads its message back by sequence and routes it itself. A day's worth is plenty.
 */
export function testStreamConfig(cfg: Config): WantedStream {
  return limitsStream(cfg, cfg.nats.testStream, 'P8FS_EVENTS_TEST_STREAM', cfg.nats.testSubject, 1);
}

/** The original P8FS's tier streams (P8FS_STORAGE_EVENTS_SMALL …): the bridge serves them when they exist. */
export function tierStreamName(cfg: Config, tier: string): string {
  return `${cfg.nats.eventsStream}_${tier.toUpperCase()}`;
}

export function dlqStreamConfig(cfg: Config): WantedStream {
  return limitsStream(cfg, cfg.nats.dlqStream, 'P8FS_DLQ_STREAM', cfg.nats.dlqSubject, 30);
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

/**
 * The events and dead-letter streams, created or adopted. Releases before the self-test had its own
 * stream bound its subject to the events stream: it is dropped there (stored messages stay).
 */
export async function ensureStreams(jsm: JetStreamManager, cfg: Config): Promise<Adoption[]> {
  return [
    await adoptStream(jsm, eventsStreamConfig(cfg), [cfg.nats.testSubject]),
    await adoptStream(jsm, dlqStreamConfig(cfg)),
  ];
}

/** ensureStreams, then the self-test's stream (after, so its subject has left the events stream). */
export async function ensureTestStream(jsm: JetStreamManager, cfg: Config): Promise<Adoption[]> {
  const adopted = await ensureStreams(jsm, cfg);
  return [...adopted, await adoptStream(jsm, testStreamConfig(cfg))];
}
