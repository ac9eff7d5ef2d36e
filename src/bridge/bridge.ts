/**
 * The bridge: consumes storage events from JetStream continuously and turns each into a started (or
 * deduplicated) `ingestFile` workflow, a dead letter with its reason, or a counted ignore.
 *
 * Each event is routed as soon as it is delivered, beside the others in flight (its S3 HEAD overlaps
 * other events' starts); the pull loop asks JetStream only for as many messages as the in-flight window
 * (P8FS_BRIDGE_MAX_IN_FLIGHT) has room for, so a lone event starts at once and a backlog never grows the
 * bridge's memory beyond that window.
 *
 * It adopts the streams as it finds them (src/events/stream-adoption.ts): a P8FS_STORAGE_EVENTS the
 * original P8FS made (WorkQueue) works as it is, the original router's idle consumer makes way for ours
 * (src/events/bridge-consumer.ts), and the original's tier streams, where old producers may still
 * publish, are served beside it (./tier-streams.ts), each through its own pull loop sharing one window.
 *
 * No loss: a message is acked only after Temporal accepted the start, said it already exists, or the
 * dead letter was stored. While Temporal is unreachable the bridge naks with a delay and stops pulling,
 * so JetStream holds the backlog.
 */
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import { connectNats } from '../clients/nats.js';
import { createS3Client } from '../clients/s3.js';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { IGNORE_CATEGORIES, type IgnoreCategory } from '../domain/storage-event.js';
import { publishDeadLetter, replaysOf } from '../events/dead-letter.js';
import { startHealthServer } from '../telemetry/health-server.js';
import type { Logger } from '../telemetry/logger.js';
import {
  type BridgeLag,
  type BridgeMetrics,
  createBridgeMetrics,
  type DeadLetterReason,
  exposition,
} from '../telemetry/metrics.js';
import { PROCESS_NAMES } from '../telemetry/process-names.js';
import { annotateActiveSpan, flushTracing, startTracing, withSpan } from '../telemetry/tracing.js';
import { lazyTemporalClient } from '../temporal/connection.js';
import { DEFAULT_IGNORED_LOG_INTERVAL_MS, IgnoredEventLog } from './ignored-events.js';
import { InFlightWindow } from './in-flight.js';
import { type RouteResult, routeEvent } from './route-event.js';
import { adoptSources, type Source } from './sources.js';

export interface BridgeCounters {
  received: number;
  started: number;
  deduplicated: number;
  /** All ignored events; the three below split them by category. */
  ignored: number;
  ignoredDirectory: number;
  ignoredMultipartPart: number;
  ignoredRenameToItself: number;
  deadLettered: number;
  retried: number;
  temporalPauses: number;
}

/** Which counter holds each ignore category (flat numbers, so /metrics and sums stay simple). */
const IGNORED_COUNTER: Readonly<Record<IgnoreCategory, keyof BridgeCounters>> = {
  directory: 'ignoredDirectory',
  'multipart-part': 'ignoredMultipartPart',
  'rename-to-itself': 'ignoredRenameToItself',
};

export function zeroCounters(): BridgeCounters {
  return {
    received: 0,
    started: 0,
    deduplicated: 0,
    ignored: 0,
    ignoredDirectory: 0,
    ignoredMultipartPart: 0,
    ignoredRenameToItself: 0,
    deadLettered: 0,
    retried: 0,
    temporalPauses: 0,
  };
}

export interface BridgeOptions {
  /** At most one info line per ignore category per interval (default 10 s); the rest are counted. */
  ignoredLogIntervalMs?: number;
}

const MAX_NAK_DELAY_MS = 60_000;
// Probing Temporal is one cheap RPC: keep the pause short so the backlog resumes soon after it returns.
const MAX_PAUSE_MS = 5_000;
/** A scrape must not hang on an unreachable NATS: the lag gauges read NaN after this long. */
const LAG_TIMEOUT_MS = 2_000;
/**
 * How long one pull request waits on an empty stream. Messages are handled as they arrive, so this only
 * bounds how long stop() waits for the open request (and costs one idle request per period).
 */
const PULL_EXPIRES_MS = 1_000;
/**
 * An event still being routed tells JetStream it is in progress this often, well inside the consumer's
 * ack_wait (10 s, src/events/streams.ts): a start that hangs towards its 10 s deadline must not get its
 * message redelivered to this very bridge (now pulling beside it) as a second copy in flight.
 */
