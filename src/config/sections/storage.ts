/** Where files and everything derived from them live: SeaweedFS over S3, and PostgreSQL. */
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { redactUrl } from '../redact.js';
import { hostPort, httpUrl, name, port, url } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface S3Config {
  endpoint: string;
  filerUrl: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where extracted text and chunk files are written, under `<tenant>/<file id>/…`. */
  derivedBucket: string;
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

export interface StorageSettings {
  s3: S3Config;
  pg: PgConfig;
}

const LOCAL_KEYS_ONLY = 'for a loopback endpoint only';

/** The filer as a URL, or as the original P8FS and the seeds give it: `host:port` (then http). */
const filerAddress = z
  .string()
  .refine((value) => httpUrl.safeParse(value).success || hostPort.safeParse(value).success, {
    message: 'an http(s) URL or host:port (e.g. seaweedfs-filer:8888)',
  })
  .transform((value) => (value.includes('://') ? value : `http://${value}`));

/** S3 keys: no whitespace, so a pasted line break or a stray word is caught here, not by S3. */
const s3Key = z.string().regex(/^\S+$/, 'a key without spaces');

const ONLY_POSTGRES =
  'PostgreSQL is the only store built in P8FS Flows: set P8FS_PG_* or DATABASE_URL (docs/MIGRATING.md)';

/**
 * The original P8FS's TiDB settings: refused when set, since they would configure a store that is not
 * built here; silently ignoring them would leave a user believing their rows went to TiDB.
 */
const tidb = (suffix: string) => ({
  name: `P8FS_TIDB_${suffix}`,
  schema: z.string().refine(() => false, {
    message: `it unset (a TiDB store is not built; ${ONLY_POSTGRES})`,
  }),
  shown: '– (refused)',
  meaning: `the original P8FS's TiDB ${suffix.toLowerCase()}: refused when set, a TiDB store is not built`,
});

const STORAGE = {
  endpoint: {
    name: 'P8FS_SEAWEEDFS_ENDPOINT',
    // The original P8FS's own name for it; the seeds name ours.
    aliases: ['P8FS_SEAWEEDFS_S3_ENDPOINT'],
    schema: httpUrl,
    fallback: 'http://127.0.0.1:8333',
    meaning: 'S3 API',
  },
  filerUrl: {
    name: 'P8FS_SEAWEEDFS_FILER',
    schema: filerAddress,
    fallback: 'http://127.0.0.1:8888',
    meaning:
      'filer: a URL, or `host:port` as the seeds give it (`seaweedfs-filer:8888` means `http://seaweedfs-filer:8888`)',
  },
  accessKeyId: {
    name: 'P8FS_S3_ACCESS_KEY',
    // The original P8FS's names (its settings read the unprefixed ones when the prefixed one is unset).
    aliases: ['P8FS_SEAWEEDFS_ACCESS_KEY', 'SEAWEEDFS_ACCESS_KEY'],
    schema: s3Key,
    fallback: 'p8fs-local-access',
    shown: `\`p8fs-local-access\` ${LOCAL_KEYS_ONLY}`,
    meaning: 'S3 access key; required when `P8FS_SEAWEEDFS_ENDPOINT` is not on this host',
  },
  secretAccessKey: {
    name: 'P8FS_S3_SECRET_KEY',
    aliases: ['P8FS_SEAWEEDFS_SECRET_KEY', 'SEAWEEDFS_SECRET_KEY'],
    schema: s3Key,
    fallback: 'p8fs-local-secret',
    shown: `\`p8fs-local-secret\` ${LOCAL_KEYS_ONLY}`,
    meaning: 'S3 secret key; required when `P8FS_SEAWEEDFS_ENDPOINT` is not on this host',
  },
  region: { name: 'P8FS_S3_REGION', schema: z.string().min(1), fallback: 'us-east-1', meaning: 'S3 region' },
  derivedBucket: {
    name: 'P8FS_DERIVED_BUCKET',
    schema: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,62}$/),
    fallback: 'p8fs-derived',
    meaning: 'extracted text and chunks, under `<tenant>/<file id>/<version>/`',
  },
  databaseUrl: {
    name: 'DATABASE_URL',
    schema: url(['postgres', 'postgresql']),
    meaning: 'PostgreSQL URL; wins over the `P8FS_PG_*` parts below',
  },
  pgHost: {
    name: 'P8FS_PG_HOST',
    schema: z.string().min(1),
    fallback: '127.0.0.1',
    meaning: 'PostgreSQL host',
  },
  pgPort: { name: 'P8FS_PG_PORT', schema: port, fallback: '5433', meaning: 'PostgreSQL port' },
  pgDatabase: { name: 'P8FS_PG_DATABASE', schema: name, fallback: 'p8fs', meaning: 'PostgreSQL database' },
  pgUser: {
    name: 'P8FS_PG_USER',
    schema: z.string().min(1),
    fallback: 'postgres',
    meaning: 'PostgreSQL user',
  },
  pgPassword: { name: 'P8FS_PG_PASSWORD', schema: z.string(), fallback: '', meaning: 'PostgreSQL password' },
  // The original P8FS chose its store with this; PostgreSQL is the only one built here.
  storageProvider: {
    name: 'P8FS_STORAGE_PROVIDER',
    schema: z.enum(['postgresql', 'postgres'], { error: `postgresql (${ONLY_POSTGRES})` }),
    fallback: 'postgresql',
    meaning:
      "the original P8FS's choice of store: `postgresql` (or `postgres`) accepted; `tidb` and `rocksdb` refused, as they are not built here (docs/MIGRATING.md)",
  },
  tidbHost: tidb('HOST'),
  tidbPort: tidb('PORT'),
  tidbDatabase: tidb('DATABASE'),
  tidbUser: tidb('USER'),
  tidbPassword: tidb('PASSWORD'),
} as const;

