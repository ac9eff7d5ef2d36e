/** Storage workers: tier thresholds, chunking, and how a worker process runs its activities. */
import { z } from 'zod';
import { LARGE_TIER_V8_FLAGS, type Tier } from '../../domain/tiers.js';
import type { EnvReader } from '../env-reader.js';
import { byteSize, GiB, ipAddress, MiB, nonNegativeInt, positiveInt, v8Flags } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface WorkerConfig {
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
   * V8 flags `p8fs storage-worker --tier large` restarts itself with when no heap ceiling was given
   * (P8FS_WORKER_LARGE_V8_FLAGS; empty: none). See LARGE_TIER_V8_FLAGS in src/domain/tiers.ts.
   */
  largeTierV8Flags: string[];
}

export interface WorkerSettings {
  tiers: { smallMaxBytes: number; mediumMaxBytes: number };
  chunking: { maxTokens: number; overlapTokens: number };
  worker: WorkerConfig;
}

const UNITS =
  'bytes, or with a unit as Kubernetes reads them — `100MiB`, `1.5GiB`, `512Ki` (1024-based), `100MB`, `1G` (1000-based)';
// Names stay literal here: test/unit/deploy.test.ts finds the variables src/config reads by their quotes.
const concurrency = (name: string, tier: Tier, fallback: string) => ({
  name,
  schema: positiveInt,
  fallback,
  meaning: `concurrent activities of a ${tier}-tier worker`,
});

// The short names P8FS_SMALL_MAX_BYTES / P8FS_MEDIUM_MAX_BYTES are the ones people also type.
const WORKER = {
  smallMaxBytes: {
    name: 'P8FS_TIER_SMALL_MAX_BYTES',
    aliases: ['P8FS_SMALL_MAX_BYTES'],
    schema: byteSize,
    fallback: String(100 * MiB),
    shown: '100 MiB',
    meaning: `tier threshold: files up to this size are small; ${UNITS}`,
  },
  mediumMaxBytes: {
    name: 'P8FS_TIER_MEDIUM_MAX_BYTES',
    aliases: ['P8FS_MEDIUM_MAX_BYTES'],
    schema: byteSize,
    fallback: String(GiB),
    shown: '1 GiB',
    meaning: `tier threshold: bigger files up to this size are medium, bigger ones large; ${UNITS}`,
  },
  maxTokens: {
    name: 'P8FS_CHUNK_TOKENS',
    schema: positiveInt,
    fallback: '400',
    meaning: 'chunk size (cl100k_base tokens)',
  },
  overlapTokens: {
    name: 'P8FS_CHUNK_OVERLAP_TOKENS',
    schema: nonNegativeInt,
    fallback: '40',
    meaning: 'overlap of consecutive chunks (cl100k_base tokens; below `P8FS_CHUNK_TOKENS`)',
  },
  metricsPort: {
    name: 'P8FS_WORKER_METRICS_PORT',
    schema: nonNegativeInt,
    fallback: '9464',
    meaning:
      'worker `/metrics` (our worker metrics and the Temporal SDK\'s, one target; see docs/OPERATIONS.md "Metrics") and `/health` (0 = off)',
  },
  metricsHost: {
    name: 'P8FS_WORKER_METRICS_HOST',
    schema: ipAddress,
    fallback: '127.0.0.1',
    meaning:
      'address the worker metrics endpoint binds (an IP; `0.0.0.0` to expose it); a taken port is a start-up error',
  },
  shutdownGraceSeconds: {
    name: 'P8FS_WORKER_SHUTDOWN_GRACE_SECONDS',
    schema: nonNegativeInt,
    fallback: '20',
    meaning: 'on SIGINT/SIGTERM a worker drains in-flight activities this long, then cancels them and exits',
  },
  maxCachedWorkflows: {
    name: 'P8FS_WORKER_MAX_CACHED_WORKFLOWS',
    schema: nonNegativeInt,
    fallback: '100',
    meaning:
      "workflow runs a storage worker process keeps in memory between their tasks (split between the tiers it serves; `0` keeps none). The SDK's own default grows with the heap limit, to thousands; a run evicted is replayed from its short history at its next task (docs/PERFORMANCE.md)",
  },
  small: concurrency('P8FS_WORKER_CONCURRENCY_SMALL', 'small', '8'),
  medium: concurrency('P8FS_WORKER_CONCURRENCY_MEDIUM', 'medium', '2'),
  large: concurrency('P8FS_WORKER_CONCURRENCY_LARGE', 'large', '1'),
  bundle: {
    name: 'P8FS_WORKFLOW_BUNDLE',
    schema: z.enum(['prebuilt', 'source']),
    fallback: 'prebuilt',
    meaning: '`source`: bundle `src/workflows` even when `dist/workflow-bundle.js` exists',
  },
  streamMinBytes: {
    name: 'P8FS_STREAM_MIN_BYTES',
    schema: nonNegativeInt,
    fallback: String(32 * MiB),
    shown: '`33554432` (32 MiB)',
    meaning:
      'text, Markdown, JSON Lines and text-layer PDF files at least this large are extracted, chunked and stored as one resumable stream in bounded memory (docs/RELIABILITY.md); `0` streams every such file. The large-tier worker runs with a heap ceiling (`P8FS_WORKER_LARGE_V8_FLAGS`): a 1 GiB file peaked at 255 MiB (docs/RELIABILITY.md, "Memory")',
  },
  largeTierV8Flags: {
    name: 'P8FS_WORKER_LARGE_V8_FLAGS',
    schema: v8Flags,
    fallback: LARGE_TIER_V8_FLAGS,
    meaning:
      'V8 flags `p8fs storage-worker --tier large` (the large tier alone) restarts itself with, unless NODE_OPTIONS already sets a heap ceiling; empty: no restart (docs/RELIABILITY.md, "Memory")',
  },
  singleActivityMaxBytes: {
    name: 'P8FS_SINGLE_ACTIVITY_MAX_BYTES',
    schema: nonNegativeInt,
    fallback: String(8 * MiB),
    shown: '`8388608` (8 MiB)',
    meaning:
      'small-tier files up to this size (and not streamed) are registered, extracted, chunked and stored by one activity, `ingestSmallFile`, with no derived objects in S3 (docs/ARCHITECTURE.md); bigger ones take the four steps; `0` sends every file through the steps',
  },
  faultPauseExtractMs: {
    name: 'P8FS_FAULT_PAUSE_EXTRACT_MS',
    schema: nonNegativeInt,
    fallback: '0',
    meaning: 'chaos-testing aid: hold each extraction this long (heartbeating)',
  },
  faultFailExtractAttempts: {
    name: 'P8FS_FAULT_FAIL_EXTRACT_ATTEMPTS',
    schema: nonNegativeInt,
    fallback: '0',
    meaning: 'chaos-testing aid: the first N attempts of each extraction fail retryably',
  },
} as const;

