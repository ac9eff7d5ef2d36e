/**
 * The four real servers of the local stack: how to probe each one, and how to start it from the pinned
 * binaries when it is not already running at the configured address. A server that answers its probe is
 * reused as it is, whoever started it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { type Config, portOf } from '../config/config.js';
import { databaseName, ensureDatabase } from '../db/ensure-database.js';
import { serverBinDir } from './paths.js';
import { readPid, startDetached, stopPid } from './processes.js';

export type ServerName = 'temporal' | 'nats' | 'seaweedfs' | 'postgres';

export interface Probe {
  ok: boolean;
  detail: string;
}

export interface ServerSpec {
  name: ServerName;
  /** Addresses people use, shown by `stack status`. */
  endpoints: Record<string, string>;
  /** Only servers on this machine's loopback can be started by us; others must already run. */
  local: boolean;
  probe(): Promise<Probe>;
  start(): Promise<void>;
  stop(): Promise<boolean>;
  logFile: string;
}

export const SEARCH_ATTRIBUTES: Record<string, string> = {
  TenantId: 'Keyword',
  Tier: 'Keyword',
  FileName: 'Keyword',
  MimeType: 'Keyword',
  FileSize: 'Int',
  JobType: 'Keyword',
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function hostOf(address: string): string {
  return new URL(address.includes('://') ? address : `tcp://${address}`).hostname;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = (error as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
    return code && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message || String(code);
  }
  return String(error);
}

async function httpOk(url: string, timeoutMs = 2000): Promise<Probe> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { ok: response.ok, detail: `${url} → HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, detail: `${url} unreachable (${errorText(error)})` };
  }
}

export function pgClientConfig(cfg: Config, database?: string): pg.ClientConfig {
  if (cfg.pg.connectionString) {
    if (!database) return { connectionString: cfg.pg.connectionString };
    const url = new URL(cfg.pg.connectionString);
    url.pathname = `/${database}`;
    return { connectionString: url.toString() };
  }
  return {
    host: cfg.pg.host,
    port: cfg.pg.port,
    user: cfg.pg.user,
    password: cfg.pg.password,
    database: database ?? cfg.pg.database,
  };
}

export function pgAddress(cfg: Config): string {
  if (cfg.pg.connectionString) {
    const url = new URL(cfg.pg.connectionString);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  }
  return `${cfg.pg.host}:${cfg.pg.port}/${cfg.pg.database}`;
}

async function stopByPidFile(pidFile: string): Promise<boolean> {
  const pid = readPid(pidFile);
  if (pid === undefined) return false;
  await stopPid(pid);
  return true;
}

export interface TemporalDevServerOptions {
  port: number;
  uiPort: number;
  httpPort: number;
  metricsPort: number;
  dbFile: string;
  namespace: string;
  headless?: boolean;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Arguments of `temporal server start-dev` for our stack: loopback, SQLite (WAL), our search attributes. */
export function temporalDevServerArgs(o: TemporalDevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port)];
  args.push('--http-port', String(o.httpPort), '--metrics-port', String(o.metricsPort));
  args.push(...(o.headless ? ['--headless'] : ['--ui-port', String(o.uiPort), '--ui-disable-news-fetch']));
  args.push(
    '--db-filename',
    o.dbFile,
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
  );
  args.push('--log-level', o.logLevel ?? 'warn');
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  return args;
}

function temporalServer(cfg: Config, stackDir: string): ServerSpec {
  const address = cfg.temporal.address;
  const port = portOf(address);
  const pidFile = join(stackDir, 'run', 'temporal.pid');
  const logFile = join(stackDir, 'logs', 'temporal.log');
  return {
    name: 'temporal',
    endpoints: { gRPC: address, UI: cfg.temporal.uiUrl, namespace: cfg.temporal.namespace },
    local: LOOPBACK.has(hostOf(address)),
    logFile,
    async probe() {
      let connection: Connection | undefined;
      try {
        connection = await Connection.connect({ address, connectTimeout: 2000 });
        await connection.workflowService.describeNamespace({ namespace: cfg.temporal.namespace });
        return { ok: true, detail: `Temporal at ${address} (namespace ${cfg.temporal.namespace})` };
      } catch (error) {
        return { ok: false, detail: `Temporal at ${address} unreachable (${errorText(error)})` };
      } finally {
        await connection?.close().catch(() => undefined);
      }
    },
    async start() {
      const dataDir = join(stackDir, 'data', 'temporal');
      mkdirSync(dataDir, { recursive: true });
      const args = temporalDevServerArgs({
        port,
        uiPort: cfg.stack.temporalUiPort,
        httpPort: port + 10,
        metricsPort: port + 11,
        dbFile: join(dataDir, 'temporal.db'),
        namespace: cfg.temporal.namespace,
      });
      startDetached({ command: join(serverBinDir(), 'temporal'), args, logFile, pidFile });
    },
    stop: () => stopByPidFile(pidFile),
  };
}

function natsServer(cfg: Config, stackDir: string): ServerSpec {
  const pidFile = join(stackDir, 'run', 'nats.pid');
  const logFile = join(stackDir, 'logs', 'nats.log');
  return {
    name: 'nats',
    endpoints: { client: cfg.nats.url, monitoring: cfg.nats.monitorUrl },
    local: LOOPBACK.has(hostOf(cfg.nats.url)),
    logFile,
    async probe() {
      const result = await httpOk(`${cfg.nats.monitorUrl}/healthz?js-enabled-only=true`);
      return { ok: result.ok, detail: `NATS JetStream at ${cfg.nats.url}: ${result.detail}` };
    },
    async start() {
      const storeDir = join(stackDir, 'data', 'nats');
      mkdirSync(storeDir, { recursive: true });
      const args = [
        '-js',
        '-sd',
        storeDir,
        '-a',
        hostOf(cfg.nats.url),
        '-p',
        String(portOf(cfg.nats.url)),
        '-m',
        String(portOf(cfg.nats.monitorUrl)),
        '-n',
        'p8fs-local',
      ];
      startDetached({ command: join(serverBinDir(), 'nats-server'), args, logFile, pidFile });
    },
    stop: () => stopByPidFile(pidFile),
  };
}

function seaweedServer(cfg: Config, stackDir: string): ServerSpec {
  const pidFile = join(stackDir, 'run', 'seaweedfs.pid');
  const logFile = join(stackDir, 'logs', 'seaweedfs.log');
  return {
    name: 'seaweedfs',
    endpoints: {
      S3: cfg.s3.endpoint,
      filer: cfg.s3.filerUrl,
      master: `http://127.0.0.1:${cfg.stack.seaweedMasterPort}`,
    },
    local: LOOPBACK.has(hostOf(cfg.s3.endpoint)),
    logFile,
    async probe() {
      const filer = await httpOk(`${cfg.s3.filerUrl}/healthz`);
      if (!filer.ok) return { ok: false, detail: `SeaweedFS filer at ${cfg.s3.filerUrl}: ${filer.detail}` };
      const s3 = new S3Client({
        endpoint: cfg.s3.endpoint,
        region: cfg.s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: cfg.s3.secretAccessKey },
        maxAttempts: 1,
      });
      try {
        await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(3000) });
        return { ok: true, detail: `SeaweedFS S3 at ${cfg.s3.endpoint} (filer ${cfg.s3.filerUrl})` };
      } catch (error) {
        return { ok: false, detail: `SeaweedFS S3 at ${cfg.s3.endpoint} unreachable (${errorText(error)})` };
      } finally {
        s3.destroy();
      }
    },
    async start() {
      const dataDir = join(stackDir, 'data', 'seaweedfs');
      mkdirSync(dataDir, { recursive: true });
      // Without identities SeaweedFS accepts any key; the stack always runs with credentials.
      const identitiesFile = join(stackDir, 'seaweedfs-s3.json');
      const identities = {
        identities: [
          {
            name: 'p8fs',
            credentials: [{ accessKey: cfg.s3.accessKeyId, secretKey: cfg.s3.secretAccessKey }],
            actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
          },
        ],
      };
      writeFileSync(identitiesFile, JSON.stringify(identities, null, 2), { mode: 0o600 });
      const args = [
        'server',
        `-dir=${dataDir}`,
        '-ip=127.0.0.1',
        '-ip.bind=127.0.0.1',
        `-master.port=${cfg.stack.seaweedMasterPort}`,
        // Every bucket is a collection with volumes of its own. Growing one volume at a time (below) and a
        // fixed ceiling, rather than "free disk / volume size", keep many small buckets (tenants, tests)
        // from exhausting the volume slots. Volumes are sparse files: unused ones cost no disk.
        '-master.volumeSizeLimitMB=256',
        '-master.telemetry=false',
        `-volume.port=${cfg.stack.seaweedVolumePort}`,
        '-volume.max=2000',
        '-filer',
        `-filer.port=${portOf(cfg.s3.filerUrl)}`,
        '-s3',
        `-s3.port=${portOf(cfg.s3.endpoint)}`,
        `-s3.config=${identitiesFile}`,
        '-s3.port.iceberg=0',
        '-s3.port.lance=0',
      ];
      startDetached({
        command: join(serverBinDir(), 'weed'),
        args,
        logFile,
        pidFile,
        // master.toml's [master.volume_growth] copy_1 (default 7 volumes per growth), set through the env.
        env: { ...process.env, WEED_MASTER_VOLUME_GROWTH_COPY_1: '1' },
      });
    },
    stop: () => stopByPidFile(pidFile),
  };
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql; run `make setup`');
  }
  return join(root, versions[0] as string, 'bin');
}

