/**
 * Every Prometheus metric of ours, defined in one place (prom-client registries), so names, HELP texts,
 * types and labels are consistent and documented once (docs/OPERATIONS.md, "Metrics").
 *
 * Conventions: names start with `p8fs_`, counters end with `_total`, durations are in seconds and sizes
 * in bytes. No tenant, path or free-text label: their number is unbounded and would blow up the time
 * series; labels are bounded sets (tier, provider, step, reason category).
 *
 * Registries: one per bridge or subscriber instance (a test may run several in one process, each with its
 * own figures), one for the worker metrics of a process (activities record into it from anywhere), and one
 * for Node's process metrics (CPU, memory, event loop, GC) shared by whatever this process serves.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The content type of the Prometheus text exposition format (0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

let processRegistry: Registry | undefined;

/** Node's default process metrics (`process_*`, `nodejs_*`), collected once per process. */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The exposition of the process metrics followed by `registries` (their metric names are disjoint). */
export async function exposition(...registries: Registry[]): Promise<string> {
  const texts = await Promise.all([processMetrics(), ...registries].map((r) => r.metrics()));
  return texts.map((text) => (text.endsWith('\n') ? text : `${text}\n`)).join('');
}

const processInfo = new Map<string, Registry>();

/**
 * `p8fs_process_info{process="p8fs-bridge"} 1`: which process a scrape came from, by the one name it
 * logs under (process-names.ts). A registry per name, as a test process may serve several.
 */
export function processInfoExposition(name: string): Promise<string> {
  let registry = processInfo.get(name);
  if (!registry) {
    registry = new Registry();
    new Gauge({
      name: 'p8fs_process_info',
      help: 'Always 1; its process label is the name this process logs under (p8fs-bridge, p8fs-subscriber, p8fs-storage-worker, p8fs-dreaming-worker).',
      labelNames: ['process'] as const,
      registers: [registry],
    }).set({ process: name }, 1);
    processInfo.set(name, registry);
  }
  return registry.metrics();
}

// ---------------------------------------------------------------------------------------------------
// Bridge: JetStream → Temporal starts

