/**
 * NATS JetStream: the server and how to authenticate to it, the stream of storage events, the self-test's
 * own stream and the dead-letter stream.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { flag, httpUrl, name, nonEmpty, positiveInt, subject, url } from '../schema.js';
import { declared, type Section, type Variable } from '../variable.js';

export interface NatsConfig {
  url: string;
  monitorUrl: string;
  eventsStream: string;
  eventsSubject: string;
  testSubject: string;
  testStream: string;
  dlqStream: string;
  dlqSubject: string;
  bridgeConsumer: string;
  duplicateWindowSeconds: number;
  /** Authentication: at most one of user + password, token, credentials file. */
  user?: string;
  password?: string;
  token?: string;
  credsFile?: string;
  /** TLS: required when set (or a `tls://` URL or any TLS file); CA, client certificate and key files. */
  tls: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** A path to a file that must exist when given (read at connection time). */
const existingFile = nonEmpty.refine((path) => existsSync(path), 'a file that exists');

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
    meaning: 'self-test subject, in the self-test stream only (the bridge never consumes it)',
  },
  testStream: {
    name: 'P8FS_EVENTS_TEST_STREAM',
    schema: name,
    fallback: 'P8FS_STORAGE_EVENTS_TEST',
    meaning: "the self-test's own stream (the seeds' TEST queue), created when missing",
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
  user: {
    name: 'P8FS_NATS_USER',
    aliases: ['P8FS_NATS_USERNAME'],
    schema: z.string().regex(/^\S+$/, 'a user name without spaces'),
    meaning: 'NATS user (with `P8FS_NATS_PASSWORD`); `P8FS_NATS_USERNAME` is the original P8FS name',
  },
  password: {
    name: 'P8FS_NATS_PASSWORD',
    schema: nonEmpty,
    meaning: 'NATS password of `P8FS_NATS_USER`',
  },
  token: {
    name: 'P8FS_NATS_TOKEN',
    schema: nonEmpty,
    meaning: 'NATS authentication token (instead of a user)',
  },
  credsFile: {
    name: 'P8FS_NATS_CREDS',
    aliases: ['P8FS_NATS_CREDENTIALS'],
    schema: existingFile,
    meaning:
      'NATS credentials file (`.creds`: user JWT and nkey seed, as `nsc` writes it) instead of a user or token',
  },
  tls: {
    name: 'P8FS_NATS_TLS',
    schema: flag,
    fallback: 'false',
    meaning: 'require TLS to NATS (also on with a `tls://` URL or any `P8FS_NATS_TLS_*` file)',
  },
  tlsCa: {
    name: 'P8FS_NATS_TLS_CA',
    schema: existingFile,
    meaning: "CA certificate (PEM) that signed the NATS server's certificate, when not a public CA",
  },
  tlsCert: {
    name: 'P8FS_NATS_TLS_CERT',
    schema: existingFile,
    meaning: 'client certificate (PEM) for NATS servers that verify clients (with `P8FS_NATS_TLS_KEY`)',
  },
  tlsKey: {
    name: 'P8FS_NATS_TLS_KEY',
    schema: existingFile,
    meaning: 'private key (PEM) of `P8FS_NATS_TLS_CERT`',
  },
} as const;

export const MESSAGING_SECTION: Section = {
  title: 'NATS JetStream',
  about: 'Storage events travel on JetStream; the bridge dead-letters what it cannot route.',
  variables: declared(NATS),
};

export function readNats(r: EnvReader, monitorPort: number | undefined): NatsConfig {
  const nats = r.readAll(NATS, { monitorUrl: `http://127.0.0.1:${monitorPort ?? 8222}` });
  checkNatsAuth(r);
  return nats;
}

/** Settings that only make sense together, or not together, named as the environment spells them. */
function checkNatsAuth(r: EnvReader): void {
  const given = (v: { name: string; aliases?: readonly string[] }) =>
    [v.name, ...(v.aliases ?? [])].find((n) => r.isSet(n));
  const pair = (a: Variable<unknown>, b: Variable<unknown>) => {
    if (Boolean(given(a)) !== Boolean(given(b))) {
      r.problems.push(
        `${given(a) ?? given(b)} is set without ${given(a) ? b.name : a.name}: set both, or neither`,
      );
    }
  };
  pair(NATS.user, NATS.password);
  pair(NATS.tlsCert, NATS.tlsKey);
  const methods = [NATS.user, NATS.token, NATS.credsFile].map(given).filter(Boolean);
  if (methods.length > 1) {
    r.problems.push(
      `${methods.join(' and ')} are set: NATS takes one way to authenticate; unset all but one`,
    );
  }
}
