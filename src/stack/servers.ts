/**
 * The four real servers of the local stack: how to probe each one, and how to start it from the pinned
 * binaries when it is not already running at the configured address. A server that answers its probe is
 * reused as it is, whoever started it, unless it is outdated (ServerSpec.outdated: a SeaweedFS this stack
 * folder started with other arguments, restarted by `stack up`).
 */
import type { Config } from '../config/config.js';
import { natsServer } from './nats-server.js';
import { type PostgresServerOptions, postgresServer } from './postgres-server.js';
import { seaweedServer } from './seaweedfs-server.js';
import type { ServerSpec } from './server-spec.js';
import { temporalServer } from './temporal-server.js';

export type { Probe, ServerName, ServerSpec } from './server-spec.js';
export { temporalDevServerArgs } from './temporal-server.js';

export function stackServers(
  cfg: Config,
  stackDir: string,
  options: PostgresServerOptions = {},
): ServerSpec[] {
  return [
    postgresServer(cfg, stackDir, options),
    natsServer(cfg, stackDir),
    seaweedServer(cfg, stackDir),
    temporalServer(cfg, stackDir),
  ];
}
