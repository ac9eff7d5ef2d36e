/**
 * A `--wait` whose task queue no worker polls says so within seconds, naming the commands that start
 * one, instead of waiting in silence: `p8fs dream start --wait` on a queue of its own (no worker) on the
 * test stack's Temporal. Errors about servers that do not answer name `p8fs stack up` and the variable.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/clients/nats.js';
import { connectClient } from '../../src/clients/postgres.js';
import { loadConfig } from '../../src/config/config.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { startCli } from '../support/cli.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { freePort } from '../support/ports.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('nopoller');
const cfg = loadConfig(env);
const workflowId = `dream/${uniqueTenant('nopoller')}/no-worker`;

afterAll(async () => {
  // The run waits on a queue nobody polls: end it, so it does not linger in the test stack's Temporal.
  const temporal = await connectTemporal(cfg);
  await temporal.workflow
    .getHandle(workflowId)
    .terminate('no-poller test done')
    .catch(() => undefined);
  await temporal.connection.close();
});

describe('no worker polls the task queue', () => {
  // dream start claims a slot of the tenant's LLM cap in PostgreSQL before it starts the run; the
  // database is dropped again for the next part, which needs it missing.
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = await createTestDatabase(cfg);
  });
  afterAll(async () => {
    await dropTestDatabase(cfg, pool);
  });
  it('dream start --wait warns within seconds, naming p8fs stack up and p8fs dreaming-worker', async () => {
    const cli = startCli(
      ['dream', 'start', '--tenant', 'tenant-nopoller', '--wait', '--workflow-id', workflowId],
      env,
    );
    try {
      await cli.waitFor(/waiting…/, 60_000);
      const waiting = Date.now();
      await cli.waitFor(/warning: no worker polls task queue/, 15_000);
      const seconds = (Date.now() - waiting) / 1000;
      expect(seconds).toBeLessThan(8);
      const queue = `${cfg.temporal.taskQueuePrefix}-llm`;
      expect(cli.output()).toContain(
        `warning: no worker polls task queue ${queue}, so nothing runs until one does: start one with \`p8fs stack up\` (local) or \`p8fs dreaming-worker\``,
      );
    } finally {
      cli.child.kill('SIGINT');
      await cli.exited;
    }
  }, 90_000);
});

describe('a server that does not answer', () => {
  it('is named with `p8fs stack up` and the variable that points at it', async () => {
    const [temporal, nats, pg] = await Promise.all([freePort(), freePort(), freePort()]);
    const dead = loadConfig({
      TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
      P8FS_NATS_URL: `nats://127.0.0.1:${nats}`,
      P8FS_PG_PORT: String(pg),
    });
    const hint = (variable: string) =>
      `start the local stack with \`p8fs stack up\`, or set ${variable} to a server that runs`;
    await expect(connectTemporal(dead)).rejects.toThrow(hint('TEMPORAL_ADDRESS'));
    await expect(connectNats(dead, 'test')).rejects.toThrow(hint('P8FS_NATS_URL'));
    await expect(connectClient(dead)).rejects.toThrow(hint('P8FS_PG_HOST and P8FS_PG_PORT'));
    // The server answers but has no such database: `p8fs migrate` creates it.
    await expect(connectClient(cfg)).rejects.toThrow(
      /database "t_nopoller\w+" does not exist; run `p8fs migrate` \(or `p8fs stack up`\) to create it, or set P8FS_PG_DATABASE/,
    );
  });
});
