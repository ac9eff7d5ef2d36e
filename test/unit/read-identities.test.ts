/**
 * The pure parts of per-tenant download identities (src/api/read-identities.ts): derived credentials,
 * the identity file's form, the settings' checks, and the cases that never reach the filer.
 */
import { describe, expect, it } from 'vitest';
import {
  identityDocument,
  identitySecret,
  TenantReadIdentities,
  tenantReadCredentials,
} from '../../src/api/read-identities.js';
import { loadConfig } from '../../src/config/config.js';
import { configProblems } from '../support/config-problems.js';

const secret = Buffer.from('a-secret-of-the-deployment-0123', 'utf8');

describe('tenant read credentials', () => {
  it('are a pure function of the secret and the tenant: the same on every call, different per tenant and per secret', () => {
    const a = tenantReadCredentials(secret, 'tenant-a');
    expect(tenantReadCredentials(secret, 'tenant-a')).toEqual(a);
    const b = tenantReadCredentials(secret, 'tenant-b');
    expect(b.accessKey).not.toBe(a.accessKey);
    expect(b.secretKey).not.toBe(a.secretKey);
    const other = tenantReadCredentials(Buffer.from('another-secret-of-the-deployment'), 'tenant-a');
    expect(other.accessKey).not.toBe(a.accessKey);
    expect(other.secretKey).not.toBe(a.secretKey);
    expect(a.accessKey).toMatch(/^P8R[0-9A-F]{17}$/);
    expect(a.secretKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('come from P8FS_API_PRESIGN_IDENTITY_SECRET when set, else from the S3 secret', () => {
    const base = { P8FS_S3_SECRET_KEY: 's3-secret-of-this-machine' };
    const derived = identitySecret(loadConfig(base));
    expect(derived).toEqual(identitySecret(loadConfig(base)));
    expect(derived).not.toEqual(identitySecret(loadConfig({ P8FS_S3_SECRET_KEY: 'another-s3-secret' })));
    const given = identitySecret(loadConfig({ ...base, P8FS_API_PRESIGN_IDENTITY_SECRET: 'x'.repeat(24) }));
    expect(given.toString('utf8')).toBe('x'.repeat(24));
  });

  it('are written in the form s3.configure writes: one identity, Read on the tenant bucket only', () => {
    const credentials = tenantReadCredentials(secret, 'tenant-a');
    expect(JSON.parse(identityDocument('tenant-a', credentials))).toEqual({
      name: 'p8fs-read-tenant-a',
      credentials: [
        { access_key: credentials.accessKey, secret_key: credentials.secretKey, status: 'Active' },
      ],
      actions: ['Read:tenant-a'],
    });
  });
});

describe('the settings', () => {
  it('refuse a placeholder or a short identity secret, and accept a flag for per-tenant identities', () => {
    expect(configProblems({ P8FS_API_PRESIGN_IDENTITY_SECRET: 'p8fs-local-secret' })).toEqual([
      expect.stringContaining('P8FS_API_PRESIGN_IDENTITY_SECRET is a published placeholder'),
    ]);
    expect(configProblems({ P8FS_API_PRESIGN_IDENTITY_SECRET: 'short' }).join('\n')).toContain(
      'P8FS_API_PRESIGN_IDENTITY_SECRET',
    );
    expect(configProblems({ P8FS_API_PRESIGN_PER_TENANT: 'maybe' }).join('\n')).toContain(
      'P8FS_API_PRESIGN_PER_TENANT',
    );
    expect(loadConfig({}).api.presignPerTenant).toBe(true);
    expect(loadConfig({ P8FS_API_PRESIGN_PER_TENANT: 'false' }).api.presignPerTenant).toBe(false);
  });
});

describe('a signer that never reaches the filer', () => {
  it('is not given for a bucket other than the tenant, or a tenant that is no bucket name', async () => {
    // A filer address nothing listens on: any request to it would fail the test with a warning.
    const cfg = loadConfig({ P8FS_SEAWEEDFS_FILER: 'http://127.0.0.1:9' });
    const warnings: string[] = [];
    const identities = new TenantReadIdentities(cfg, {
      info: () => undefined,
      warn: (_details, message) => warnings.push(message),
    });
    expect(await identities.signer('tenant-a', 'tenant-b', 'k.txt')).toBeUndefined();
    expect(await identities.signer('Tenant_A', 'Tenant_A', 'k.txt')).toBeUndefined();
    expect(await identities.signer('../etc', '../etc', 'k.txt')).toBeUndefined();
    expect(warnings).toEqual([]);
    // A real attempt does reach the filer: the unreachable one is a warning, and the shared identity signs.
    expect(await identities.signer('tenant-a', 'tenant-a', 'k.txt')).toBeUndefined();
    expect(warnings).toEqual([
      "tenant's read-only download identity is not available; the shared identity signs",
    ]);
    identities.close();
  });
});
