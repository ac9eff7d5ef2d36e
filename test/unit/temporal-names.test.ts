/**
 * The Temporal names every process shares, and the connection read the way the `temporal` CLI reads it
 * (profiles from a TOML file, TEMPORAL_* variables on top).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../../src/domain/errors.js';
import { TIERS } from '../../src/domain/tiers.js';
import { temporalDevServerArgs } from '../../src/stack/servers.js';
import { llmTaskQueue, taskQueueFor, WorkflowTypes } from '../../src/temporal/names.js';
import { SearchAttributes, searchAttributeCliPairs } from '../../src/temporal/search-attributes.js';

const dir = mkdtempSync(join(tmpdir(), 'p8fs-temporal-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shared Temporal names', () => {
  it('names one task queue per tier and one for LLM work, with the configured prefix', () => {
    const cfg = loadConfig({});
    expect(TIERS.map((tier) => taskQueueFor(cfg, tier))).toEqual([
      'p8fs-storage-small',
      'p8fs-storage-medium',
      'p8fs-storage-large',
    ]);
    expect(llmTaskQueue(cfg)).toBe('p8fs-llm');
    expect(taskQueueFor(loadConfig({ P8FS_TASK_QUEUE_PREFIX: 'acme' }), 'large')).toBe('acme-storage-large');
    expect(WorkflowTypes.ingestFile).toBe('ingestFile');
  });

  it('registers on the dev server exactly the search attributes the starts use', () => {
    const pairs = searchAttributeCliPairs();
    expect(pairs).toEqual([
      'TenantId=Keyword',
      'Tier=Keyword',
      'FileName=Keyword',
      'MimeType=Keyword',
      'FileSize=Int',
      'JobType=Keyword',
    ]);
    expect(pairs.map((p) => p.split('=')[0])).toEqual(Object.values(SearchAttributes).map((k) => k.name));
    const args = temporalDevServerArgs({
      port: 1,
      uiPort: 2,
      httpPort: 3,
      metricsPort: 4,
      dbFile: 'x.db',
      namespace: 'default',
    });
    for (const pair of pairs) expect(args.join(' ')).toContain(`--search-attribute ${pair}`);
  });

  it('derives the non-retryable error types from the error classes', () => {
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('CorruptFileError');
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('UnsupportedFileTypeError');
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('MissingObjectError');
    expect(NON_RETRYABLE_ERROR_TYPES).not.toContain('InvalidEventError');
  });
});

describe('Temporal connection, read as the temporal CLI reads it', () => {
  it('defaults to the local stack', () => {
    const cfg = loadConfig({});
    expect(cfg.temporal.address).toBe('127.0.0.1:7233');
    expect(cfg.temporal.namespace).toBe('default');
    expect(cfg.temporal.connect.connectionOptions.address).toBe('127.0.0.1:7233');
    expect(cfg.temporal.connect.connectionOptions.tls).toBeFalsy();
  });

  it('reads a profile from TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE, variables winning over it', () => {
    const file = join(dir, 'temporal.toml');
    writeFileSync(
      file,
      '[profile.prod]\naddress = "temporal.example.com:7233"\nnamespace = "p8fs-prod"\napi_key = "k-123"\n',
    );
    const cfg = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    expect(cfg.temporal.address).toBe('temporal.example.com:7233');
    expect(cfg.temporal.namespace).toBe('p8fs-prod');
    expect(cfg.temporal.connect.connectionOptions.apiKey).toBe('k-123');
    // An API key implies TLS, as in the temporal CLI.
    expect(cfg.temporal.connect.connectionOptions.tls).toBeTruthy();
    const overridden = loadConfig({
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_NAMESPACE: 'other',
    });
    expect(overridden.temporal.namespace).toBe('other');
  });

  it('names the profile and the file when the profile does not exist', () => {
    const file = join(dir, 'empty.toml');
    writeFileSync(file, '[profile.default]\naddress = "127.0.0.1:7233"\n');
    expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' })).toThrow(ConfigError);
    expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' })).toThrow(
      /TEMPORAL_PROFILE="nope".*Profile 'nope' not found/,
    );
  });

  it('names unusable TLS files', () => {
    expect(() =>
      loadConfig({
        TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'missing.pem'),
        TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'missing.key'),
      }),
    ).toThrow(/Temporal TLS settings .*ENOENT/);
  });
});
