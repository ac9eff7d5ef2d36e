/**
 * `p8fs apikey create|list|revoke`: the per-tenant keys of the HTTP API. A key is printed once, when it
 * is made; the database keeps only its hash, so a lost key is revoked and replaced, never shown again.
 */
import type { Command } from 'commander';
import type pg from 'pg';
import { type ApiKeyRow, createApiKey, listApiKeys, revokeApiKey } from '../../api/keys.js';
import { createPool } from '../../clients/postgres.js';
import { type Config, loadConfig } from '../../config/config.js';

async function withPool<T>(cfg: Config, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createPool(cfg, 1);
  try {
    const migrated = await pool.query<{ present: boolean }>(
      "SELECT to_regclass('api_keys') IS NOT NULL AS present",
    );
    if (!migrated.rows[0]?.present)
      throw new Error(`database ${cfg.pg.database} has no api_keys table yet: run \`p8fs migrate\``);
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

const when = (date: Date | null) => (date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

function printKeys(rows: ApiKeyRow[]): void {
  if (rows.length === 0) {
    console.log('no API keys');
    return;
  }
  const lines = [
    ['id', 'tenant', 'prefix', 'name', 'created', 'last used', 'revoked'],
    ...rows.map((r) => [
      r.id,
      r.tenantId,
      r.prefix,
      r.name || '-',
      when(r.createdAt),
      when(r.lastUsedAt),
      when(r.revokedAt),
    ]),
  ];
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  for (const line of lines)
    console.log(
      line
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}

const asJson = (r: ApiKeyRow) => ({
  ...r,
  createdAt: when(r.createdAt),
  lastUsedAt: r.lastUsedAt && when(r.lastUsedAt),
  revokedAt: r.revokedAt && when(r.revokedAt),
});

export function registerApikeyCommands(program: Command): void {
  const apikey = program
    .command('apikey')
    .description('API keys of the HTTP API (`p8fs api`): each key acts for one tenant only');
  apikey
    .command('create')
    .description('Make a key for a tenant and print it (once: only its hash is stored)')
    .requiredOption('--tenant <tenant>', 'the tenant (its bucket) the key acts for')
    .option('--name <name>', 'a note to tell keys apart (who or what uses it)', '')
    .option('--json', 'print one JSON object')
    .action(async (options: { tenant: string; name: string; json?: boolean }) => {
      const cfg = loadConfig();
      const created = await withPool(cfg, (pool) => createApiKey(pool, options.tenant, options.name));
      if (options.json) {
        console.log(JSON.stringify({ ...asJson(created), key: created.key }, null, 2));
        return;
      }
      console.log(created.key);
      console.error(
        `API key ${created.prefix} (id ${created.id}) for tenant ${created.tenantId}: shown once, store it now.\nUse it as "Authorization: Bearer <key>" or "X-API-Key: <key>"; revoke with \`p8fs apikey revoke ${created.id}\`.`,
      );
    });
  apikey
    .command('list')
    .description('List keys (id, tenant, prefix, name, created, last used); never the keys themselves')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--all', 'revoked keys too')
    .option('--json', 'print JSON')
    .action(async (options: { tenant?: string; all?: boolean; json?: boolean }) => {
      const cfg = loadConfig();
      const rows = await withPool(cfg, (pool) =>
        listApiKeys(pool, {
          ...(options.tenant ? { tenantId: options.tenant } : {}),
          includeRevoked: options.all ?? false,
        }),
      );
      if (options.json) console.log(JSON.stringify(rows.map(asJson), null, 2));
      else printKeys(rows);
    });
  apikey
    .command('revoke')
    .description('Revoke a key by id or prefix (p8fs_xxxxxxxx): refused at once (401) from then on')
    .argument('<id-or-prefix>', 'the key id or prefix, as `p8fs apikey list` shows them')
    .action(async (idOrPrefix: string) => {
      const cfg = loadConfig();
      const revoked = await withPool(cfg, (pool) => revokeApiKey(pool, idOrPrefix));
      if (revoked.length === 0) {
        console.error(
          `no active key ${idOrPrefix} (unknown, or revoked before): see \`p8fs apikey list --all\``,
        );
        process.exitCode = 1;
        return;
      }
      for (const r of revoked) console.log(`revoked ${r.prefix} (id ${r.id}) of tenant ${r.tenantId}`);
    });
}
