/**
 * Temporal's connection, read as the `temporal` CLI reads it (@temporalio/envconfig): a profile from
 * TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE if there is one, then TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY and TEMPORAL_TLS_* on top. The local stack's address is the default.
 */
import {
  type ClientConfigProfile,
  type ClientConnectConfig,
  loadClientConfigProfile,
  toClientOptions,
} from '@temporalio/envconfig';
import { errorText } from '../../domain/errors.js';
import type { EnvReader } from '../env-reader.js';
import { redactSecrets } from '../redact.js';
import { hostPort, httpUrl, name } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface TemporalConfig {
  address: string;
  namespace: string;
  /** Profile from the `temporal` CLI's config file (TEMPORAL_PROFILE), when one was used. */
  profile?: string;
  /** What to connect with, read the way the `temporal` CLI reads it: address, namespace, TLS, API key. */
  connect: ClientConnectConfig;
  uiUrl: string;
  taskQueuePrefix: string;
}

const TEMPORAL = {
  address: {
    name: 'TEMPORAL_ADDRESS',
    schema: hostPort,
    fallback: '127.0.0.1:7233',
    meaning: 'Temporal frontend (host:port)',
  },
  namespace: { name: 'TEMPORAL_NAMESPACE', schema: name, fallback: 'default', meaning: 'namespace' },
  uiUrl: {
    name: 'TEMPORAL_UI_URL',
    schema: httpUrl,
    fallback: 'http://127.0.0.1:8233',
    meaning: 'printed links',
  },
  taskQueuePrefix: {
    name: 'P8FS_TASK_QUEUE_PREFIX',
    schema: name,
    fallback: 'p8fs',
    meaning: 'task queues `<prefix>-storage-small|medium|large`, `<prefix>-llm`',
  },
} as const;

export const TEMPORAL_SECTION: Section = {
  title: 'Temporal',
  about: 'Where workflows are started and task queues polled.',
  variables: declared(TEMPORAL),
  rows: [
    {
      names: ['TEMPORAL_CONFIG_FILE', 'TEMPORAL_PROFILE', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS_*'],
      shown: "the `temporal` CLI's defaults",
      meaning:
        'the connection is read as the `temporal` CLI reads it (`@temporalio/envconfig`): a profile from the TOML file, these variables on top',
    },
  ],
};

export function readTemporal(r: EnvReader, uiPort: number | undefined): TemporalConfig {
  const { env } = r;
  const definedEnv = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
    ),
  );
  let profile: ClientConfigProfile = {};
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: definedEnv });
  } catch (error) {
    r.problems.push(
      `Temporal client profile (TEMPORAL_CONFIG_FILE=${JSON.stringify(env.TEMPORAL_CONFIG_FILE ?? '(default path)')}, TEMPORAL_PROFILE=${JSON.stringify(env.TEMPORAL_PROFILE ?? 'default')}) could not be read: ${redactSecrets(errorText(error))}`,
    );
  }
  // A profile's address and namespace replace the local stack's; the variables win over both.
  const address = r.read(TEMPORAL.address, profile.address);
  const namespace = r.read(TEMPORAL.namespace, profile.namespace);
  let connect: ClientConnectConfig = { connectionOptions: { address }, namespace };
  try {
    connect = toClientOptions({ ...profile, address, namespace });
  } catch (error) {
    r.problems.push(
      `Temporal TLS settings (TEMPORAL_TLS_* or the profile's tls) are unusable: ${redactSecrets(errorText(error))}`,
    );
  }
  return {
    address,
    namespace,
    profile: env.TEMPORAL_PROFILE || undefined,
    connect,
    uiUrl: r.read(TEMPORAL.uiUrl, `http://127.0.0.1:${uiPort ?? 8233}`),
    taskQueuePrefix: r.read(TEMPORAL.taskQueuePrefix),
  };
}
