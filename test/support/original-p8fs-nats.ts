/**
 * A private nats-server owned by one test file (its own free ports and store folder), and a JetStream
 * set up exactly as the original P8FS's router sets it up, so tests can check that our processes adopt a
 * running P8FS's NATS.
 *
 * What the original creates (Healer-AI/p8fs, p8fs/src/p8fs/workers/queues/tiered_router.py `setup`
 * through p8fs/src/p8fs/services/nats/client.py `ensure_stream` / `ensure_consumer`, whose defaults it
 * does not override):
 * - streams P8FS_STORAGE_EVENTS (p8fs.storage.events) and P8FS_STORAGE_EVENTS_SMALL|MEDIUM|LARGE
 *   (p8fs.storage.events.small|medium|large): WorkQueue retention, file storage, max_age 24 h,
 *   max_bytes -1, one replica, the server's default duplicate window;
 * - durable pull consumers small-workers, medium-workers, large-workers on the tier streams and the
 *   router's shared tiered-storage-router on the main stream: explicit ack, max_deliver 3, ack_wait
 *   300 s, no filter subject;
 * - the router republishes each main-stream event to its tier subject with a `routing` object added.
 * The self-test's P8FS_STORAGE_EVENTS_TEST (p8fs.storage.events.test, consumer test-workers) is not made
 * by the router; the seeds' cluster has it, so `testStream: true` adds it the same way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { type ConnectionOptions, connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { serverBinDir } from '../../src/stack/paths.js';
import { logFileTail } from './cli.js';
import { freePort } from './ports.js';

export interface PrivateNats {
  /** nats://127.0.0.1:PORT (tls:// is not used: TLS is negotiated on the same URL). */
  readonly url: string;
  readonly monitorUrl: string;
  readonly dir: string;
  readonly logFile: string;
  /** A connection to it (extra options for auth/TLS servers). */
  connect(options?: Partial<ConnectionOptions>): Promise<NatsConnection>;
  /** SIGTERM, then removes its store. */
  destroy(): Promise<void>;
}

/**
 * Starts nats-server with JetStream on free loopback ports. `config` is extra nats-server configuration
 * text (authorization, tls …) written into its config file beside the ports and store; `jetstream: false`
 * for servers that only check connections (operator mode would need a system account for JetStream).
 */
export async function startPrivateNats(
  config = '',
  options: { jetstream?: boolean } = {},
): Promise<PrivateNats> {
  const withJetstream = options.jetstream ?? true;
  const dir = mkdtempSync(join(tmpdir(), 'p8fs-private-nats-'));
  const port = await freePort();
  let monitor = await freePort();
  while (monitor === port) monitor = await freePort();
  const confFile = join(dir, 'nats.conf');
  writeFileSync(
    confFile,
    [
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${monitor}"`,
      withJetstream ? `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }` : '',
      config,
    ].join('\n'),
  );
  const logFile = join(dir, 'nats.log');
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(join(serverBinDir(), 'nats-server'), ['-c', confFile], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const monitorUrl = `http://127.0.0.1:${monitor}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`private nats-server exited: ${logFileTail(logFile)}`);
    const ok = await fetch(`${monitorUrl}/healthz${withJetstream ? '?js-enabled-only=true' : ''}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`private nats-server did not answer: ${logFileTail(logFile)}`);
    await sleep(100);
  }
  const url = `nats://127.0.0.1:${port}`;
  return {
    url,
    monitorUrl,
    dir,
    logFile,
    connect: (options = {}) => connect({ servers: url, timeout: 5000, ...options }),
    async destroy() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const ORIGINAL_MAIN_STREAM = 'P8FS_STORAGE_EVENTS';
export const ORIGINAL_MAIN_SUBJECT = 'p8fs.storage.events';
export const ORIGINAL_ROUTER_CONSUMER = 'tiered-storage-router';
export const ORIGINAL_TIERS = ['small', 'medium', 'large'] as const;
export type OriginalTier = (typeof ORIGINAL_TIERS)[number];
export const originalTierStream = (tier: OriginalTier) => `P8FS_STORAGE_EVENTS_${tier.toUpperCase()}`;
export const originalTierSubject = (tier: OriginalTier) => `p8fs.storage.events.${tier}`;
export const originalTierConsumer = (tier: OriginalTier) => `${tier}-workers`;
export const ORIGINAL_TEST_STREAM = 'P8FS_STORAGE_EVENTS_TEST';
export const ORIGINAL_TEST_SUBJECT = 'p8fs.storage.events.test';

/** client.py ensure_stream's defaults (the router passes only name and subjects). */
async function addOriginalStream(jsm: JetStreamManager, name: string, subject: string): Promise<void> {
  await jsm.streams.add({
    name,
    subjects: [subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: nanos(24 * 60 * 60 * 1000),
    max_bytes: -1,
    num_replicas: 1,
  });
}

/** client.py ensure_consumer's defaults. */
async function addOriginalConsumer(jsm: JetStreamManager, stream: string, name: string): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    max_deliver: 3,
    ack_wait: nanos(300_000),
  });
}

