/**
 * The `p8fs api` process: its connections (PostgreSQL, S3, NATS, a lazy Temporal client), the server
 * listening on P8FS_API_HOST:P8FS_API_PORT, and an orderly close (in-flight requests finish first).
 * The streams are ensured at start, like every producer of ours does, so events published before the
 * first bridge runs wait in JetStream.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { connectNats } from '../clients/nats.js';
import { createPool } from '../clients/postgres.js';
import { createS3Client } from '../clients/s3.js';
import type { Config } from '../config/config.js';
import { projectRoot } from '../config/project-root.js';
import { errorText } from '../domain/errors.js';
import { ensureStreams } from '../events/streams.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { PROCESS_NAMES } from '../telemetry/process-names.js';
import { lazyTemporalClient } from '../temporal/connection.js';
import type { ApiDeps } from './deps.js';
import { createApiMetrics, instrumentApi, startApiMetricsServer } from './metrics.js';
import { TenantReadIdentities } from './read-identities.js';
import { buildApiServer } from './server.js';

export interface RunningApi {
  app: FastifyInstance;
  deps: ApiDeps;
  /** http://host:port of the listening server (the real port when P8FS_API_PORT=0). */
  url: string;
  close(): Promise<void>;
}

function packageVersion(): string {
  try {
    return String(
      (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: string }).version,
    );
  } catch {
    return '0.0.0';
  }
}

/**
 * The client that signs download URLs: the read-only identity (P8FS_API_PRESIGN_*) at the address clients
 * reach (P8FS_API_PUBLIC_S3_ENDPOINT); `s3` itself when neither is set.
 */
export function createPresignClient(cfg: Config, s3: S3Client, log?: Logger): S3Client {
  const { presignAccessKey, presignSecretKey, publicS3Endpoint } = cfg.api;
  if (!presignAccessKey || !presignSecretKey)
    log?.warn(
      'download URLs are signed by the S3 admin identity: set P8FS_API_PRESIGN_ACCESS_KEY and P8FS_API_PRESIGN_SECRET_KEY to a read-only identity (docs/SECURITY.md)',
    );
  if (!presignAccessKey && !publicS3Endpoint) return s3;
  return createS3Client({
    ...cfg,
    s3: {
      ...cfg.s3,
      endpoint: publicS3Endpoint ?? cfg.s3.endpoint,
      accessKeyId: presignAccessKey ?? cfg.s3.accessKeyId,
      secretAccessKey: presignSecretKey ?? cfg.s3.secretAccessKey,
    },
  });
}

async function connect(cfg: Config, log?: Logger): Promise<{ deps: ApiDeps; nc: NatsConnection }> {
  const pool = createPool(cfg, 10, log);
  const s3 = createS3Client(cfg);
  const presignS3 = createPresignClient(cfg, s3, log);
  let nc: NatsConnection;
  try {
    nc = await connectNats(cfg, 'p8fs-api');
  } catch (error) {
    await pool.end();
    s3.destroy();
    throw new Error(`${errorText(error)} (set P8FS_NATS_URL)`, { cause: error });
  }
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, cfg);
  const readIdentities = cfg.api.presignPerTenant
    ? new TenantReadIdentities(cfg, log ?? createLogger(cfg, PROCESS_NAMES.api))
    : undefined;
  return {
    deps: {
      cfg,
      pool,
      s3,
      presignS3,
      ...(readIdentities ? { readIdentities } : {}),
      js: jetstream(nc),
      jsm,
      temporal: lazyTemporalClient(cfg),
    },
    nc,
  };
}

export async function startApi(
  cfg: Config,
  options: { log?: Logger; port?: number; host?: string; metricsPort?: number } = {},
): Promise<RunningApi> {
  const { deps, nc } = await connect(cfg, options.log);
  const app = await buildApiServer(deps, {
    version: packageVersion(),
    ...(options.log ? { logger: options.log } : {}),
  });
  const host = options.host ?? cfg.api.host;
  const port = options.port ?? cfg.api.port;
  const metrics = createApiMetrics();
  instrumentApi(app, metrics);
  let metricsServer: Server | undefined;
  const close = async () => {
    if (metricsServer) await new Promise<void>((resolve) => metricsServer?.close(() => resolve()));
    await app.close();
    await deps.temporal.connection.close().catch(() => undefined);
    await nc.close().catch(() => undefined);
    if (deps.presignS3 !== deps.s3) deps.presignS3.destroy();
    deps.readIdentities?.close();
    deps.s3.destroy();
    await deps.pool.end();
  };
  try {
    await app.listen({ host, port });
  } catch (error) {
    await close();
    const code = (error as NodeJS.ErrnoException).code;
    const where = `P8FS_API_PORT=${port} / P8FS_API_HOST=${host}: cannot listen`;
    // Said in words, without a cause: errorText would put the cause's EADDRINUSE in front of them.
    if (code === 'EADDRINUSE') throw new Error(`${where}: the port is already in use`);
    throw new Error(`${where}: ${errorText(error)}`, { cause: error });
  }
  // The metrics port is optional for tests that start several APIs in one process (metricsPort: 0).
  const metricsPort = options.metricsPort ?? cfg.api.metricsPort;
  if (metricsPort > 0) {
    metricsServer = startApiMetricsServer(
      metrics,
      cfg.api.metricsHost,
      metricsPort,
      options.log ?? createLogger(cfg, PROCESS_NAMES.api),
    );
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { app, deps, url: `http://${shownHost}:${actualPort}`, close };
}