/** Why an event went to the dead-letter queue, as a bounded label (the reason text itself is unbounded). */
export const DEAD_LETTER_REASONS = [
  'invalid_event',
  'object_missing',
  's3_refused',
  'start_rejected',
  'max_deliveries',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** The stream and consumer figures behind the lag gauges, read from JetStream at scrape time. */
export interface BridgeLag {
  streamMessages: number;
  consumerPending: number;
  consumerAckPending: number;
  consumerRedelivered: number;
  deadLetters: number;
}

export interface BridgeMetricsSources {
  /** Every ignore category: their series exist from the start (at 0), so rates work from the first event. */
  ignoreCategories: readonly string[];
  temporalUp(): boolean;
  /** Undefined when JetStream could not be asked: the gauges then read NaN (unknown), never a false 0. */
  lag(): Promise<BridgeLag | undefined>;
  /** Events delivered to the bridge and not yet settled, and the most it holds at once. */
  inFlight(): number;
  maxInFlight: number;
}

/** Creates the series of every known label value at 0, so they exist (and rates work) from the start. */
function seed<T extends string>(counter: Counter<T>, label: T, values: readonly string[]): Counter<T> {
  for (const value of values) counter.inc({ [label]: value } as Partial<Record<T, string>>, 0);
  return counter;
}

export function createBridgeMetrics(sources: BridgeMetricsSources) {
  const registry = new Registry();
  const registers = [registry];
  // One JetStream round trip per scrape, shared by the five lag gauges (collected concurrently).
  let sample: { at: number; lag: Promise<BridgeLag | undefined> } | undefined;
  const lag = (): Promise<BridgeLag | undefined> => {
    if (!sample || Date.now() - sample.at > 1000) sample = { at: Date.now(), lag: sources.lag() };
    return sample.lag;
  };
  const lagGauge = (name: string, help: string, pick: (lag: BridgeLag) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const value = await lag();
        this.set(value ? pick(value) : Number.NaN);
      },
    });
  return {
    registry,
    received: new Counter({
      name: 'p8fs_bridge_received_total',
      help: 'Storage events the bridge took from JetStream (deliveries, redeliveries included).',
      registers,
    }),
    started: new Counter({
      name: 'p8fs_bridge_started_total',
      help: 'Workflows the bridge started, by tier.',
      labelNames: ['tier'] as const,
      registers,
    }),
    deduplicated: new Counter({
      name: 'p8fs_bridge_deduplicated_total',
      help: 'Events whose workflow already existed (a redelivered or duplicated event): acked, not started again.',
      registers,
    }),
    ignored: new Counter({
      name: 'p8fs_bridge_ignored_total',
      help: 'Events acked without a workflow because nothing is to be done (all categories).',
      registers,
    }),
    ignoredByCategory: seed(
      new Counter({
        name: 'p8fs_bridge_ignored_by_category_total',
        help: 'Ignored events by category: directory, multipart-part, rename-to-itself.',
        labelNames: ['category'] as const,
        registers,
      }),
      'category',
      sources.ignoreCategories,
    ),
    deadLettered: new Counter({
      name: 'p8fs_bridge_dead_lettered_total',
      help: 'Events moved to the dead-letter queue (all reasons).',
      registers,
    }),
    deadLetteredByReason: seed(
      new Counter({
        name: 'p8fs_bridge_dead_lettered_by_reason_total',
        help: `Events moved to the dead-letter queue by reason: ${DEAD_LETTER_REASONS.join(', ')}.`,
        labelNames: ['reason'] as const,
        registers,
      }),
      'reason',
      DEAD_LETTER_REASONS,
    ),
    retried: new Counter({
      name: 'p8fs_bridge_retried_total',
      help: 'Events nak-ed for a later redelivery because something transient failed (S3 or Temporal).',
      registers,
    }),
    temporalPauses: new Counter({
      name: 'p8fs_bridge_temporal_pauses_total',
      help: 'Times the bridge paused pulling because Temporal was unreachable.',
      registers,
    }),
    inFlight: new Gauge({
      name: 'p8fs_bridge_in_flight',
      help: 'Events delivered to the bridge and not yet settled (acked, nak-ed or dead-lettered).',
      registers,
      collect() {
        this.set(sources.inFlight());
      },
    }),
    inFlightLimit: new Gauge({
      name: 'p8fs_bridge_in_flight_limit',
      help: 'The most events the bridge holds at once (P8FS_BRIDGE_MAX_IN_FLIGHT).',
      registers,
      collect() {
        this.set(sources.maxInFlight);
      },
    }),
    temporalUp: new Gauge({
      name: 'p8fs_bridge_temporal_up',
      help: '1 while Temporal accepts starts, 0 while the bridge has paused pulling because it is unreachable.',
      registers,
      collect() {
        this.set(sources.temporalUp() ? 1 : 0);
      },
    }),
    streamMessages: lagGauge(
      'p8fs_bridge_stream_messages',
      'Messages held in the storage events stream (its depth; NaN when JetStream could not be asked).',
      (l) => l.streamMessages,
    ),
    consumerPending: lagGauge(
      'p8fs_bridge_consumer_pending',
      "Events in the stream not yet delivered to the bridge's consumer (the backlog).",
      (l) => l.consumerPending,
    ),
    consumerAckPending: lagGauge(
      'p8fs_bridge_consumer_ack_pending',
      "Events delivered to the bridge's consumer and not yet acknowledged (in flight or nak-ed).",
      (l) => l.consumerAckPending,
    ),
    consumerRedelivered: lagGauge(
      'p8fs_bridge_consumer_redelivered',
      "Events the bridge's consumer has delivered more than once and not yet acknowledged.",
      (l) => l.consumerRedelivered,
    ),
    deadLetters: lagGauge(
      'p8fs_bridge_dead_letters',
      'Messages held in the dead-letter stream.',
      (l) => l.deadLetters,
    ),
  };
}

export type BridgeMetrics = ReturnType<typeof createBridgeMetrics>;

// ---------------------------------------------------------------------------------------------------
// Subscriber: SeaweedFS filer metadata stream → JetStream

export interface SubscriberMetricsSources {
  /** Every skip reason: their series exist from the start, at 0. */
  skipReasons: readonly string[];
  lagSeconds(): number;
  filerConnected(): boolean;
}

