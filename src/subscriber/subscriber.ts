/**
 * `p8fs subscriber`: follows the SeaweedFS filer's metadata stream (gRPC SubscribeMetadata) below
 * /buckets and publishes one storage event per object change to the events subject, so an S3 upload
 * alone starts ingestion.
 *
 * Exactly once, end to end: each event is published with a Nats-Msg-Id derived from the filer event
 * (ts_ns + path), and the cursor (the last finished ts_ns, in NATS KV) is written only after JetStream
 * acked the publish. A crash replays from the cursor: the replayed publishes carry the same ids and are
 * dropped by JetStream's duplicate window, and past it the bridge's workflow ids (one per version) still
 * run each version once. When the filer or NATS goes away the stream is closed and opened again from the
 * cursor, with a growing delay.
 */
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../clients/nats.js';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { startHealthServer } from '../telemetry/health-server.js';
import type { Logger } from '../telemetry/logger.js';
import { createSubscriberMetrics, exposition, type SubscriberMetrics } from '../telemetry/metrics.js';
import { PROCESS_NAMES } from '../telemetry/process-names.js';
import { type Classified, classifyFilerEvent, SKIP_REASONS, type SkipReason } from './classify.js';
import { CursorStore, cursorAgeSeconds } from './cursor.js';
import {
  createFilerClient,
  type FilerClient,
  type FilerMetadataEvent,
  grpc,
  type MetadataStream,
} from './filer-client.js';

export interface SubscriberCounters {
  seen: number;
  published: number;
  /** Publishes JetStream answered as duplicates (a replay after a restart). */
  duplicates: number;
  skipped: number;
  reconnects: number;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
const PUBLISH_TIMEOUT_MS = 10_000;

/** How NATS and the filer list this subscriber: the process, and the cursor it follows (one per name). */
function clientName(cfg: Config): string {
  return `${PROCESS_NAMES.subscriber}:${cfg.subscriber.name}`;
}

export class Subscriber {
  readonly counters: SubscriberCounters = {
    seen: 0,
    published: 0,
    duplicates: 0,
    skipped: 0,
    reconnects: 0,
  };
  readonly skippedByReason = new Map<SkipReason, number>(SKIP_REASONS.map((r) => [r, 0]));
  /** Seconds between the filer logging the last handled event and its handling. */
  lagSeconds = 0;
  /** The Prometheus metrics served on /metrics (the counters above, with HELP, plus lag and connection). */
  readonly metrics: SubscriberMetrics = createSubscriberMetrics({
    lagSeconds: () => this.lagSeconds,
    filerConnected: () => this.connected(),
    skipReasons: SKIP_REASONS,
  });
  /** Tests and the demo watch what is handled. */
  onEvent?: (classified: Classified) => void;
  private cursor: string | undefined;
  private stopping = false;
  private running: Promise<void> | undefined;
  private call: MetadataStream | undefined;
  private client: FilerClient | undefined;
  private health: Server | undefined;
  private lastError: string | undefined;
  /** False between the NATS client's disconnect and reconnect: publishes wait, the cursor holds still. */
  private natsConnected = true;
  private readonly wake = new AbortController();
  private markPositioned: () => void = () => undefined;
  /** Resolves once the start position is fixed: from then on no filer change is missed. */
  readonly positioned = new Promise<void>((resolve) => {
    this.markPositioned = resolve;
  });

  private constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly store: CursorStore,
  ) {}

  static async create(cfg: Config, log: Logger): Promise<Subscriber> {
    const nc = await connectNats(cfg, clientName(cfg));
    try {
      const store = await CursorStore.open(nc, cfg.subscriber.cursorBucket, cfg.subscriber.name);
      return new Subscriber(cfg, log, nc, jetstream(nc), store);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** The ts_ns the next subscription starts after (known once started). */
  get position(): string | undefined {
    return this.cursor;
  }

  start(): void {
    const port = this.cfg.subscriber.healthPort;
    if (port > 0) this.health = this.serveHealth(port);
    void this.watchNats();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    this.call?.cancel();
    await this.running;
    this.health?.close();
    this.client?.close();
    await this.nc.drain().catch(() => undefined);
  }

  /** Follows the NATS client's own reconnection (it retries forever) so health and logs tell the truth. */
  private async watchNats(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.natsConnected = false;
        this.log.warn({ server: status.server }, 'NATS disconnected: publishing paused, reconnecting');
      } else if (status.type === 'reconnect') {
        this.natsConnected = true;
        this.log.info({ server: status.server }, 'NATS reconnected: publishing resumes from the cursor');
      }
    }
  }