/** initdb refuses to run as root: as root we run the PostgreSQL binaries as the `postgres` user. */
function runPg(binary: string, args: string[]): void {
  const full = join(postgresBinDir(), binary);
  if (process.getuid?.() === 0)
    execFileSync('runuser', ['-u', 'postgres', '--', full, ...args], { stdio: 'pipe' });
  else execFileSync(full, args, { stdio: 'pipe' });
}

function giveToPostgres(path: string): void {
  mkdirSync(path, { recursive: true });
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(path, uid, gid);
}

/**
 * Where the PostgreSQL cluster lives. As root the server runs as the `postgres` user, which cannot reach a
 * stack folder below a private directory (a clone in /root or in a mode-700 temp dir): then the cluster
 * goes to /var/tmp, in a folder named after the stack folder so each stack keeps its own.
 */
export function postgresBaseDir(stackDir: string): string {
  const inStack = join(stackDir, 'data', 'postgres');
  if (process.getuid?.() !== 0 || postgresCanReach(stackDir)) return inStack;
  return join(
    '/var/tmp',
    `p8fs-postgres-${createHash('sha256').update(stackDir).digest('hex').slice(0, 12)}`,
  );
}

function postgresCanReach(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function postgresServer(cfg: Config, stackDir: string): ServerSpec {
  const baseDir = postgresBaseDir(stackDir);
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'run');
  const logFile = join(baseDir, 'postgres.log');
  const host = cfg.pg.connectionString ? new URL(cfg.pg.connectionString).hostname : cfg.pg.host;
  const port = cfg.pg.connectionString ? Number(new URL(cfg.pg.connectionString).port || 5432) : cfg.pg.port;
  const database = databaseName(cfg);
  return {
    name: 'postgres',
    endpoints: { address: pgAddress(cfg) },
    local: LOOPBACK.has(host),
    logFile,
    async probe() {
      const client = new pg.Client({ ...pgClientConfig(cfg, 'postgres'), connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        await ensureDatabase(client, database);
        return { ok: true, detail: `PostgreSQL at ${pgAddress(cfg)}` };
      } catch (error) {
        return { ok: false, detail: `PostgreSQL at ${pgAddress(cfg)} unreachable (${errorText(error)})` };
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async start() {
      if (baseDir.startsWith(stackDir)) giveToPostgres(join(stackDir, 'data'));
      giveToPostgres(baseDir);
      giveToPostgres(socketDir);
      if (!existsSync(join(dataDir, 'PG_VERSION'))) {
        runPg('initdb', ['-D', dataDir, '-U', cfg.pg.user, '--auth=trust', '-E', 'UTF8']);
      }
      runPg('pg_ctl', [
        '-D',
        dataDir,
        '-l',
        logFile,
        '-o',
        `-p ${port} -k ${socketDir} -c listen_addresses=${host === 'localhost' ? '127.0.0.1' : host}`,
        '-w',
        'start',
      ]);
    },
    async stop() {
      if (!existsSync(join(dataDir, 'postmaster.pid'))) return false;
      runPg('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      return true;
    },
  };
}

export function stackServers(cfg: Config, stackDir: string): ServerSpec[] {
  return [
    postgresServer(cfg, stackDir),
    natsServer(cfg, stackDir),
    seaweedServer(cfg, stackDir),
    temporalServer(cfg, stackDir),
  ];
}