export const STORAGE_SECTION: Section = {
  title: 'Storage: SeaweedFS and PostgreSQL',
  about:
    'Files come from SeaweedFS (S3 API and filer); what is extracted from them goes to the derived bucket and PostgreSQL.',
  variables: declared(STORAGE),
};

export function readStorage(r: EnvReader): StorageSettings {
  const endpoint = r.read(STORAGE.endpoint);
  const databaseUrl = r.read(STORAGE.databaseUrl);
  const pg: PgConfig = {
    host: r.read(STORAGE.pgHost),
    port: r.read(STORAGE.pgPort),
    database: r.read(STORAGE.pgDatabase),
    user: r.read(STORAGE.pgUser),
    password: r.read(STORAGE.pgPassword) ?? '',
  };
  if (databaseUrl) pg.connectionString = databaseUrl;
  // Read for their checks only: a store other than PostgreSQL, or any TiDB setting, is refused.
  r.read(STORAGE.storageProvider);
  for (const variable of [
    STORAGE.tidbHost,
    STORAGE.tidbPort,
    STORAGE.tidbDatabase,
    STORAGE.tidbUser,
    STORAGE.tidbPassword,
  ])
    r.read(variable);
  const s3: S3Config = {
    endpoint,
    filerUrl: r.read(STORAGE.filerUrl),
    region: r.read(STORAGE.region),
    accessKeyId: r.read(STORAGE.accessKeyId),
    secretAccessKey: r.read(STORAGE.secretAccessKey),
    derivedBucket: r.read(STORAGE.derivedBucket),
  };
  requireRemoteS3Keys(r, endpoint, s3.secretAccessKey);
  return { s3, pg };
}

/** 127.0.0.0/8, localhost and ::1: the only hosts the local stack's default S3 keys are meant for. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The local stack's S3 keys are defaults for a loopback endpoint only: a remote endpoint with an unset
 * key would otherwise be tried with `p8fs-local-secret` and fail far from the cause.
 */
function requireRemoteS3Keys(r: EnvReader, endpoint: string | undefined, secret: string): void {
  if (endpoint === undefined || isLoopbackHost(new URL(endpoint).hostname)) return;
  const missing = [STORAGE.accessKeyId, STORAGE.secretAccessKey]
    .filter((v) => ![v.name, ...v.aliases].some((n) => r.isSet(n)))
    .map((v) => v.name);
  const where = `the remote S3 endpoint ${STORAGE.endpoint.name}=${JSON.stringify(redactUrl(endpoint))}`;
  if (missing.length > 0) {
    r.problems.push(
      `${missing.join(' and ')} must be set for ${where} (the local stack's default keys are used only for a loopback endpoint: 127.0.0.0/8, localhost, ::1)`,
    );
    return;
  }
  // Set explicitly to a value anyone can read in this repository is no better than unset (issue 25).
  if (isPlaceholderSecret(secret))
    r.problems.push(
      `${STORAGE.secretAccessKey.name} is a published placeholder, not a secret, and is refused for ${where}: set the deployment's own secret (e.g. openssl rand -hex 24), the same in SeaweedFS's identities (docs/SECURITY.md)`,
    );
}

/** Secrets written in this repository (local stack, deploy/ placeholders): never valid off this host. */
export const PLACEHOLDER_SECRETS: readonly string[] = ['p8fs-local-secret', 'change-me'];

export function isPlaceholderSecret(value: string): boolean {
  return PLACEHOLDER_SECRETS.includes(value);
}
