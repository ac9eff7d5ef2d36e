/**
 * NATS authentication and TLS against private nats-servers started with them: user and password, a token,
 * a `.creds` file (operator mode: operator, account and user JWTs signed here with nkeys, as `nsc` would
 * write them), and TLS with a CA and a client certificate made with openssl. Each connects with the
 * settings and fails without them, with a message that names the variable to set. Every process connects
 * through the same connectNats (src/clients/nats.ts), so this covers bridge, subscriber, CLI and workers.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/clients/nats.js';
import { loadConfig } from '../../src/config/config.js';
import { type PrivateNats, startPrivateNats } from '../support/original-p8fs-nats.js';

const dir = mkdtempSync(join(tmpdir(), 'p8fs-nats-auth-'));
const servers: PrivateNats[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.destroy()));
  rmSync(dir, { recursive: true, force: true });
});

async function server(config: string): Promise<PrivateNats> {
  const s = await startPrivateNats(config, { jetstream: false });
  servers.push(s);
  return s;
}

/** connectNats with these settings: 'connected', or the error's message. */
async function attempt(url: string, env: Record<string, string> = {}): Promise<string> {
  const cfg = loadConfig({ P8FS_NATS_URL: url, ...env });
  try {
    const nc = await connectNats(cfg, 'nats-auth-test');
    await nc.close();
    return 'connected';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('user and password', () => {
  let url: string;
  beforeAll(async () => {
    url = (await server('authorization { users = [{ user: p8fs, password: "s3cret pass" }] }')).url;
  });

  it('connects with P8FS_NATS_USER and P8FS_NATS_PASSWORD, and with the original name P8FS_NATS_USERNAME', async () => {
    expect(await attempt(url, { P8FS_NATS_USER: 'p8fs', P8FS_NATS_PASSWORD: 's3cret pass' })).toBe(
      'connected',
    );
    expect(await attempt(url, { P8FS_NATS_USERNAME: 'p8fs', P8FS_NATS_PASSWORD: 's3cret pass' })).toBe(
      'connected',
    );
  });

  it('fails without them, or with a wrong password, naming the variables and no secret', async () => {
    const without = await attempt(url);
    expect(without).toMatch(/refused the connection \(.*Authorization Violation.*\) with no credentials/i);
    expect(without).toContain('set P8FS_NATS_USER and P8FS_NATS_PASSWORD');
    const wrong = await attempt(url, { P8FS_NATS_USER: 'p8fs', P8FS_NATS_PASSWORD: 'wrong' });
    expect(wrong).toContain('with P8FS_NATS_USER and P8FS_NATS_PASSWORD');
    expect(wrong).not.toContain('wrong');
  });
});

describe('token', () => {
  it('connects with P8FS_NATS_TOKEN and fails without it', async () => {
    const { url } = await server('authorization { token: "t0k3n-for-p8fs" }');
    expect(await attempt(url, { P8FS_NATS_TOKEN: 't0k3n-for-p8fs' })).toBe('connected');
    expect(await attempt(url)).toContain('P8FS_NATS_TOKEN');
  });
});

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');

/** A NATS JWT (v2) with these claims, signed by `signer` (what nsc does). */
function natsJwt(
  signer: nkeys.KeyPair,
  subject: string,
  name: string,
  nats: Record<string, unknown>,
): string {
  const claims = { iat: Math.floor(Date.now() / 1000), iss: signer.getPublicKey(), name, sub: subject, nats };
  const jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url');
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const payload = b64url(JSON.stringify({ jti, ...claims }));
  const signature = signer.sign(new TextEncoder().encode(`${header}.${payload}`));
  return `${header}.${payload}.${b64url(signature)}`;
}

describe('credentials file', () => {
  it('connects with P8FS_NATS_CREDS to a server in operator mode and fails without it', async () => {
    const operator = nkeys.createOperator();
    const account = nkeys.createAccount();
    const user = nkeys.createUser();
    const unlimited = {
      subs: -1,
      data: -1,
      payload: -1,
      imports: -1,
      exports: -1,
      wildcards: true,
      conn: -1,
      leaf: -1,
    };
    const operatorJwt = natsJwt(operator, operator.getPublicKey(), 'p8fs-test', {
      type: 'operator',
      version: 2,
    });
    const accountJwt = natsJwt(operator, account.getPublicKey(), 'P8FS', {
      limits: unlimited,
      default_permissions: { pub: {}, sub: {} },
      type: 'account',
      version: 2,
    });
    const userJwt = natsJwt(account, user.getPublicKey(), 'p8fs', {
      pub: {},
      sub: {},
      subs: -1,
      data: -1,
      payload: -1,
      type: 'user',
      version: 2,
    });
    const operatorFile = join(dir, 'operator.jwt');
    writeFileSync(operatorFile, operatorJwt);
    const credsFile = join(dir, 'p8fs.creds');
    writeFileSync(
      credsFile,
      [
        '-----BEGIN NATS USER JWT-----',
        userJwt,
        '------END NATS USER JWT------',
        '',
        '-----BEGIN USER NKEY SEED-----',
        new TextDecoder().decode(user.getSeed()),
        '------END USER NKEY SEED------',
        '',
      ].join('\n'),
    );
    const { url } = await server(
      [
        `operator: ${JSON.stringify(operatorFile)}`,
        'resolver: MEMORY',
        `resolver_preload: { ${account.getPublicKey()}: ${JSON.stringify(accountJwt)} }`,
      ].join('\n'),
    );
    expect(await attempt(url, { P8FS_NATS_CREDS: credsFile })).toBe('connected');
    expect(await attempt(url)).toContain('P8FS_NATS_CREDS');
  });
});

describe('TLS', () => {
  let url: string;
  const file = (name: string) => join(dir, name);
  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=p8fs-test-ca',
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
    );
    for (const who of ['server', 'client']) {
      openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${who}`,
        '-keyout',
        file(`${who}.key`),
        '-out',
        file(`${who}.csr`),
      );
      openssl(
        'x509',
        '-req',
        '-in',
        file(`${who}.csr`),
        '-CA',
        file('ca.pem'),
        '-CAkey',
        file('ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        file('san.ext'),
        '-out',
        file(`${who}.pem`),
      );
    }
    url = (
      await server(
        `tls { cert_file: ${JSON.stringify(file('server.pem'))}, key_file: ${JSON.stringify(file('server.key'))}, ca_file: ${JSON.stringify(file('ca.pem'))}, verify: true }`,
      )
    ).url;
  });

  it('connects with P8FS_NATS_TLS_CA, P8FS_NATS_TLS_CERT and P8FS_NATS_TLS_KEY', async () => {
    const tls = {
      P8FS_NATS_TLS_CA: file('ca.pem'),
      P8FS_NATS_TLS_CERT: file('client.pem'),
      P8FS_NATS_TLS_KEY: file('client.key'),
    };
    expect(await attempt(url, tls)).toBe('connected');
  });

  it('fails without the CA naming P8FS_NATS_TLS_CA, and without a client certificate naming P8FS_NATS_TLS_CERT', async () => {
    const noCa = await attempt(url, { P8FS_NATS_TLS: 'true' });
    expect(noCa).toContain('P8FS_NATS_TLS_CA');
    const noCert = await attempt(url, { P8FS_NATS_TLS_CA: file('ca.pem') });
    expect(noCert).toMatch(/P8FS_NATS_TLS_CERT/);
    const nothing = await attempt(url);
    expect(nothing).toMatch(/P8FS_NATS_TLS/);
  });
});