export function createSubscriberMetrics(sources: SubscriberMetricsSources) {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    seen: new Counter({
      name: 'p8fs_subscriber_seen_total',
      help: 'Filer metadata events received from the filer.',
      registers,
    }),
    published: new Counter({
      name: 'p8fs_subscriber_published_total',
      help: 'Storage events published to JetStream (new messages).',
      registers,
    }),
    duplicates: new Counter({
      name: 'p8fs_subscriber_duplicates_total',
      help: 'Publishes JetStream answered as duplicates (a replay after a restart; dropped by the message id).',
      registers,
    }),
    skipped: new Counter({
      name: 'p8fs_subscriber_skipped_total',
      help: 'Filer events that are not storage events (all reasons).',
      registers,
    }),
    skippedByReason: seed(
      new Counter({
        name: 'p8fs_subscriber_skipped_by_reason_total',
        help: 'Filer events that are not storage events, by reason.',
        labelNames: ['reason'] as const,
        registers,
      }),
      'reason',
      sources.skipReasons,
    ),
    reconnects: new Counter({
      name: 'p8fs_subscriber_reconnects_total',
      help: 'Times the filer metadata stream was opened again after it failed.',
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'p8fs_subscriber_lag_seconds',
      help: 'Seconds from the filer logging the last handled event to its handling.',
      registers,
      collect() {
        this.set(sources.lagSeconds());
      },
    }),
    filerConnected: new Gauge({
      name: 'p8fs_subscriber_filer_connected',
      help: '1 while subscribed to the filer metadata stream, else 0.',
      registers,
      collect() {
        this.set(sources.filerConnected() ? 1 : 0);
      },
    }),
  };
}

export type SubscriberMetrics = ReturnType<typeof createSubscriberMetrics>;

// ---------------------------------------------------------------------------------------------------
// Workers: activities (recorded by src/workers/metrics-interceptor.ts in the worker process)

const KiB = 1024;
/** 1 KiB … 16 GiB, ×4 per bucket: small notes to the largest tier's files. */
const BYTE_BUCKETS = Array.from({ length: 13 }, (_, i) => KiB * 4 ** i);
const PAGE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000];
const CHUNK_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 20_000, 100_000];
/** 10 ms … 1 h: a database write to a large file's extraction. */
const STEP_SECONDS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

function createWorkerMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    stepDuration: new Histogram({
      name: 'p8fs_worker_step_duration_seconds',
      help: 'Duration of one activity attempt, by step (activity type), task queue and outcome (completed, failed, cancelled).',
      labelNames: ['step', 'task_queue', 'outcome'] as const,
      buckets: STEP_SECONDS_BUCKETS,
      registers,
    }),
    filesCompleted: new Counter({
      name: 'p8fs_worker_files_completed_total',
      help: 'Files ingested (their resources stored and the files row completed), by tier and content provider.',
      labelNames: ['tier', 'provider'] as const,
      registers,
    }),
    filesFailed: new Counter({
      name: 'p8fs_worker_files_failed_total',
      help: 'Files that failed for good (files row failed, an errors row written), by tier and the provider their type maps to.',
      labelNames: ['tier', 'provider'] as const,
      registers,
    }),
    fileBytes: new Histogram({
      name: 'p8fs_worker_file_bytes',
      help: 'Size in bytes of each ingested file, by tier and provider.',
      labelNames: ['tier', 'provider'] as const,
      buckets: BYTE_BUCKETS,
      registers,
    }),
    filePages: new Histogram({
      name: 'p8fs_worker_file_pages',
      help: 'Pages of each ingested file that has pages (PDF, office documents), by provider.',
      labelNames: ['provider'] as const,
      buckets: PAGE_BUCKETS,
      registers,
    }),
    fileChunks: new Histogram({
      name: 'p8fs_worker_file_chunks',
      help: 'Chunks (resources rows) stored for each ingested file, by provider.',
      labelNames: ['provider'] as const,
      buckets: CHUNK_BUCKETS,
      registers,
    }),
    sdkMetricsUp: new Gauge({
      name: 'p8fs_worker_sdk_metrics_up',
      help: "1 when this scrape includes the Temporal SDK's worker metrics (temporal_*), 0 when its exporter did not answer.",
      registers,
    }),
    llmJobs: new Counter({
      name: 'p8fs_llm_jobs_total',
      help: 'LLM jobs finished, by type (dream_analysis, build_moments) and status (completed, skipped, failed).',
      labelNames: ['type', 'status'] as const,
      registers,
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

let workerMetricsInstance: WorkerMetrics | undefined;

/** The worker metrics of this process (storage and LLM workers share them). */
export function workerMetrics(): WorkerMetrics {
  workerMetricsInstance ??= createWorkerMetrics();
  return workerMetricsInstance;
}
