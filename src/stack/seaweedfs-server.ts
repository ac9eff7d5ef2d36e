import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../clients/s3.js';
import { type Config, portOf } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { serverBinDir } from './paths.js';
import { readPid, startDetached } from './processes.js';
import { hostOf, httpOk, LOOPBACK, type ServerSpec, stopByPidFile } from './server-spec.js';

export function seaweedServer(cfg: Config, stackDir: string): ServerSpec {
  const pidFile = join(stackDir, 'run', 'seaweedfs.pid');
  const logFile = join(stackDir, 'logs', 'seaweedfs.log');
  const argsFile = join(stackDir, 'run', 'seaweedfs.args');
  return {
    name: 'seaweedfs',
    endpoints: {
      S3: cfg.s3.endpoint,
      filer: cfg.s3.filerUrl,
      master: `http://127.0.0.1:${cfg.stack.seaweedMasterPort}`,
    },
    local: LOOPBACK.has(hostOf(cfg.s3.endpoint)),
    variable: 'P8FS_SEAWEEDFS_ENDPOINT and P8FS_SEAWEEDFS_FILER',
    logFile,
    async probe() {
      const filer = await httpOk(`${cfg.s3.filerUrl}/healthz`);
      if (!filer.ok) return { ok: false, detail: `SeaweedFS filer at ${cfg.s3.filerUrl}: ${filer.detail}` };
      const s3 = createS3Client(cfg, { maxAttempts: 1 });
      try {
        await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(3000) });
        return { ok: true, detail: `SeaweedFS S3 at ${cfg.s3.endpoint} (filer ${cfg.s3.filerUrl})` };
      } catch (error) {
        return { ok: false, detail: `SeaweedFS S3 at ${cfg.s3.endpoint} unreachable (${errorText(error)})` };
      } finally {
        s3.destroy();
      }
    },
    outdated() {
      if (readPid(pidFile) === undefined) return undefined;
      const recorded = readRecorded(argsFile);
      const wanted = fingerprint(launchOf(cfg, stackDir));
      if (recorded === wanted) return undefined;
      return recorded === undefined
        ? 'it was started before its arguments were recorded'
        : 'it was started with other arguments or identities';
    },
    async start() {
      const launch = launchOf(cfg, stackDir);
      mkdirSync(launch.dataDir, { recursive: true });
      writeFileSync(launch.identitiesFile, launch.identities, { mode: 0o600 });
      startDetached({
        command: join(serverBinDir(), 'weed'),
        args: launch.args,
        logFile,
        pidFile,
        env: { ...process.env, ...launch.env },
      });
      mkdirSync(dirname(argsFile), { recursive: true });
      writeFileSync(argsFile, `${fingerprint(launch)}\n`);
    },
    stop: () => stopByPidFile(pidFile),
  };
}

/** How the stack runs SeaweedFS: its arguments, environment and identities file. */
interface Launch {
  dataDir: string;
  identitiesFile: string;
  identities: string;
  args: string[];
  env: Record<string, string>;
}

function launchOf(cfg: Config, stackDir: string): Launch {
  const dataDir = join(stackDir, 'data', 'seaweedfs');
  // Without identities SeaweedFS accepts any key; the stack always runs with credentials.
  const identitiesFile = join(stackDir, 'seaweedfs-s3.json');
  const identities = {
    identities: [
      {
        name: 'p8fs',
        credentials: [{ accessKey: cfg.s3.accessKeyId, secretKey: cfg.s3.secretAccessKey }],
        actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
      },
      // The API's download URLs are signed by a read-only identity when one is configured.
      ...(cfg.api.presignAccessKey && cfg.api.presignSecretKey
        ? [
            {
              name: 'p8fs-download',
              credentials: [{ accessKey: cfg.api.presignAccessKey, secretKey: cfg.api.presignSecretKey }],
              actions: ['Read'],
            },
          ]
        : []),
    ],
  };
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
    // Files written through the filer's HTTP port below this size are kept inside the filer's store.
    // The API writes each tenant's read-only identity to /etc/iam/identities that way, and the S3 server
    // reads an identity file only when it is stored inline (as a volume chunk it reads as empty and the
    // whole identity reload fails). S3 uploads are unaffected: the S3 server writes volume chunks itself.
    `-filer.saveToFilerLimit=${SAVE_TO_FILER_LIMIT}`,
    '-s3',
    `-s3.port=${portOf(cfg.s3.endpoint)}`,
    `-s3.config=${identitiesFile}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
  ];
  return {
    dataDir,
    identitiesFile,
    identities: JSON.stringify(identities, null, 2),
    args,
    // master.toml's [master.volume_growth] copy_1 (default 7 volumes per growth), set through the env.
    env: { WEED_MASTER_VOLUME_GROWTH_COPY_1: '1' },
  };
}

/** The filer's inline limit in bytes; docker-compose.yml passes the same (docs/SECURITY.md). */
export const SAVE_TO_FILER_LIMIT = 65536;

/**
 * A hash of everything a restart would change (identities hold secrets, so only the hash is kept): a
 * running SeaweedFS whose recorded hash differs is restarted by `stack up` rather than reused.
 */
function fingerprint(launch: Launch): string {
  return createHash('sha256')
    .update(JSON.stringify([launch.args, launch.env, launch.identities]))
    .digest('hex');
}

function readRecorded(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
