import { describe, expect, it } from 'vitest';
import { pgAddress } from '../../src/clients/postgres.js';
import { ConfigError, GiB, isLoopbackHost, loadConfig, MiB, portOf } from '../../src/config/config.js';
import { redactSecrets, redactUrl } from '../../src/config/redact.js';
import { taskQueueFor } from '../../src/temporal/names.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config module', () => {
  it('gives defaults that match the local stack and the seed names', () => {
    const cfg = loadConfig({});
    expect(cfg.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default' });
    expect(cfg.nats).toMatchObject({
      url: 'nats://127.0.0.1:4222',
      eventsStream: 'P8FS_STORAGE_EVENTS',
      eventsSubject: 'p8fs.storage.events',
      testSubject: 'p8fs.storage.events.test',
      dlqStream: 'P8FS_STORAGE_EVENTS_DLQ',
      dlqSubject: 'p8fs.storage.events.dlq',
    });
    expect(cfg.tiers).toEqual({ smallMaxBytes: 100 * MiB, mediumMaxBytes: GiB });
    expect(taskQueueFor(cfg, 'medium')).toBe('p8fs-storage-medium');
  });

  it('reads every seed variable', () => {
    const cfg = loadConfig({
      P8FS_NATS_URL: 'nats://nats.internal:4333',
      P8FS_SEAWEEDFS_ENDPOINT: 'http://seaweed:8333',
      P8FS_SEAWEEDFS_FILER: 'http://seaweed:8888',
      P8FS_PG_HOST: 'db',
      P8FS_PG_PORT: '6543',
      P8FS_PG_DATABASE: 'p8',
      P8FS_PG_USER: 'app',
      P8FS_PG_PASSWORD: 'secret',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'p8fs',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1',
      ANTHROPIC_API_KEY: 'ak-test',
      P8FS_S3_ACCESS_KEY: 'ak',
      P8FS_S3_SECRET_KEY: 'sk',
    });
    expect(cfg.nats.url).toBe('nats://nats.internal:4333');
    expect(cfg.s3).toMatchObject({
      endpoint: 'http://seaweed:8333',
      filerUrl: 'http://seaweed:8888',
      accessKeyId: 'ak',
    });
    expect(cfg.pg).toMatchObject({ host: 'db', port: 6543, database: 'p8', user: 'app', password: 'secret' });
    expect(cfg.temporal).toMatchObject({ address: 'temporal:7233', namespace: 'p8fs' });
    expect(cfg.llm).toMatchObject({
      openaiApiKey: 'sk-test',
      openaiBaseUrl: 'http://127.0.0.1:9999/v1',
      anthropicApiKey: 'ak-test',
      // OpenAI's key wins the default provider when both keys are set.
      provider: 'openai',
    });
  });

  it('lets DATABASE_URL win over the parts', () => {
    const cfg = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/x', P8FS_PG_HOST: 'ignored' });
    expect(cfg.pg.connectionString).toBe('postgres://u:p@db:5432/x');
  });

  it.each([
    [
      'P8FS_NATS_URL',
      'localhost:4222',
      /P8FS_NATS_URL="localhost:4222" is invalid: expected a URL with scheme nats/,
    ],
    ['P8FS_PG_PORT', 'five', /P8FS_PG_PORT="five" is invalid/],
    ['P8FS_PG_PORT', '70000', /P8FS_PG_PORT="70000" is invalid/],
    [
      'TEMPORAL_ADDRESS',
      'http://temporal',
      /TEMPORAL_ADDRESS="http:\/\/temporal" is invalid: expected host:port/,
    ],
    ['P8FS_SEAWEEDFS_ENDPOINT', 'seaweed:8333', /P8FS_SEAWEEDFS_ENDPOINT="seaweed:8333" is invalid/],
    [
      'DATABASE_URL',
      'mysql://x',
      /DATABASE_URL="mysql:\/\/x" is invalid: expected a URL with scheme postgres/,
    ],
    ['P8FS_TIER_SMALL_MAX_BYTES', '-1', /P8FS_TIER_SMALL_MAX_BYTES="-1" is invalid/],
    [
      'P8FS_TIER_SMALL_MAX_BYTES',
      '100 apples',
      /P8FS_TIER_SMALL_MAX_BYTES="100 apples" is invalid: expected a positive size in bytes, optionally with a unit: 104857600, 100MiB/,
    ],
    [
      'TEMPORAL_ADDRESS',
      '127.0.0.1:99999',
      /TEMPORAL_ADDRESS="127.0.0.1:99999" is invalid: expected host:port with a port from 1 to 65535/,
    ],
    ['P8FS_NATS_URL', 'nats://127.0.0.1:99999', /P8FS_NATS_URL="nats:\/\/127.0.0.1:99999" is invalid/],
    ['P8FS_LOG_LEVEL', 'loud', /P8FS_LOG_LEVEL="loud" is invalid/],
    ['OPENAI_BASE_URL', 'not a url', /OPENAI_BASE_URL="not a url" is invalid/],
  ])('names %s when it holds %j', (variable, value, message) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it.each([
    ['104857600', 104857600],
    ['100MiB', 100 * 1024 * 1024],
    ['100 MiB', 100 * 1024 * 1024],
    ['100MB', 100_000_000],
    ['0.5GiB', 0.5 * 1024 ** 3],
    ['512Ki', 512 * 1024],
  ])('reads the tier threshold %j as %d bytes', (value, bytes) => {
    expect(loadConfig({ P8FS_TIER_SMALL_MAX_BYTES: value }).tiers.smallMaxBytes).toBe(bytes);
  });

  it('accepts the short names P8FS_SMALL_MAX_BYTES / P8FS_MEDIUM_MAX_BYTES, the tier names winning', () => {
    const short = loadConfig({ P8FS_SMALL_MAX_BYTES: '100MB', P8FS_MEDIUM_MAX_BYTES: '2GB' });
    expect(short.tiers).toEqual({ smallMaxBytes: 100_000_000, mediumMaxBytes: 2_000_000_000 });
    const both = loadConfig({ P8FS_SMALL_MAX_BYTES: '100MB', P8FS_TIER_SMALL_MAX_BYTES: '1MiB' });
    expect(both.tiers.smallMaxBytes).toBe(1024 * 1024);
    expect(problemsOf({ P8FS_SMALL_MAX_BYTES: 'lots' })[0]).toMatch(
      /^P8FS_SMALL_MAX_BYTES="lots" is invalid/,
    );
  });

  it('reports every bad variable at once, and inconsistent pairs', () => {
    const problems = problemsOf({
      P8FS_NATS_URL: 'x',
      P8FS_PG_PORT: 'y',
      P8FS_TIER_SMALL_MAX_BYTES: '2000',
      P8FS_TIER_MEDIUM_MAX_BYTES: '1000',
      P8FS_CHUNK_TOKENS: '100',
      P8FS_CHUNK_OVERLAP_TOKENS: '100',
    });
    expect(problems.join('\n')).toMatch(/P8FS_NATS_URL/);
    expect(problems.join('\n')).toMatch(/P8FS_PG_PORT/);
    expect(problems.join('\n')).toMatch(
      /P8FS_TIER_SMALL_MAX_BYTES \(2000\) must be below P8FS_TIER_MEDIUM_MAX_BYTES/,
    );
    expect(problems.join('\n')).toMatch(/P8FS_CHUNK_OVERLAP_TOKENS \(100\) must be below P8FS_CHUNK_TOKENS/);
  });

  it('finds ports in URLs and host:port addresses', () => {
    expect(portOf('nats://127.0.0.1:4222')).toBe(4222);
    expect(portOf('127.0.0.1:7233')).toBe(7233);
    expect(portOf('http://seaweed')).toBe(80);
  });

  it('has a bounded worker shutdown and a loopback metrics exporter by default', () => {
    expect(loadConfig({}).worker).toMatchObject({
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
      shutdownGraceSeconds: 20,
    });
    expect(
      loadConfig({
        P8FS_WORKER_METRICS_HOST: '0.0.0.0',
        P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: '3',
      }).worker,
    ).toMatchObject({ metricsHost: '0.0.0.0', shutdownGraceSeconds: 3 });
    expect(problemsOf({ P8FS_WORKER_METRICS_HOST: 'metrics.example' })[0]).toMatch(
      /P8FS_WORKER_METRICS_HOST="metrics\.example" is invalid: expected an IPv4 or IPv6 address/,
    );
    expect(problemsOf({ P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: '-1' })[0]).toMatch(
      /P8FS_WORKER_SHUTDOWN_GRACE_SECONDS="-1" is invalid/,
    );
  });
});

describe('secrets are never printed', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/p8fs', 'postgres://app:***@db:5432/p8fs'],
    ['nats://user:pa55@nats.internal:4222', 'nats://user:***@nats.internal:4222'],
    ['nats://t0ken@nats:4222', 'nats://***@nats:4222'],
    // Invalid URLs are the ones errors print: an unencoded "/", "@" or ":" in the password.
    ['postgres://app:se/cr@t@db:99999/p8fs', 'postgres://app:***@db:99999/p8fs'],
    [
      'postgresql://app:a:b@db/x?sslmode=require&password=hunter2',
      'postgresql://app:***@db/x?sslmode=require&password=***',
    ],
    [
      'https://s3.example.com/bucket?X-Amz-Signature=abc&x=1',
      'https://s3.example.com/bucket?X-Amz-Signature=***&x=1',
    ],
    ['http://127.0.0.1:8333', 'http://127.0.0.1:8333'],
    ['not a url', 'not a url'],
  ])('redactUrl(%j) = %j', (value, redacted) => {
    expect(redactUrl(value)).toBe(redacted);
  });

  it('redacts every URL inside free text and leaves the rest alone', () => {
    expect(
      redactSecrets('NATS at nats://u:p4ss@h:4222 unreachable; PostgreSQL at "postgres://a:b@c/d" down'),
    ).toBe('NATS at nats://u:***@h:4222 unreachable; PostgreSQL at "postgres://a:***@c/d" down');
    expect(redactSecrets('plain text with user:pass but no scheme')).toBe(
      'plain text with user:pass but no scheme',
    );
  });

  it.each([
    ['DATABASE_URL', 'postgres://app:s3cretpw@db:99999/p8fs'],
    ['DATABASE_URL', 'mysql://app:s3cretpw@db/p8fs'],
    ['DATABASE_URL', 'postgres://app:s3cret/pw@db/p8fs with spaces'],
    ['P8FS_NATS_URL', 'http://natsuser:s3cretpw@nats:4222'],
    ['P8FS_SEAWEEDFS_ENDPOINT', 'ftp://ak:s3cretpw@seaweed'],
    ['OPENAI_BASE_URL', 'ws://k:s3cretpw@llm'],
  ])('a bad %s names the variable but not the password', (variable, value) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const config = error as ConfigError;
    expect(config.message).toContain(`${variable}=`);
    expect(config.message).toContain(':***@');
    expect(config.message).not.toMatch(/s3cret/);
    expect(config.problems.join('\n')).not.toMatch(/s3cret/);
  });

  it('pgAddress shows host, port and database only', () => {
    const cfg = loadConfig({ DATABASE_URL: 'postgres://app:s3cretpw@db:6543/p8fs?password=s3cretpw' });
    expect(pgAddress(cfg)).toBe('db:6543/p8fs');
    expect(pgAddress(loadConfig({ P8FS_PG_PASSWORD: 's3cretpw' }))).toBe('127.0.0.1:5433/p8fs');
  });
});

