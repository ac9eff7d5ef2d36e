/**
 * A SeaweedFS server (master, volume, filer, S3) owned by one test file, for tests that stop and restart
 * the filer without touching the shared test stack's SeaweedFS other files use. Its data lives in a temp
 * folder kept across restarts; its ports are free loopback ports chosen once (gRPC ports set explicitly).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverBinDir } from '../../src/stack/paths.js';
import { logFileTail } from './cli.js';
import { freePort } from './ports.js';

export interface PrivateSeaweedfs {
  readonly s3Endpoint: string;
  readonly filerUrl: string;
  /** host:port of the filer's gRPC API. */
  readonly filerGrpc: string;
  readonly logFile: string;
  start(): Promise<void>;
  /** SIGTERM (SIGKILL after `graceMs`); resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

export async function createPrivateSeaweedfs(
  accessKeyId: string,
  secretAccessKey: string,
): Promise<PrivateSeaweedfs> {
  const dir = mkdtempSync(join(tmpdir(), 'p8fs-private-weed-'));
  const ports: number[] = [];
  while (ports.length < 8) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = ports as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const identitiesFile = join(dir, 's3.json');
  writeFileSync(
    identitiesFile,
    JSON.stringify({
      identities: [
        {
          name: 'p8fs',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
        },
      ],
    }),
  );
  const logFile = join(dir, 'weed.log');
  mkdirSync(join(dir, 'data'));
  let child: ChildProcess | undefined;
  const kill = () => child?.kill('SIGKILL');
  process.once('exit', kill);

  const weed: PrivateSeaweedfs = {
    s3Endpoint: `http://127.0.0.1:${s3}`,
    filerUrl: `http://127.0.0.1:${filer}`,
    filerGrpc: `127.0.0.1:${filerGrpc}`,
    logFile,
    async start() {
      const log = openSync(logFile, 'a');
      child = spawn(
        join(serverBinDir(), 'weed'),
        [
          'server',
          `-dir=${join(dir, 'data')}`,
          '-ip=127.0.0.1',
          '-ip.bind=127.0.0.1',
          `-master.port=${master}`,
          `-master.port.grpc=${masterGrpc}`,
          '-master.volumeSizeLimitMB=64',
          '-master.telemetry=false',
          `-volume.port=${volume}`,
          `-volume.port.grpc=${volumeGrpc}`,
          '-volume.max=50',
          '-filer',
          `-filer.port=${filer}`,
          `-filer.port.grpc=${filerGrpc}`,
          '-s3',
          `-s3.port=${s3}`,
          `-s3.port.grpc=${s3Grpc}`,
          `-s3.config=${identitiesFile}`,
          '-s3.port.iceberg=0',
          '-s3.port.lance=0',
        ],
        {
          stdio: ['ignore', log, log],
          env: { ...process.env, WEED_MASTER_VOLUME_GROWTH_COPY_1: '1' },
        },
      );
      closeSync(log);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`weed exited: ${logFileTail(logFile)}`);
        const ready = await Promise.all([
          fetch(`${weed.filerUrl}/healthz`).then(
            (r) => r.ok,
            () => false,
          ),
          fetch(`${weed.s3Endpoint}/healthz`).then(
            (r) => r.ok,
            () => false,
          ),
        ]);
        if (ready.every(Boolean)) return;
        await sleep(250);
      }
      throw new Error(`private SeaweedFS did not answer in 60 s: ${logFileTail(logFile)}`);
    },
    async stop(graceMs = 10_000) {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async destroy() {
      await weed.stop();
      process.removeListener('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return weed;
}
