import { describe, expect, it } from 'vitest';
import { ConfigError, GiB, loadConfig, MiB, portOf } from '../../src/config/config.js';
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
    expect(cfg.llm).toEqual({
      openaiApiKey: 'sk-test',
      openaiBaseUrl: 'http://127.0.0.1:9999/v1',
      anthropicApiKey: 'ak-test',
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
    ['P8FS_LOG_LEVEL', 'loud', /P8FS_LOG_LEVEL="loud" is invalid/],
    ['OPENAI_BASE_URL', 'not a url', /OPENAI_BASE_URL="not a url" is invalid/],
  ])('names %s when it holds %j', (variable, value, message) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
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
});
