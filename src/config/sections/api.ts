/** The HTTP API, `p8fs api` (src/api): where it listens and how it hands out download links. */
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { byteSize, flag, httpUrl, intBetween, ipAddress, nonNegativeInt, port } from '../schema.js';
import { declared, type Section } from '../variable.js';
import { isPlaceholderSecret } from './storage.js';

export interface ApiConfig {
  /** P8FS_API_PORT: where `p8fs api` listens (default 8080). */
  port: number;
  /** P8FS_API_HOST: the address it binds (default 127.0.0.1; 0.0.0.0 in a container). */
  host: string;
  /** P8FS_API_METRICS_PORT: the API's /metrics, apart from the public port (default 0 = off; the manifests set 9464). */
  metricsPort: number;
  /** P8FS_API_METRICS_HOST: the address the metrics endpoint binds (default 127.0.0.1). */
  metricsHost: string;
  /** P8FS_API_PRESIGN_SECONDS: how long a presigned download URL stays valid (default 900, at most 7 days). */
  presignSeconds: number;
  /**
   * P8FS_API_PUBLIC_S3_ENDPOINT: the S3 address clients of the API can reach, used in download URLs when
   * it differs from P8FS_SEAWEEDFS_ENDPOINT (e.g. http://seaweedfs:8333 inside docker compose).
   */
  publicS3Endpoint?: string;
  /**
   * P8FS_API_UPLOAD_SECRET: the key that signs resumable upload ids (HMAC-SHA256, bound to tenant, key and
   * S3 upload). Unset: derived from P8FS_S3_SECRET_KEY, which every API replica already shares.
   */
  uploadSecret?: string;
  /**
   * P8FS_API_BATCH_MIN_PRIORITY_KEY: the most urgent priority key a tenant may ask for a batch through the
   * API (1 first … 5); unset: P8FS_BATCH_PRIORITY, so no tenant's batch goes ahead of the default.
   */
  batchMinPriorityKey?: number;
  /** P8FS_API_BATCH_MAX_WINDOW: the largest window a tenant may ask for a batch through the API (default 64). */
  batchMaxWindow: number;
  /** P8FS_API_MAX_OPEN_UPLOADS: resumable uploads a tenant may have open at once (default 100). */
  maxOpenUploads: number;
  /** P8FS_API_BODY_LIMIT: the largest JSON body (default 16MiB); file bodies are streams and not bound by it. */
  bodyLimit: number;
  /** P8FS_API_REQUEST_TIMEOUT_SECONDS: a whole request, body included, must arrive within it (default 3600). */
  requestTimeoutSeconds: number;
  /** P8FS_API_HEADERS_TIMEOUT_SECONDS: a request's headers must arrive within it (default 30). */
  headersTimeoutSeconds: number;
  /** P8FS_API_IDLE_TIMEOUT_SECONDS: a connection silent this long is closed (default 120). */
  idleTimeoutSeconds: number;
  /** P8FS_API_KEEPALIVE_TIMEOUT_SECONDS: an idle kept-alive connection is closed after it (default 72). */
  keepAliveTimeoutSeconds: number;
  /**
   * P8FS_API_PRESIGN_ACCESS_KEY / _SECRET_KEY: a read-only S3 identity (SeaweedFS action `Read` only) that
   * signs download URLs, so a leaked URL can never be turned into a write. Unset: the S3 keys (a warning).
   */
  presignAccessKey?: string;
  presignSecretKey?: string;
  /**
   * P8FS_API_PRESIGN_PER_TENANT: sign each tenant's download URLs with an identity that reads only that
   * tenant's bucket (`p8fs-read-<tenant>`, written to the filer on first use; default true).
   */
  presignPerTenant: boolean;
  /**
   * P8FS_API_PRESIGN_IDENTITY_SECRET: the key the per-tenant identities' credentials are derived from
   * (HMAC-SHA256, nothing stored). Unset: derived from P8FS_S3_SECRET_KEY.
   */
  presignIdentitySecret?: string;
  /** P8FS_API_RATE_LIMIT: requests one API key may make per P8FS_API_RATE_WINDOW_SECONDS (default 600). */
  rateLimit: number;
  /** P8FS_API_RATE_WINDOW_SECONDS: the window of the per-key rate limit (default 60). */
  rateWindowSeconds: number;
  /** P8FS_API_AUTH_FAILURES_PER_MINUTE: unknown keys one client address may try a minute (default 30). */
  authFailuresPerMinute: number;
}

