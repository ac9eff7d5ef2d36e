/**
 * The test stack: the same real servers as the demo stack, on their own ports and stack folder, so a
 * running demo is never touched. Each test file gets its own database, streams, task queues and buckets.
 * Set P8FS_TEST_STACK=external to use servers you started yourself (nothing is started then).
 */
import { randomBytes } from 'node:crypto';
import { type Config, loadConfig } from '../../src/config/config.js';

export const TEST_STACK_ENV: Record<string, string> = {
  P8FS_STACK_DIR: '.stack/test',
  TEMPORAL_ADDRESS: '127.0.0.1:27233',
  P8FS_TEMPORAL_UI_PORT: '28233',
  P8FS_NATS_URL: 'nats://127.0.0.1:24222',
  P8FS_NATS_MONITOR_PORT: '28222',
  P8FS_SEAWEEDFS_ENDPOINT: 'http://127.0.0.1:28333',
  P8FS_SEAWEEDFS_FILER: 'http://127.0.0.1:28888',
  P8FS_SEAWEEDFS_MASTER_PORT: '29333',
  P8FS_SEAWEEDFS_VOLUME_PORT: '28081',
  P8FS_PG_HOST: '127.0.0.1',
  P8FS_PG_PORT: '25433',
  P8FS_PG_DATABASE: 'p8fs_test',
  P8FS_PG_USER: 'postgres',
  P8FS_LOG_LEVEL: 'warn',
  P8FS_BRIDGE_HEALTH_PORT: '0',
  P8FS_WORKER_METRICS_PORT: '0',
  // Embedding (the local model, on every chunk) is off unless a test turns it on: the tests of the step
  // (test/integration/embed-*.test.ts) do; the others keep their outcomes and their speed.
  P8FS_EMBEDDINGS_ENABLED: 'false',
};

/** Environment of the test stack; variables already set in the environment win (to point at other servers). */
export function testStackEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...TEST_STACK_ENV };
  for (const key of Object.keys(TEST_STACK_ENV)) {
    const given = process.env[`P8FS_TEST_${key}`];
    if (given) env[key] = given;
  }
  return env;
}

export function testStackConfig(): Config {
  return loadConfig(testStackEnv());
}

/** Names unique to one test file, so files running in parallel never share state. */
export function isolatedEnv(
  label: string,
  extra: Record<string, string> = {},
): Record<string, string | undefined> {
  const id = `${label.toLowerCase().replace(/[^a-z0-9]/g, '')}${randomBytes(3).toString('hex')}`;
  return {
    ...testStackEnv(),
    P8FS_PG_DATABASE: `t_${id}`,
    P8FS_EVENTS_STREAM: `T_${id.toUpperCase()}_EVENTS`,
    P8FS_EVENTS_SUBJECT: `t.${id}.storage.events`,
    P8FS_EVENTS_TEST_SUBJECT: `t.${id}.storage.events.test`,
    P8FS_EVENTS_TEST_STREAM: `T_${id.toUpperCase()}_TEST`,
    P8FS_DLQ_STREAM: `T_${id.toUpperCase()}_DLQ`,
    P8FS_DLQ_SUBJECT: `t.${id}.storage.events.dlq`,
    P8FS_BRIDGE_CONSUMER: `bridge-${id}`,
    P8FS_TASK_QUEUE_PREFIX: `t-${id}`,
    P8FS_DERIVED_BUCKET: `t-${id}-derived`,
    ...extra,
  };
}

export function isolatedConfig(label: string, extra: Record<string, string> = {}): Config {
  return loadConfig(isolatedEnv(label, extra));
}

/** A bucket/tenant name unique to this run. */
export function uniqueTenant(label: string): string {
  return `t-${label.toLowerCase().replace(/[^a-z0-9]/g, '')}-${randomBytes(3).toString('hex')}`;
}
