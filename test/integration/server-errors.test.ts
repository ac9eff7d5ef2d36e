/**
 * A server that is not there must be named, with its address, in the error: real connection attempts to
 * a loopback port where nothing listens.
 */
import { describe, expect, it } from 'vitest';
import { connectNats } from '../../src/clients/nats.js';
import { connectClient } from '../../src/clients/postgres.js';
import { loadConfig } from '../../src/config/config.js';
import { stackServers } from '../../src/stack/servers.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { freePort } from '../support/ports.js';

async function deadStackConfig() {
  const [temporal, nats, monitor, s3, filer, pg] = await Promise.all(Array.from({ length: 6 }, freePort));
  return loadConfig({
    TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    P8FS_NATS_URL: `nats://127.0.0.1:${nats}`,
    P8FS_NATS_MONITOR_PORT: String(monitor),
    P8FS_SEAWEEDFS_ENDPOINT: `http://127.0.0.1:${s3}`,
    P8FS_SEAWEEDFS_FILER: `http://127.0.0.1:${filer}`,
    P8FS_PG_PORT: String(pg),
    P8FS_STACK_DIR: '/nonexistent-p8fs-stack',
  });
}

describe('errors name the missing server and its address (real connection attempts)', () => {
  it('clients', async () => {
    const cfg = await deadStackConfig();
    await expect(connectTemporal(cfg)).rejects.toThrow(`Temporal at ${cfg.temporal.address} unreachable`);
    await expect(connectNats(cfg, 'test')).rejects.toThrow(`NATS at ${cfg.nats.url} unreachable`);
    await expect(connectClient(cfg)).rejects.toThrow(
      `PostgreSQL at ${cfg.pg.host}:${cfg.pg.port}/${cfg.pg.database} unreachable`,
    );
  });

  it('stack probes', async () => {
    const cfg = await deadStackConfig();
    const probes = await Promise.all(
      stackServers(cfg, cfg.stack.dir).map(async (s) => [s.name, await s.probe()] as const),
    );
    const byName = Object.fromEntries(probes);
    for (const probe of Object.values(byName)) expect(probe.ok).toBe(false);
    expect(byName.temporal?.detail).toContain(`Temporal at ${cfg.temporal.address} unreachable`);
    expect(byName.nats?.detail).toContain(`NATS JetStream at ${cfg.nats.url}`);
    expect(byName.nats?.detail).toContain('unreachable');
    expect(byName.seaweedfs?.detail).toContain(`SeaweedFS filer at ${cfg.s3.filerUrl}`);
    expect(byName.postgres?.detail).toContain(`PostgreSQL at ${cfg.pg.host}:${cfg.pg.port}`);
  });
});
