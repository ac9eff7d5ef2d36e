import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, portOf } from '../config/config.js';
import { serverBinDir } from './paths.js';
import { startDetached } from './processes.js';
import { hostOf, httpOk, LOOPBACK, type ServerSpec, stopByPidFile } from './server-spec.js';

export function natsServer(cfg: Config, stackDir: string): ServerSpec {
  const pidFile = join(stackDir, 'run', 'nats.pid');
  const logFile = join(stackDir, 'logs', 'nats.log');
  return {
    name: 'nats',
    endpoints: { client: cfg.nats.url, monitoring: cfg.nats.monitorUrl },
    local: LOOPBACK.has(hostOf(cfg.nats.url)),
    variable: 'P8FS_NATS_URL',
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