const WEEK_SECONDS = 604800;

const API = {
  port: {
    name: 'P8FS_API_PORT',
    schema: port,
    fallback: '8080',
    meaning: 'where `p8fs api` listens; a taken port is a start-up error',
  },
  metricsPort: {
    name: 'P8FS_API_METRICS_PORT',
    schema: nonNegativeInt,
    fallback: '0',
    meaning:
      'API `/metrics` (request counts and durations by route pattern, process metrics) on a port of its own, apart from the public one; 0 = off (the manifests set 9464)',
  },
  metricsHost: {
    name: 'P8FS_API_METRICS_HOST',
    schema: ipAddress,
    fallback: '127.0.0.1',
    meaning: 'address the API metrics endpoint binds (`0.0.0.0` in a container, for Prometheus)',
  },
  host: {
    name: 'P8FS_API_HOST',
    schema: ipAddress,
    fallback: '127.0.0.1',
    meaning: 'the address `p8fs api` binds (`0.0.0.0` in a container)',
  },
  presignSeconds: {
    name: 'P8FS_API_PRESIGN_SECONDS',
    schema: intBetween(1, WEEK_SECONDS),
    fallback: '900',
    meaning: "lifetime of the API's presigned download URLs (at most 7 days)",
  },
  publicS3Endpoint: {
    name: 'P8FS_API_PUBLIC_S3_ENDPOINT',
    schema: httpUrl,
    shown: '`P8FS_SEAWEEDFS_ENDPOINT`',
    meaning:
      "the S3 address put in the API's download URLs when clients reach S3 elsewhere than the API does (docs/API.md)",
  },
  uploadSecret: {
    name: 'P8FS_API_UPLOAD_SECRET',
    schema: z.string().min(16),
    shown: 'derived from `P8FS_S3_SECRET_KEY`',
    meaning:
      'signs resumable upload ids (at least 16 characters; the same on every API replica); changing it voids open upload ids',
  },
  batchMinPriorityKey: {
    name: 'P8FS_API_BATCH_MIN_PRIORITY_KEY',
    schema: intBetween(1, 5),
    shown: '`P8FS_BATCH_PRIORITY`',
    meaning:
      'the most urgent batch priority key a tenant may ask through the API (1 first … 5); a smaller one is a 400 naming the cap',
  },
  batchMaxWindow: {
    name: 'P8FS_API_BATCH_MAX_WINDOW',
    schema: intBetween(1, 1000),
    fallback: '64',
    meaning:
      'the largest batch window a tenant may ask through the API; a larger one is a 400 naming the cap',
  },
  maxOpenUploads: {
    name: 'P8FS_API_MAX_OPEN_UPLOADS',
    schema: intBetween(1, 10000),
    fallback: '100',
    meaning: 'resumable uploads one tenant may have open at once; one more is a 429',
  },
  bodyLimit: {
    name: 'P8FS_API_BODY_LIMIT',
    schema: byteSize,
    fallback: '16MiB',
    meaning:
      'the largest JSON request body (a batch key list is the largest); more is a 413. File bodies are streamed and not bound by it',
  },
  requestTimeoutSeconds: {
    name: 'P8FS_API_REQUEST_TIMEOUT_SECONDS',
    schema: intBetween(1, 86400),
    fallback: '3600',
    meaning:
      'a whole request, body included, must arrive within it or is answered 408 (a file bigger than this allows goes up as a resumable upload)',
  },
  headersTimeoutSeconds: {
    name: 'P8FS_API_HEADERS_TIMEOUT_SECONDS',
    schema: intBetween(1, 600),
    fallback: '30',
    meaning: "a request's headers must arrive within it (slow-header clients are cut off)",
  },
  idleTimeoutSeconds: {
    name: 'P8FS_API_IDLE_TIMEOUT_SECONDS',
    schema: intBetween(1, 3600),
    fallback: '120',
    meaning: 'a connection on which nothing moves for this long is closed',
  },
  keepAliveTimeoutSeconds: {
    name: 'P8FS_API_KEEPALIVE_TIMEOUT_SECONDS',
    schema: intBetween(1, 600),
    fallback: '72',
    meaning: 'an idle kept-alive connection is closed after this long',
  },
  presignAccessKey: {
    name: 'P8FS_API_PRESIGN_ACCESS_KEY',
    schema: z.string().regex(/^\S+$/, 'a key without spaces'),
    shown: '`P8FS_S3_ACCESS_KEY`',
    meaning:
      "access key of a read-only S3 identity (SeaweedFS actions `Read` only) that signs the API's download URLs; set it with P8FS_API_PRESIGN_SECRET_KEY (docs/SECURITY.md)",
  },
  presignSecretKey: {
    name: 'P8FS_API_PRESIGN_SECRET_KEY',
    schema: z.string().regex(/^\S+$/, 'a key without spaces'),
    shown: '`P8FS_S3_SECRET_KEY`',
    meaning:
      'secret of that read-only identity; unset, download URLs are signed by the S3 admin identity (a warning at start)',
  },
  presignPerTenant: {
    name: 'P8FS_API_PRESIGN_PER_TENANT',
    schema: flag,
    fallback: 'true',
    meaning:
      "sign each tenant's download URLs with a read-only identity of its own bucket (`p8fs-read-<tenant>`, written to the filer's /etc/iam/identities on first use; SeaweedFS needs -filer.saveToFilerLimit, docs/SECURITY.md); false, or when it cannot be written, the shared identity above signs them",
  },
  presignIdentitySecret: {
    name: 'P8FS_API_PRESIGN_IDENTITY_SECRET',
    schema: z.string().min(16),
    shown: 'derived from `P8FS_S3_SECRET_KEY`',
    meaning:
      "the key each tenant's read-only identity's credentials are derived from (HMAC-SHA256; at least 16 characters; the same on every API replica); changing it rewrites each identity on its next use",
  },
  rateLimit: {
    name: 'P8FS_API_RATE_LIMIT',
    schema: intBetween(1, 1_000_000),
    fallback: '600',
    meaning: 'requests one API key may make per window (per API replica); one more is a 429 with Retry-After',
  },
  rateWindowSeconds: {
    name: 'P8FS_API_RATE_WINDOW_SECONDS',
    schema: intBetween(1, 86400),
    fallback: '60',
    meaning: 'the window of P8FS_API_RATE_LIMIT',
  },
  authFailuresPerMinute: {
    name: 'P8FS_API_AUTH_FAILURES_PER_MINUTE',
    schema: intBetween(1, 100_000),
    fallback: '30',
    meaning:
      'unknown API keys one client address may present per minute; after that its requests are a 429 answered without a database query (per API replica)',
  },
} as const;

export const API_SECTION: Section = {
  title: 'HTTP API',
  about: '`p8fs api` (docs/API.md).',
  variables: declared(API),
};

export function readApi(r: EnvReader): ApiConfig {
  const api = r.readAll(API);
  if ((api.presignAccessKey === undefined) !== (api.presignSecretKey === undefined))
    r.problems.push(
      `${API.presignAccessKey.name} and ${API.presignSecretKey.name} go together: set both (the read-only identity that signs download URLs) or neither`,
    );
  if (api.presignSecretKey !== undefined && isPlaceholderSecret(api.presignSecretKey))
    r.problems.push(
      `${API.presignSecretKey.name} is a published placeholder, not a secret: set the download identity's own secret (docs/SECURITY.md)`,
    );
  if (api.presignIdentitySecret !== undefined && isPlaceholderSecret(api.presignIdentitySecret))
    r.problems.push(
      `${API.presignIdentitySecret.name} is a published placeholder, not a secret: set your own (e.g. openssl rand -hex 24) or leave it unset to derive it from P8FS_S3_SECRET_KEY (docs/SECURITY.md)`,
    );
  return api;
}