describe('S3 keys for a remote endpoint', () => {
  it.each(['127.0.0.1', '127.4.5.6', 'localhost', '[::1]'])(
    '%s is loopback: local keys are the default',
    (host) => {
      const cfg = loadConfig({ P8FS_SEAWEEDFS_ENDPOINT: `http://${host}:8333` });
      expect(cfg.s3).toMatchObject({
        accessKeyId: 'p8fs-local-access',
        secretAccessKey: 'p8fs-local-secret',
      });
    },
  );

  it.each(['seaweedfs', 's3.example.com', '10.0.0.7', '128.0.0.1', '[::2]', 'localhost.example.com'])(
    '%s is remote: both keys must be given',
    (host) => {
      const problems = problemsOf({ P8FS_SEAWEEDFS_ENDPOINT: `https://${host}:8333` });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^P8FS_S3_ACCESS_KEY and P8FS_S3_SECRET_KEY must be set for the remote S3 endpoint P8FS_SEAWEEDFS_ENDPOINT=/,
      );
      expect(problems[0]).not.toContain('p8fs-local-secret');
    },
  );

  it('names the one key that is missing, and accepts both', () => {
    const endpoint = 'https://s3.example.com';
    expect(problemsOf({ P8FS_SEAWEEDFS_ENDPOINT: endpoint, P8FS_S3_ACCESS_KEY: 'ak' })).toEqual([
      expect.stringMatching(/^P8FS_S3_SECRET_KEY must be set for the remote S3 endpoint/),
    ]);
    expect(problemsOf({ P8FS_SEAWEEDFS_ENDPOINT: endpoint, P8FS_S3_SECRET_KEY: 'sk' })).toEqual([
      expect.stringMatching(/^P8FS_S3_ACCESS_KEY must be set for the remote S3 endpoint/),
    ]);
    const cfg = loadConfig({
      P8FS_SEAWEEDFS_ENDPOINT: endpoint,
      P8FS_S3_ACCESS_KEY: 'ak',
      P8FS_S3_SECRET_KEY: 'sk',
    });
    expect(cfg.s3).toMatchObject({ accessKeyId: 'ak', secretAccessKey: 'sk' });
  });

  it('recognises loopback hosts', () => {
    expect(['127.0.0.1', '127.255.0.9', 'LOCALHOST', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '127.0.0', 'my-localhost', '::'].some(isLoopbackHost)).toBe(false);
  });
});
