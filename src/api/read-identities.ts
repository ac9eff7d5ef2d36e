/**
 * Per-tenant read-only S3 identities for download URLs (issue 25): tenant T's URLs are signed by
 * `p8fs-read-T`, whose only action is `Read:T`, so a leaked URL secret reads one tenant's bucket and can
 * never write, delete or reach another tenant. Credentials are derived by HMAC from
 * P8FS_API_PRESIGN_IDENTITY_SECRET (nothing is stored; every replica derives the same ones), and the
 * identity is written to the filer at /etc/iam/identities/p8fs-read-T.json, in the form `weed shell
 * s3.configure` writes, when the tenant's first URL is signed. SeaweedFS's S3 server follows that folder
 * and takes the identity up within about a second.
 *
 * The S3 server reads an identity file only when the filer stores it inline (-filer.saveToFilerLimit);
 * stored as a volume chunk it reads as empty and the whole identity reload fails until the file is gone.
 * So the entry is checked right after the write and deleted at once if it is not inline; per-tenant
 * identities are then off for this process (the filer setting is the same for every tenant) and the
 * shared identity signs, as it does whenever the identity cannot be written or is not honoured in time.
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../clients/s3.js';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';

export interface ReadIdentityLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface ReadCredentials {
  accessKey: string;
  secretKey: string;
}

/** The folder SeaweedFS's S3 server loads run-time identities from (one JSON file per identity). */
export const IDENTITIES_FOLDER = '/etc/iam/identities';
/** Bucket names as S3 allows them: also safe in a filer path and an identity name. */
const TENANT_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** How long the S3 server may take to honour a new identity before the shared one signs instead. */
const HONOUR_TIMEOUT_MS = 10_000;
/** After a failure, the tenant's identity is tried again only after this long (the shared one signs). */
const RETRY_AFTER_MS = 60_000;
/** A ready identity is checked again after this long, so one removed from the filer is written again. */
const RECHECK_AFTER_MS = 5 * 60_000;

export function identityName(tenant: string): string {
  return `p8fs-read-${tenant}`;
}

/** The key credentials are derived from: the setting, else an HMAC of the S3 secret under a fixed label. */
export function identitySecret(cfg: Pick<Config, 'api' | 's3'>): Buffer {
  if (cfg.api.presignIdentitySecret) return Buffer.from(cfg.api.presignIdentitySecret, 'utf8');
  return createHmac('sha256', cfg.s3.secretAccessKey).update('p8fs tenant read identities v1').digest();
}

/** Tenant T's credentials: a pure function of the secret and T, so nothing has to be stored or shared. */
export function tenantReadCredentials(secret: Buffer, tenant: string): ReadCredentials {
  const mac = (label: string) => createHmac('sha256', secret).update(`${label}\0${tenant}`).digest();
  return {
    // 20 characters like an AWS access key id; P8R marks it as ours in SeaweedFS's logs.
    accessKey: `P8R${mac('access key').toString('hex').slice(0, 17).toUpperCase()}`,
    secretKey: mac('secret key').toString('base64url'),
  };
}

/** The identity file's bytes, as `s3.configure` writes them (protobuf JSON of iam_pb.Identity). */
export function identityDocument(tenant: string, credentials: ReadCredentials): string {
  return `${JSON.stringify({
    name: identityName(tenant),
    credentials: [{ access_key: credentials.accessKey, secret_key: credentials.secretKey, status: 'Active' }],
    actions: [`Read:${tenant}`],
  })}\n`;
}

/** What the filer says of an entry (`GET path?metadata=true`): inline bytes in Content, else chunks. */
interface FilerEntry {
  Content?: string | null;
  chunks?: unknown[] | null;
}

/** One tenant's identity: being prepared, or prepared until `expiresAt` (then prepared again). */
interface Slot {
  pending: Promise<S3Client | undefined>;
  expiresAt: number;
}

export class TenantReadIdentities {
  private readonly slots = new Map<string, Slot>();
  /** Signing clients by access key: the credentials are fixed, so one client per tenant serves forever. */
  private readonly clients = new Map<string, S3Client>();
  /** Why per-tenant identities are off for this process (the filer does not store them inline). */
  private off: string | undefined;
  private readonly secret: Buffer;

  constructor(
    private readonly cfg: Config,
    private readonly log: ReadIdentityLog,
    private readonly honourTimeoutMs = HONOUR_TIMEOUT_MS,
  ) {
    this.secret = identitySecret(cfg);
  }

