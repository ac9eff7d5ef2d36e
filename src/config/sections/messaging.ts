/** NATS JetStream: the server, the stream of storage events and the dead-letter stream. */
import type { EnvReader } from '../env-reader.js';
import { httpUrl, name, positiveInt, subject, url } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface NatsConfig {
  url: string;
  monitorUrl: string;
  eventsStream: string;
  eventsSubject: string;
  testSubject: string;
  dlqStream: string;
  dlqSubject: string;
  bridgeConsumer: string;
  duplicateWindowSeconds: number;
}

const NATS = {
  url: {
    name: 'P8FS_NATS_URL',
    schema: url(['nats', 'tls', 'ws', 'wss']),
    fallback: 'nats://127.0.0.1:4222',
    meaning: 'NATS server',
  },
  monitorUrl: {
    name: 'P8FS_NATS_MONITOR_URL',
    schema: httpUrl,
    fallback: 'http://127.0.0.1:8222',
    meaning: 'NATS monitoring (health)',
  },
  eventsStream: {
    name: 'P8FS_EVENTS_STREAM',
    schema: name,
    fallback: 'P8FS_STORAGE_EVENTS',
    meaning: 'event stream',
  },
  eventsSubject: {
    name: 'P8FS_EVENTS_SUBJECT',
    schema: subject,
    fallback: 'p8fs.storage.events',
    meaning: 'subject of storage events (in the event stream)',
  },
  testSubject: {
    name: 'P8FS_EVENTS_TEST_SUBJECT',
    schema: subject,
    fallback: 'p8fs.storage.events.test',
    meaning: 'self-test subject (same stream)',
  },
  dlqStream: {
    name: 'P8FS_DLQ_STREAM',
    schema: name,
    fallback: 'P8FS_STORAGE_EVENTS_DLQ',
    meaning: 'dead-letter stream',
  },
  dlqSubject: {
    name: 'P8FS_DLQ_SUBJECT',
    schema: subject,
    fallback: 'p8fs.storage.events.dlq',
    meaning: 'subject of dead letters (in the dead-letter stream)',
  },
  bridgeConsumer: {
    name: 'P8FS_BRIDGE_CONSUMER',
    schema: name,
    fallback: 'p8fs-bridge',
    meaning: "the bridge's durable pull consumer",
  },
  duplicateWindowSeconds: {
    name: 'P8FS_EVENTS_DUPLICATE_WINDOW_SECONDS',
    schema: positiveInt,
    fallback: '600',
    meaning: 'JetStream `Nats-Msg-Id` dedup window',
  },
} as const;

export const MESSAGING_SECTION: Section = {
  title: 'NATS JetStream',
  about: 'Storage events travel on JetStream; the bridge dead-letters what it cannot route.',
  variables: declared(NATS),
};

export function readNats(r: EnvReader, monitorPort: number | undefined): NatsConfig {
  return r.readAll(NATS, { monitorUrl: `http://127.0.0.1:${monitorPort ?? 8222}` });
}
