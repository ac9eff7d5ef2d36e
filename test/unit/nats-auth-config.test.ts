/**
 * NATS authentication and TLS settings without a server: what each variable (and the original P8FS's
 * name) turns into on the connection, which combinations are refused naming the variables, and the
 * subject matching the stream adoption relies on. The servers: test/integration/nats-auth.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { natsConnectionOptions, natsRefusal } from '../../src/clients/nats.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { isOriginalRouterConsumer } from '../../src/events/bridge-consumer.js';
import { subjectMatches } from '../../src/events/stream-adoption.js';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'p8fs-nats-auth-'));
const file = (name: string) => {
  const path = join(dir, name);
  writeFileSync(path, 'x');
  return path;
};

describe('NATS authentication and TLS settings', () => {
  it('connect without credentials or TLS by default', () => {
    const options = natsConnectionOptions(loadConfig({}).nats);
    expect(options).toEqual({ servers: 'nats://127.0.0.1:4222' });
  });

  it('take a user and password, under the original P8FS name P8FS_NATS_USERNAME too', () => {
    const ours = loadConfig({ P8FS_NATS_USER: 'p8fs', P8FS_NATS_PASSWORD: 's3cret' }).nats;
    expect(natsConnectionOptions(ours)).toMatchObject({ user: 'p8fs', pass: 's3cret' });
    const original = loadConfig({ P8FS_NATS_USERNAME: 'p8fs', P8FS_NATS_PASSWORD: 's3cret' }).nats;
    expect(natsConnectionOptions(original)).toMatchObject({ user: 'p8fs', pass: 's3cret' });
  });

  it('take a token, or a credentials file through an authenticator', () => {
    expect(natsConnectionOptions(loadConfig({ P8FS_NATS_TOKEN: 't0ken' }).nats)).toMatchObject({
      token: 't0ken',
    });
    const creds = natsConnectionOptions(loadConfig({ P8FS_NATS_CREDS: file('user.creds') }).nats);
    expect(typeof creds.authenticator).toBe('function');
  });

  it('turn TLS on with P8FS_NATS_TLS, a tls:// URL or any TLS file', () => {
    expect(natsConnectionOptions(loadConfig({ P8FS_NATS_TLS: 'true' }).nats).tls).toEqual({});
    expect(natsConnectionOptions(loadConfig({ P8FS_NATS_URL: 'tls://nats:4222' }).nats).tls).toEqual({});
    const ca = file('ca.pem');
    const cert = file('cert.pem');
    const key = file('key.pem');
    const options = natsConnectionOptions(
      loadConfig({ P8FS_NATS_TLS_CA: ca, P8FS_NATS_TLS_CERT: cert, P8FS_NATS_TLS_KEY: key }).nats,
    );
    expect(options.tls).toEqual({ caFile: ca, certFile: cert, keyFile: key });
  });

  it('refuse what cannot work, naming the variables and never echoing a secret', () => {
    expect(problemsOf({ P8FS_NATS_PASSWORD: 'hunter2' })).toContain(
      'P8FS_NATS_PASSWORD is set without P8FS_NATS_USER',
    );
    expect(problemsOf({ P8FS_NATS_USER: 'a', P8FS_NATS_PASSWORD: 'b', P8FS_NATS_TOKEN: 'c' })).toContain(
      'P8FS_NATS_USER and P8FS_NATS_TOKEN are set: NATS takes one way to authenticate',
    );
    expect(problemsOf({ P8FS_NATS_TLS_CERT: file('only-cert.pem') })).toContain(
      'P8FS_NATS_TLS_CERT is set without P8FS_NATS_TLS_KEY',
    );
    expect(problemsOf({ P8FS_NATS_TLS_CA: join(dir, 'missing.pem') })).toMatch(
      /P8FS_NATS_TLS_CA=".*missing\.pem" is invalid: expected a file that exists/,
    );
    expect(problemsOf({ P8FS_NATS_PASSWORD: 'hunter2' })).not.toContain('hunter2');
  });

  it('word a refused connection with the variable to set', () => {
    const nats = loadConfig({}).nats;
    expect(natsRefusal(nats, new Error('Authorization Violation'))).toMatch(
      /refused the connection \(Authorization Violation\) with no credentials: set P8FS_NATS_USER/,
    );
    expect(natsRefusal(nats, new Error('self-signed certificate in certificate chain'))).toContain(
      'set P8FS_NATS_TLS_CA',
    );
    expect(natsRefusal(nats, new Error('ECONNREFUSED 127.0.0.1:4222'))).toBeUndefined();
  });
});

describe('subjects and the original router consumers', () => {
  it('match NATS subject patterns', () => {
    expect(subjectMatches('p8fs.storage.events', 'p8fs.storage.events')).toBe(true);
    expect(subjectMatches('p8fs.storage.events.>', 'p8fs.storage.events.test')).toBe(true);
    expect(subjectMatches('p8fs.storage.events.>', 'p8fs.storage.events')).toBe(false);
    expect(subjectMatches('p8fs.*.events', 'p8fs.storage.events')).toBe(true);
    expect(subjectMatches('p8fs.storage.events', 'p8fs.storage.events.test')).toBe(false);
  });

  it('know the consumer names of the original router', () => {
    for (const name of [
      'tiered-storage-router',
      'router-consumer',
      'simple-tiered-router',
      'router-1733580000',
    ]) {
      expect(isOriginalRouterConsumer(name)).toBe(true);
    }
    expect(isOriginalRouterConsumer('p8fs-bridge')).toBe(false);
    expect(isOriginalRouterConsumer('router-abc')).toBe(false);
  });
});
