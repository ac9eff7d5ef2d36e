/** The local stack of servers (`p8fs stack up`): its folder and the ports no address elsewhere implies. */
import type { EnvReader } from '../env-reader.js';
import { nonEmpty, port } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface StackConfig {
  dir: string;
  temporalUiPort: number;
  natsMonitorPort: number;
  seaweedMasterPort: number;
  seaweedVolumePort: number;
}

const STACK = {
  dir: { name: 'P8FS_STACK_DIR', schema: nonEmpty, fallback: '.stack', meaning: 'local stack folder' },
  temporalUiPort: {
    name: 'P8FS_TEMPORAL_UI_PORT',
    schema: port,
    fallback: '8233',
    meaning: "the local stack's Temporal UI; `TEMPORAL_UI_URL` defaults to it on 127.0.0.1",
  },
  natsMonitorPort: {
    name: 'P8FS_NATS_MONITOR_PORT',
    schema: port,
    fallback: '8222',
    meaning: "the local stack's NATS monitoring; `P8FS_NATS_MONITOR_URL` defaults to it on 127.0.0.1",
  },
  seaweedMasterPort: {
    name: 'P8FS_SEAWEEDFS_MASTER_PORT',
    schema: port,
    fallback: '9333',
    meaning: "the local stack's SeaweedFS master",
  },
  seaweedVolumePort: {
    name: 'P8FS_SEAWEEDFS_VOLUME_PORT',
    schema: port,
    fallback: '8081',
    meaning: "the local stack's SeaweedFS volume server",
  },
} as const;

export const STACK_SECTION: Section = {
  title: 'Local stack',
  about:
    'The folder of the local stack (`p8fs stack up`) and its ports that no address above implies; the default URLs of the Temporal UI and NATS monitoring follow two of them.',
  variables: declared(STACK),
};

/** Read first: the Temporal UI's and NATS monitoring's default URLs follow these ports. */
export function readStack(r: EnvReader): StackConfig {
  return r.readAll(STACK);
}