  /**
   * The client that signs a URL of `key` in the tenant's bucket: the tenant's own identity once the S3
   * server honours it, else undefined (the caller signs with the shared identity). Concurrent first
   * downloads of one tenant share one preparation.
   */
  signer(tenant: string, bucket: string, key: string): Promise<S3Client | undefined> {
    if (this.off !== undefined || bucket !== tenant || !TENANT_BUCKET.test(tenant))
      return Promise.resolve(undefined);
    const current = this.slots.get(tenant);
    if (current && Date.now() < current.expiresAt) return current.pending;
    const slot: Slot = { pending: this.prepare(tenant, key), expiresAt: Number.POSITIVE_INFINITY };
    slot.pending = slot.pending.then((client) => {
      slot.expiresAt = Date.now() + (client ? RECHECK_AFTER_MS : RETRY_AFTER_MS);
      return client;
    });
    this.slots.set(tenant, slot);
    return slot.pending;
  }

  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private async prepare(tenant: string, key: string): Promise<S3Client | undefined> {
    const credentials = tenantReadCredentials(this.secret, tenant);
    const path = `${IDENTITIES_FOLDER}/${identityName(tenant)}.json`;
    const body = identityDocument(tenant, credentials);
    try {
      const existing = await this.entry(path);
      if (!isInline(existing, body)) {
        await this.filer('PUT', path, body);
        const stored = await this.entry(path);
        if (stored && ((stored.chunks?.length ?? 0) > 0 || !stored.Content)) {
          // Read as empty by the S3 server, it would stall every identity's reload: removed at once.
          await this.filer('DELETE', path);
          this.off = `the filer stored ${path} as a volume chunk, not inline: run SeaweedFS with -filer.saveToFilerLimit=65536 (docs/SECURITY.md)`;
          this.log.warn(
            { tenant, reason: this.off },
            'per-tenant download identities are off; the shared identity signs',
          );
          return undefined;
        }
        if (!isInline(stored, body))
          throw new Error(
            `${path} is not what was just written (removed, or another API replica with another P8FS_API_PRESIGN_IDENTITY_SECRET wrote it)`,
          );
      }
      const started = Date.now();
      await this.honoured(tenant, key, credentials);
      this.log.info(
        { tenant, identity: identityName(tenant), waitedMs: Date.now() - started },
        "tenant's read-only download identity is in use",
      );
      return this.signingClient(credentials);
    } catch (error) {
      this.log.warn(
        { tenant, reason: errorText(error), retryInSeconds: RETRY_AFTER_MS / 1000 },
        "tenant's read-only download identity is not available; the shared identity signs",
      );
      return undefined;
    }
  }

  /** Until the S3 server knows the identity: a HEAD of the object answers 200 or 404, never 403. */
  private async honoured(tenant: string, key: string, credentials: ReadCredentials): Promise<void> {
    const probe = createS3Client(
      {
        ...this.cfg,
        s3: { ...this.cfg.s3, accessKeyId: credentials.accessKey, secretAccessKey: credentials.secretKey },
      },
      { maxAttempts: 1 },
    );
    const deadline = Date.now() + this.honourTimeoutMs;
    let last = 'not tried';
    try {
      while (Date.now() < deadline) {
        const status = await probe
          .send(new HeadObjectCommand({ Bucket: tenant, Key: key }), {
            abortSignal: AbortSignal.timeout(3000),
          })
          .then(
            () => 200,
            (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode ?? 0,
          );
        if (status === 200 || status === 404) return;
        last = `HEAD answered ${status || 'no status'}`;
        await sleep(150);
      }
    } finally {
      probe.destroy();
    }
    throw new Error(
      `the S3 server did not honour ${identityName(tenant)} within ${this.honourTimeoutMs} ms (${last})`,
    );
  }

  private signingClient(credentials: ReadCredentials): S3Client {
    const known = this.clients.get(credentials.accessKey);
    if (known) return known;
    const { publicS3Endpoint } = this.cfg.api;
    const client = createS3Client({
      ...this.cfg,
      s3: {
        ...this.cfg.s3,
        endpoint: publicS3Endpoint ?? this.cfg.s3.endpoint,
        accessKeyId: credentials.accessKey,
        secretAccessKey: credentials.secretKey,
      },
    });
    this.clients.set(credentials.accessKey, client);
    return client;
  }

  private async entry(path: string): Promise<FilerEntry | undefined> {
    const response = await this.filer('GET', `${path}?metadata=true`);
    return response === undefined ? undefined : (JSON.parse(response) as FilerEntry);
  }

  /** One filer HTTP call; the body of a 2xx answer, undefined for 404. */
  private async filer(method: string, path: string, body?: string): Promise<string | undefined> {
    const url = `${this.cfg.s3.filerUrl.replace(/\/$/, '')}${path}`;
    const response = await fetch(url, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    if (response.status === 404) return undefined;
    if (!response.ok)
      throw new Error(`filer ${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
    return text;
  }
}

/** Stored inline with exactly these bytes (no volume chunks). */
function isInline(entry: FilerEntry | undefined, body: string): boolean {
  if (!entry || (entry.chunks?.length ?? 0) > 0 || !entry.Content) return false;
  return Buffer.from(entry.Content, 'base64').toString('utf8') === body;
}
