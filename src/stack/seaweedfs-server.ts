import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../clients/s3.js';
import { type Config, portOf } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { serverBinDir } from './paths.js';
import { startDetached } from './processes.js';
import { hostOf, httpOk, LOOPBACK, type ServerSpec, stopByPidFile } from './server-spec.js';

export function seaweedServer(cfg: Config, stackDir: string): ServerSpec {
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