const IN_PROGRESS_EVERY_MS = 4_000;

export class Bridge {
  readonly counters: BridgeCounters = zeroCounters();
  /** The Prometheus metrics served on /metrics (the counters above, labelled, plus lag gauges). */
  readonly metrics: BridgeMetrics;
  private stopping = false;
  private temporalDownSince: number | undefined;
  private loop: Promise<void> | undefined;
  private health: Server | undefined;
  private readonly ignoredLog: IgnoredEventLog;
  private readonly window: InFlightWindow;
  /** Free places needed before the next pull: a few at a time, not one tiny pull per settled event. */
  private readonly refill: number;
  /** The most places one stream's pull may reserve, so every stream gets its turn. */
  private readonly share: number;
  /** Called after each message is settled; tests and the demo use it to follow progress. */
  onResult: (result: RouteResult, msg: { subject: string; seq: number; stream: string }) => void = () =>
    undefined;

  private constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    /** The events stream's consumer first, then any of the original's tier streams. */
    private readonly sources: Source[],
    private readonly s3: S3Client,
    private readonly temporal: Client,
    options: BridgeOptions,
  ) {
    this.ignoredLog = new IgnoredEventLog(
      log,
      options.ignoredLogIntervalMs ?? DEFAULT_IGNORED_LOG_INTERVAL_MS,
    );
    this.window = new InFlightWindow(cfg.bridge.maxInFlight);
    this.refill = Math.max(1, Math.ceil(cfg.bridge.maxInFlight / 8));
    this.share = Math.max(1, Math.ceil(cfg.bridge.maxInFlight / sources.length));
    this.metrics = createBridgeMetrics({
      ignoreCategories: IGNORE_CATEGORIES,
      temporalUp: () => this.temporalAvailable,
      lag: () => this.lag(),
      inFlight: () => this.window.size,
      maxInFlight: this.window.limit,
    });
  }

  static async create(cfg: Config, log: Logger, options: BridgeOptions = {}): Promise<Bridge> {
    const nc = await connectNats(cfg, PROCESS_NAMES.bridge);
    let jsm: JetStreamManager;
    let sources: Source[];
    try {
      jsm = await jetstreamManager(nc);
      sources = await adoptSources(nc, jsm, cfg, log);
    } catch (error) {
      await nc.close();
      throw error;
    }
    const js = jetstream(nc);
    // Off unless an OTLP endpoint is configured; before the client, whose interceptor joins our spans.
    await startTracing(cfg, PROCESS_NAMES.bridge, log);
    // Lazy: the bridge starts (and buffers in JetStream) even while Temporal is down.
    const temporal = lazyTemporalClient(cfg);
    return new Bridge(cfg, log, nc, jsm, js, sources, createS3Client(cfg), temporal, options);
  }

  start(): void {
    if (this.cfg.bridge.deprecatedBatchSize) {
      this.log.warn(
        { maxInFlight: this.cfg.bridge.maxInFlight },
        'P8FS_BRIDGE_BATCH_SIZE is deprecated: the bridge consumes continuously and reads it as P8FS_BRIDGE_MAX_IN_FLIGHT; rename the variable',
      );
    }
    if (this.cfg.bridge.healthPort > 0) this.health = this.serveHealth(this.cfg.bridge.healthPort);
    this.loop = Promise.all(this.sources.map((source) => this.pullLoop(source))).then(() => undefined);
  }

  /** Events delivered and not yet settled (acked, nak-ed or dead-lettered). */
  get inFlight(): number {
    return this.window.size;
  }

  /** The most events in flight at once since this bridge was made (never above the limit). */
  get peakInFlight(): number {
    return this.window.peak;
  }

  /**
   * Lets the open pull request run out (≤ 1 s; what it delivers is handled), finishes every event in
   * flight, then closes connections. Unacked messages stay in JetStream.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop?.catch((error) => this.log.error({ err: error }, 'bridge loop failed'));
    this.ignoredLog.flush();
    await flushTracing();
    this.health?.close();
    await this.nc.drain().catch(() => undefined);
    await this.temporal.connection.close().catch(() => undefined);
    this.s3.destroy();
  }

  get temporalAvailable(): boolean {
    return this.temporalDownSince === undefined;
  }

  private async pullLoop(source: Source): Promise<void> {
    let pauseMs = 1000;
    while (!this.stopping) {
      if (this.temporalDownSince !== undefined) {
        // Stop pulling while Temporal is away: probe it, back off, and let JetStream keep the backlog.
        await sleep(pauseMs);
        if (!(await this.temporalReachable())) {
          pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS);
          continue;
        }
        this.log.info({ downForMs: Date.now() - this.temporalDownSince }, 'Temporal is back: resuming');
        this.temporalDownSince = undefined;
        pauseMs = 1000;
      }
      // Wait for room: the pull asks for exactly the places it reserved, so the window can never overflow.
      await this.window.until(this.window.limit - Math.min(this.refill, this.share));
      if (this.stopping || this.temporalDownSince !== undefined) continue;
      const asked = Math.min(this.window.free, this.share);
      if (asked < 1) continue;
      this.window.reserve(asked);
      let left = asked;
      try {
        const pull = await source.pull.fetch({ max_messages: asked, expires: PULL_EXPIRES_MS });
        // Each message is routed the moment it arrives, without waiting for the rest of the pull.
        for await (const msg of pull) {
          left -= 1;
          this.window.claim();
          this.dispatch(msg, source);
        }
      } catch (error) {
        if (this.stopping) break;
        this.log.warn({ err: error, stream: source.stream }, 'fetching from JetStream failed; retrying');
        await sleep(1000);
      } finally {
        this.window.unreserve(left);
      }
    }
    await this.window.until(0);
  }

  private dispatch(msg: JsMsg, source: Source): void {
    const inProgress = setInterval(() => msg.working(), IN_PROGRESS_EVERY_MS);
    this.handle(msg, source)
      .catch((error) => this.log.error({ err: error, seq: msg.seq }, 'handling an event failed'))
      .finally(() => {
        clearInterval(inProgress);
        this.window.release();
      });
  }

  /** Stream depth and consumer lag from JetStream, for the gauges; undefined when it cannot be asked. */
  private async lag(): Promise<BridgeLag | undefined> {
    if (this.nc.isClosed()) return undefined;
    const timeout = sleep(LAG_TIMEOUT_MS, undefined, { ref: false }).then(() => {
      throw new Error(`no answer within ${LAG_TIMEOUT_MS} ms`);
    });
    try {
      const [stream, consumer, dlq] = await Promise.race([
        Promise.all([
          this.jsm.streams.info(this.cfg.nats.eventsStream),
          (this.sources[0] as Source).pull.info(),
          this.jsm.streams.info(this.cfg.nats.dlqStream),
        ]),
        timeout,
      ]);
      return {
        streamMessages: stream.state.messages,
        consumerPending: consumer.num_pending,
        consumerAckPending: consumer.num_ack_pending,
        consumerRedelivered: consumer.num_redelivered,
        deadLetters: dlq.state.messages,
      };
    } catch (error) {
      this.log.debug({ err: errorText(error) }, 'stream and consumer figures unavailable for /metrics');
      return undefined;
    }
  }

  private async temporalReachable(): Promise<boolean> {
    try {
      await this.temporal.withDeadline(Date.now() + 3000, () =>
        this.temporal.workflowService.getSystemInfo({}),
      );
      return true;
    } catch {
      return false;
    }
  }

  /** One span per event (route → start → settle): the workflow's trace starts here (tracing on). */
  private handle(msg: JsMsg, source: Source): Promise<void> {
    return withSpan(
      'p8fs.bridge.event',
      {
        'messaging.system': 'nats',
        'messaging.destination.name': msg.subject,
        'p8fs.stream': source.stream,
        'p8fs.stream.sequence': msg.seq,
        'p8fs.delivery_count': msg.info.deliveryCount,
      },
      () => this.handleEvent(msg, source),
    );
  }

  private async handleEvent(msg: JsMsg, from: Source): Promise<void> {
    this.counters.received += 1;
    this.metrics.received.inc();
    const source = `${from.stream}#${msg.seq}`;
    let result: RouteResult;
    try {
      result =
        this.temporalDownSince === undefined
          ? await routeEvent({ cfg: this.cfg, s3: this.s3, temporal: this.temporal }, msg.data, source)
          : {
              // Delivered by the pull that was open when Temporal went away: back to JetStream unrouted.
              kind: 'retry',
              reason: `not routed: Temporal at ${this.cfg.temporal.address} is unreachable, pulling paused`,
              temporalUnavailable: true,
            };
    } catch (error) {
      result = {
        kind: 'retry',
        reason: `routing failed: ${(error as Error).message}`,
        temporalUnavailable: false,
      };
    }
    annotateActiveSpan(
      {
        'p8fs.route.result': result.kind,
        'p8fs.workflow_id': 'workflowId' in result ? result.workflowId : undefined,
        'p8fs.tier': 'tier' in result ? result.tier : undefined,
        'p8fs.route.reason': 'reason' in result ? result.reason : undefined,
      },
      result.kind === 'rejected' || result.kind === 'retry' ? result.reason : undefined,
    );
    try {
      await this.settle(msg, result, from);
    } catch (error) {
      // Not acked: JetStream redelivers after ack_wait, and the deterministic ids make that harmless.
      this.log.error({ err: error, seq: msg.seq }, 'could not settle message; it will be redelivered');
    }
    this.onResult(result, { subject: msg.subject, seq: msg.seq, stream: from.stream });
  }

  private async settle(msg: JsMsg, result: RouteResult, from: Source): Promise<void> {
    switch (result.kind) {
      case 'started':
        this.counters.started += 1;
        this.metrics.started.inc({ tier: result.tier });
        this.log.info({ workflowId: result.workflowId, tier: result.tier, seq: msg.seq }, 'workflow started');
        await msg.ackAck();
        return;
      case 'deduplicated':
        this.counters.deduplicated += 1;
        this.metrics.deduplicated.inc();
        this.log.info(
          { workflowId: result.workflowId, seq: msg.seq },
          'duplicate event: workflow already exists',
        );
        await msg.ackAck();
        return;
      case 'ignored':
        this.counters.ignored += 1;
        this.counters[IGNORED_COUNTER[result.category]] += 1;
        this.metrics.ignored.inc();
        this.metrics.ignoredByCategory.inc({ category: result.category });
        this.ignoredLog.record(result.category, result.reason, msg.seq);
        await msg.ackAck();
        return;
      case 'rejected':
        await this.deadLetter(msg, from, result.reason, result.rejection ?? 'invalid_event');
        return;
      case 'retry': {
        const deliveries = msg.info.deliveryCount;
        if (deliveries >= from.maxDeliver) {
          await this.deadLetter(
            msg,
            from,
            `gave up after ${deliveries} deliveries: ${result.reason}`,
            'max_deliveries',
          );
          return;
        }
        if (result.temporalUnavailable && this.temporalDownSince === undefined) {
          this.temporalDownSince = Date.now();
          this.counters.temporalPauses += 1;
          this.metrics.temporalPauses.inc();
          this.log.warn(
            { reason: result.reason },
            'Temporal unavailable: pausing pulls, JetStream keeps the backlog',
          );
        }
        this.counters.retried += 1;
        this.metrics.retried.inc();
        const delay = Math.min(this.cfg.bridge.nakDelayMs * 2 ** (deliveries - 1), MAX_NAK_DELAY_MS);
        msg.nak(delay);
        return;
      }
    }
  }

  private async deadLetter(
    msg: JsMsg,
    from: Source,
    reason: string,
    category: DeadLetterReason,
  ): Promise<void> {
    await publishDeadLetter(
      this.js,
      this.cfg,
      {
        data: msg.data,
        subject: msg.subject,
        stream: from.stream,
        streamSequence: msg.seq,
        deliveryCount: msg.info.deliveryCount,
        replays: replaysOf(msg.headers),
      },
      reason,
    );
    this.counters.deadLettered += 1;
    this.metrics.deadLettered.inc();
    this.metrics.deadLetteredByReason.inc({ reason: category });
    this.log.warn({ reason, seq: msg.seq }, 'event dead-lettered');
    await msg.ackAck();
  }

  private serveHealth(port: number): Server {
    return startHealthServer({
      port,
      log: this.log,
      health: () => {
        const ok = !this.stopping && !this.nc.isClosed();
        return {
          ok,
          body: {
            status: ok ? (this.temporalAvailable ? 'ok' : 'degraded') : 'stopping',
            temporal: this.temporalAvailable ? 'up' : 'unreachable (pulling paused)',
            counters: this.counters,
          },
        };
      },
      metrics: () => exposition(this.metrics.registry),
    });
  }
}
