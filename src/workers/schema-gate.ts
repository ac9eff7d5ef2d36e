/**
 * A worker takes no work while its database's schema is missing or behind this code's migrations:
 * against such a schema every file would fail permanently (a missing table is not retried) and stay
 * failed after the migration. It says so, naming `p8fs migrate`, and starts polling once the schema is
 * current, so a worker started before the migration (a deployment's rollout, a test's set-up) needs no
 * restart. A database it cannot reach is not a reason to wait: activities retry until it is back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient, pgAddress } from '../clients/postgres.js';
import type { Config } from '../config/config.js';
import { schemaProblem, schemaState } from '../db/schema-version.js';
import { errorText } from '../domain/errors.js';
import type { Logger } from '../telemetry/logger.js';

const RECHECK_MS = 2000;
const REPEAT_WARNING_MS = 60_000;

/** Why the worker must not take work yet, or undefined when it may (or when the database cannot tell). */
async function notReady(cfg: Config, log: Logger): Promise<string | undefined> {
  let client: Awaited<ReturnType<typeof connectClient>>;
  try {
    client = await connectClient(cfg);
  } catch (error) {
    // The server answered without the database: only `p8fs migrate` creates it (the message says so).
    if ((error as { cause?: { code?: string } }).cause?.code === '3D000') return errorText(error);
    log.warn(
      { error: errorText(error) },
      'cannot check the database schema: taking work anyway (activities retry until PostgreSQL answers)',
    );
    return undefined;
  }
  try {
    return schemaProblem(pgAddress(cfg), await schemaState(client));
  } catch (error) {
    log.warn({ error: errorText(error) }, 'cannot read schema_migrations: taking work anyway');
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Resolves once the schema is current (at once, normally); until then logs why, naming the fix. */
export async function waitForMigratedSchema(cfg: Config, log: Logger): Promise<void> {
  let warnedAt = 0;
  for (;;) {
    const problem = await notReady(cfg, log);
    if (problem === undefined) {
      if (warnedAt > 0) log.info({ database: pgAddress(cfg) }, 'database schema is current: taking work');
      return;
    }
    if (Date.now() - warnedAt >= REPEAT_WARNING_MS) {
      log.error({ database: pgAddress(cfg) }, `refusing to take work: ${problem}; waiting for it`);
      warnedAt = Date.now();
    }
    await sleep(RECHECK_MS);
  }
}