export const WORKER_SECTION: Section = {
  title: 'Storage workers',
  about:
    'Which tier a file takes, how its text is chunked, and how a `p8fs storage-worker` process runs its activities. Extraction limits have their own section below.',
  variables: declared(WORKER),
};

export function readWorker(r: EnvReader): WorkerSettings {
  const smallMaxBytes = r.read(WORKER.smallMaxBytes);
  const mediumMaxBytes = r.read(WORKER.mediumMaxBytes);
  if (smallMaxBytes !== undefined && mediumMaxBytes !== undefined && smallMaxBytes >= mediumMaxBytes) {
    r.problems.push(
      `P8FS_TIER_SMALL_MAX_BYTES (${smallMaxBytes}) must be below P8FS_TIER_MEDIUM_MAX_BYTES (${mediumMaxBytes})`,
    );
  }
  const maxTokens = r.read(WORKER.maxTokens);
  const overlapTokens = r.read(WORKER.overlapTokens);
  if (maxTokens !== undefined && overlapTokens !== undefined && overlapTokens >= maxTokens) {
    r.problems.push(
      `P8FS_CHUNK_OVERLAP_TOKENS (${overlapTokens}) must be below P8FS_CHUNK_TOKENS (${maxTokens})`,
    );
  }
  return {
    tiers: { smallMaxBytes, mediumMaxBytes },
    chunking: { maxTokens, overlapTokens },
    worker: {
      metricsPort: r.read(WORKER.metricsPort),
      metricsHost: r.read(WORKER.metricsHost),
      shutdownGraceSeconds: r.read(WORKER.shutdownGraceSeconds),
      maxCachedWorkflows: r.read(WORKER.maxCachedWorkflows),
      concurrency: {
        small: r.read(WORKER.small),
        medium: r.read(WORKER.medium),
        large: r.read(WORKER.large),
      },
      bundleFromSource: r.read(WORKER.bundle) === 'source',
      faultPauseExtractMs: r.read(WORKER.faultPauseExtractMs),
      faultFailExtractAttempts: r.read(WORKER.faultFailExtractAttempts),
      streamMinBytes: r.read(WORKER.streamMinBytes),
      singleActivityMaxBytes: r.read(WORKER.singleActivityMaxBytes),
      largeTierV8Flags: r.read(WORKER.largeTierV8Flags),
    },
  };
}