export interface OriginalSetup {
  /** Also the self-test's TEST stream and its test-workers consumer (default false). */
  testStream?: boolean;
  /** Leave out the router's own consumer (as after `nats consumer rm`; default false). */
  withoutRouterConsumer?: boolean;
}

/** Streams and consumers exactly as the original router's setup() leaves them. */
export async function setUpAsOriginalRouter(nc: NatsConnection, setup: OriginalSetup = {}): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await addOriginalStream(jsm, ORIGINAL_MAIN_STREAM, ORIGINAL_MAIN_SUBJECT);
  for (const tier of ORIGINAL_TIERS) {
    await addOriginalStream(jsm, originalTierStream(tier), originalTierSubject(tier));
  }
  for (const tier of ORIGINAL_TIERS) {
    await addOriginalConsumer(jsm, originalTierStream(tier), originalTierConsumer(tier));
  }
  if (!setup.withoutRouterConsumer) {
    await addOriginalConsumer(jsm, ORIGINAL_MAIN_STREAM, ORIGINAL_ROUTER_CONSUMER);
  }
  if (setup.testStream) {
    await addOriginalStream(jsm, ORIGINAL_TEST_STREAM, ORIGINAL_TEST_SUBJECT);
    await addOriginalConsumer(jsm, ORIGINAL_TEST_STREAM, 'test-workers');
  }
}

/** The event as the original router republished it to a tier subject: the event plus `routing`. */
export function originalRoutedEvent(
  event: Record<string, unknown>,
  tier: OriginalTier,
): Record<string, unknown> {
  return {
    ...event,
    routing: {
      original_subject: ORIGINAL_MAIN_SUBJECT,
      target_subject: originalTierSubject(tier),
      file_size_bytes: Number(event.size ?? event.file_size ?? 1024),
      router_id: 'local-router',
      message_count: 0,
      routing_timestamp: Date.now() / 1000,
    },
  };
}

/** Publishes as the original's producers do: plain JSON, no Nats-Msg-Id. Returns the stream sequence. */
export async function publishAsOriginal(
  nc: NatsConnection,
  subject: string,
  event: Record<string, unknown>,
): Promise<number> {
  const ack = await jetstream(nc).publish(subject, JSON.stringify(event));
  return ack.seq;
}

/**
 * A running original router as JetStream sees it: a pull request kept open on tiered-storage-router
 * (the original fetches one message with a 30 s timeout, in a loop). It takes no message while the test
 * publishes none to the main subject. Call the result to stop it.
 */
export function simulateRunningRouter(nc: NatsConnection): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    const consumer = await jetstream(nc).consumers.get(ORIGINAL_MAIN_STREAM, ORIGINAL_ROUTER_CONSUMER);
    while (running) {
      const batch = await consumer.fetch({ max_messages: 1, expires: 2000 });
      for await (const msg of batch) msg.nak();
    }
  })();
  return async () => {
    running = false;
    await loop.catch(() => undefined);
  };
}
