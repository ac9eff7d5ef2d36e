/**
 * Per-tenant API keys: made by `p8fs apikey create`, shown once, stored only as a sha256 hash
 * (migration 0005). A key is `p8fs_<prefix>_<secret>`: the prefix tells keys apart in `apikey list`, the
 * secret (256 random bits) is what makes it unguessable. Because keys are random, not chosen by people,
 * a fast hash is enough: a leaked table gives nothing to brute-force.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { isReservedBucket } from '../domain/storage-event.js';
import type { RefusedKeys } from './refused-keys.js';

export interface ApiKeyRow {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedApiKey extends ApiKeyRow {
  /** The whole key: printed once, never stored. */
  key: string;
}

/** The tenant a request acts for, once its key was checked. */
export interface ApiPrincipal {
  keyId: string;
  /** sha256 of the key: what the rate limit counts by. */
  keyHash: string;
  tenantId: string;
}

const KEY_FORMAT = /^p8fs_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
/** Tenants are bucket names (the storage event's `/buckets/{tenant}/…`). */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9.-]{1,62}$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function newApiKey(): { key: string; prefix: string } {
  const prefix = randomBytes(5).toString('hex').slice(0, 8);
  const key = `p8fs_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: `p8fs_${prefix}` };
}

/** Whether `key` has the shape of one of ours: anything else is refused without a database query. */
export function looksLikeApiKey(key: string): boolean {
  return KEY_FORMAT.test(key);
}

interface KeyRecord {
  id: string;
  tenant_id: string;
  name: string;
  key_prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function toRow(r: KeyRecord): ApiKeyRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    prefix: r.key_prefix,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

export async function createApiKey(pool: pg.Pool, tenantId: string, name = ''): Promise<CreatedApiKey> {
  if (!TENANT_PATTERN.test(tenantId))
    throw new Error(
      `tenant ${JSON.stringify(tenantId)} is not a valid tenant (bucket) name: lower-case letters, digits, . and -, 2 to 63 characters`,
    );
  if (isReservedBucket(tenantId))
    throw new Error(`${tenantId} is a bucket of P8FS itself (p8fs-…), never a tenant`);
  const { key, prefix } = newApiKey();
  const inserted = await pool.query<KeyRecord>(
    `INSERT INTO api_keys (id, tenant_id, name, key_prefix, key_hash) VALUES ($1, $2, $3, $4, $5)
     RETURNING id, tenant_id, name, key_prefix, created_at, last_used_at, revoked_at`,
    [randomUUID(), tenantId, name, prefix, hashApiKey(key)],
  );
  return { ...toRow(inserted.rows[0] as KeyRecord), key };
}

export async function listApiKeys(
  pool: pg.Pool,
  options: { tenantId?: string; includeRevoked?: boolean } = {},
): Promise<ApiKeyRow[]> {
  const listed = await pool.query<KeyRecord>(
    `SELECT id, tenant_id, name, key_prefix, created_at, last_used_at, revoked_at FROM api_keys
     WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2 OR revoked_at IS NULL)
     ORDER BY tenant_id, created_at`,
    [options.tenantId ?? null, options.includeRevoked ?? false],
  );
  return listed.rows.map(toRow);
}

/**
 * Revokes the key with this id or prefix (`p8fs_ab12cd34`); returns the revoked rows (empty: none
 * matched, or it was revoked before). A prefix matching several keys revokes none and throws.
 */
export async function revokeApiKey(pool: pg.Pool, idOrPrefix: string): Promise<ApiKeyRow[]> {
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
  const column = byId ? 'id' : 'key_prefix';
  const matching = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM api_keys WHERE ${column} = $1 AND revoked_at IS NULL`,
    [idOrPrefix],
  );
  if ((matching.rows[0]?.n ?? 0) > 1)
    throw new Error(`${idOrPrefix} matches several keys: revoke by id (see \`p8fs apikey list\`)`);
  const revoked = await pool.query<KeyRecord>(
    `UPDATE api_keys SET revoked_at = now() WHERE ${column} = $1 AND revoked_at IS NULL
     RETURNING id, tenant_id, name, key_prefix, created_at, last_used_at, revoked_at`,
    [idOrPrefix],
  );
  return revoked.rows.map(toRow);
}

/**
 * The principal of a valid, unrevoked key; undefined for anything else. Refused keys cost no query: a
 * key not of our format never reaches the database, a refused one is remembered in `refused`.
 */
export async function authenticateApiKey(
  pool: pg.Pool,
  key: string,
  refused?: RefusedKeys,
): Promise<ApiPrincipal | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const keyHash = hashApiKey(key);
  if (refused?.has(keyHash)) return undefined;
  const found = await pool.query<{ id: string; tenant_id: string }>(
    'SELECT id, tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [keyHash],
  );
  const row = found.rows[0];
  if (!row) {
    refused?.add(keyHash);
    return undefined;
  }
  // At most one write per key and minute, not one per request; a failure here must not fail the request.
  pool
    .query(
      `UPDATE api_keys SET last_used_at = now()
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [row.id],
    )
    .catch(() => undefined);
  return { keyId: row.id, keyHash, tenantId: row.tenant_id };
}
