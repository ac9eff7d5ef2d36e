/**
 * `stack up` and a SeaweedFS it started earlier with other arguments (issue 25: the filer flag
 * -filer.saveToFilerLimit that per-tenant download identities need). The stack records a hash of the
 * arguments and identities it starts SeaweedFS with; a running SeaweedFS of the same stack folder whose
 * hash differs, or was never recorded (started by an older version), is restarted with its data kept,
 * so a test stack kept up across the change takes the flag up. A private stack folder and ports: the
 * shared test stack is not touched.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBucket } from '../../src/clients/object-store.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { readPid } from '../../src/stack/processes.js';
import { seaweedServer } from '../../src/stack/seaweedfs-server.js';
import { bringUp } from '../../src/stack/stack.js';
import { eventually } from '../support/pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'p8fs-weed-restart-'));
let cfg: Config;

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Four HTTP ports whose gRPC ports (+10000) are free too, below the ephemeral range. */
async function freePorts(): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 12000 + Math.floor(Math.random() * 2900);
    const ports = [base, base + 1, base + 2, base + 3];
    const all = [...ports, ...ports.map((p) => p + 10000)];
    if ((await Promise.all(all.map(isFree))).every(Boolean)) return ports;
  }
  throw new Error('no four free ports (and their +10000 gRPC ports) between 12000 and 15000');
}

const pidFile = () => join(dir, 'run', 'seaweedfs.pid');
const argsFile = () => join(dir, 'run', 'seaweedfs.args');
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

beforeAll(async () => {
  const [s3, filer, master, volume] = (await freePorts()) as [number, number, number, number];
  cfg = loadConfig({
    P8FS_STACK_DIR: dir,
    P8FS_SEAWEEDFS_ENDPOINT: `http://127.0.0.1:${s3}`,
    P8FS_SEAWEEDFS_FILER: `http://127.0.0.1:${filer}`,
    P8FS_SEAWEEDFS_MASTER_PORT: String(master),
    P8FS_SEAWEEDFS_VOLUME_PORT: String(volume),
  });
});

afterAll(async () => {
  await seaweedServer(cfg, dir).stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('stack up and a SeaweedFS started with other arguments', () => {
  it('reuses one started with the current arguments; restarts one whose recorded arguments differ or were never recorded, keeping its data', async () => {
    const lines: string[] = [];
    const say = (line: string) => lines.push(line);
    const server = seaweedServer(cfg, dir);
    expect((await bringUp(server, say)).state).toBe('started');
    const first = readPid(pidFile()) as number;
    expect(cmdline(first)).toContain('-filer.saveToFilerLimit=65536');
    const s3 = createS3Client(cfg);
    try {
      await ensureBucket(s3, 'kept');
      await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'a.txt', Body: 'kept across restarts' }));

      expect((await bringUp(server, say)).state).toBe('reused');
      expect(readPid(pidFile())).toBe(first);

      // Another version of the stack started it with other arguments.
      writeFileSync(argsFile(), 'a hash of other arguments\n');
      const restarted = await bringUp(server, say);
      expect(restarted.state).toBe('started');
      expect(lines.join('\n')).toContain(
        'restarting to take up its current arguments (it was started with other arguments',
      );
      const second = readPid(pidFile()) as number;
      expect(second).not.toBe(first);

      // A version from before the arguments were recorded (the test stack before this change).
      rmSync(argsFile());
      expect((await bringUp(server, say)).state).toBe('started');
      expect(lines.join('\n')).toContain('it was started before its arguments were recorded');
      const third = readPid(pidFile()) as number;
      expect(third).not.toBe(second);
      expect(cmdline(third)).toContain('-filer.saveToFilerLimit=65536');

      // Healthy (its S3 port lists buckets) a moment before the volume server has told the master its
      // volumes: a read right then is a 500 "volume not found", so the data is read when it settles.
      const body = await eventually(
        'the object written before the restarts to be read back',
        async () =>
          (await s3.send(new GetObjectCommand({ Bucket: 'kept', Key: 'a.txt' }))).Body?.transformToString(),
        30_000,
      );
      expect(body).toBe('kept across restarts');
      expect((await bringUp(server, say)).state).toBe('reused');
    } finally {
      s3.destroy();
    }
  }, 240_000);
});