  private async loop(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    while (!this.stopping) {
      const before = this.counters.seen;
      try {
        await this.follow();
        if (!this.stopping) throw new Error('the filer ended the metadata stream');
      } catch (error) {
        if (this.stopping) break;
        this.lastError = errorText(error);
        this.counters.reconnects += 1;
        this.metrics.reconnects.inc();
        if (this.counters.seen > before) backoff = MIN_BACKOFF_MS;
        this.log.warn(
          { err: this.lastError, filer: this.cfg.subscriber.filerGrpc, retryInMs: backoff },
          this.natsConnected
            ? 'filer metadata stream interrupted: resubscribing from the cursor'
            : 'cannot publish while NATS is away: resubscribing from the cursor once it is back',
        );
      } finally {
        this.call = undefined;
        this.client?.close();
        this.client = undefined;
      }
      if (this.stopping) break;
      await sleep(backoff, undefined, { signal: this.wake.signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** One subscription, from the cursor until it fails or the subscriber stops. */
  private async follow(): Promise<void> {
    if (this.cursor === undefined) {
      const stored = await this.store.read();
      this.cursor =
        stored ?? (this.cfg.subscriber.start === 'now' ? String(BigInt(Date.now()) * 1_000_000n) : '0');
      // Remember where a first start began, so a crash before the first event resumes from here.
      if (stored === undefined) await this.store.write(this.cursor);
      this.log.info({ sinceNs: this.cursor, stored: stored !== undefined }, 'subscriber cursor');
      this.markPositioned();
    }
    this.client = createFilerClient(this.cfg.subscriber.filerGrpc);
    const call = this.client.SubscribeMetadata({
      client_name: clientName(this.cfg),
      path_prefix: this.cfg.subscriber.pathPrefix,
      since_ns: this.cursor,
      // The filer tells its subscribers apart by id; a fresh one per subscription.
      client_id: Math.floor(Math.random() * 0x7fffffff),
      client_epoch: 1,
    });
    this.call = call;
    if (this.stopping) call.cancel();
    try {
      for await (const event of call as AsyncIterable<FilerMetadataEvent>) {
        await this.handle(event);
        this.lastError = undefined;
        if (this.stopping) break;
      }
    } catch (error) {
      if ((error as { code?: number }).code === grpc.status.CANCELLED && this.stopping) return;
      throw error;
    } finally {
      call.cancel();
    }
  }

  private async handle(event: FilerMetadataEvent): Promise<void> {
    this.counters.seen += 1;
    this.metrics.seen.inc();
    const classified = classifyFilerEvent(event, { reservedBuckets: [this.cfg.s3.derivedBucket] });
    const tsNs = classified.tsNs;
    if (/^\d+$/.test(tsNs) && tsNs !== '0') this.lagSeconds = cursorAgeSeconds(tsNs);
    if (classified.kind === 'skip') {
      this.counters.skipped += 1;
      this.metrics.skipped.inc();
      this.metrics.skippedByReason.inc({ reason: classified.reason });
      this.skippedByReason.set(classified.reason, (this.skippedByReason.get(classified.reason) ?? 0) + 1);
      this.log.debug({ path: classified.path, reason: classified.reason }, 'filer event skipped');
    } else {
      const ack = await this.js.publish(this.cfg.nats.eventsSubject, JSON.stringify(classified.event), {
        msgID: classified.msgId,
        timeout: PUBLISH_TIMEOUT_MS,
      });
      if (ack.duplicate) {
        this.counters.duplicates += 1;
        this.metrics.duplicates.inc();
      } else {
        this.counters.published += 1;
        this.metrics.published.inc();
      }
      this.log.info(
        {
          type: classified.event.event_type,
          path: classified.event.path,
          seq: ack.seq,
          duplicate: ack.duplicate,
        },
        'storage event published from the filer',
      );
    }
    // After the ack: a crash before this line replays the event, and its msg id makes that a no-op.
    if (/^\d+$/.test(tsNs) && BigInt(tsNs) > BigInt(this.cursor ?? '0')) {
      await this.store.write(tsNs);
      this.cursor = tsNs;
    }
    this.onEvent?.(classified);
  }

  private connected(): boolean {
    const channel = this.client?.getChannel();
    return (
      this.call !== undefined &&
      channel !== undefined &&
      channel.getConnectivityState(false) === grpc.connectivityState.READY
    );
  }

  private serveHealth(port: number): Server {
    return startHealthServer({
      port,
      log: this.log,
      health: () => {
        const filer = this.connected();
        const nats = !this.nc.isClosed() && this.natsConnected;
        const ok = !this.stopping && nats;
        return {
          ok,
          body: {
            status: this.stopping ? 'stopping' : filer && nats ? 'ok' : 'degraded',
            filer: filer ? 'subscribed' : `reconnecting${this.lastError ? `: ${this.lastError}` : ''}`,
            nats: nats ? 'connected' : this.nc.isClosed() ? 'closed' : 'reconnecting',
            cursorNs: this.cursor,
            lagSeconds: this.lagSeconds,
            counters: this.counters,
            skippedByReason: Object.fromEntries(this.skippedByReason),
          },
        };
      },
      metrics: () => exposition(this.metrics.registry),
    });
  }
}
