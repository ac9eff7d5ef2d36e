/** `p8fs bridge`: storage events from JetStream → ingestFile workflows on Temporal. */
import type { EnvReader } from '../env-reader.js';
import { nonNegativeInt, positiveInt } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface BridgeConfig {
  healthPort: number;
  /** Events held between delivery and ack/nak/dead letter at once (P8FS_BRIDGE_MAX_IN_FLIGHT). */
  maxInFlight: number;
  /** Deprecated: always equal to maxInFlight (the old bridge held one pull batch at a time). */
  batchSize: number;
  /** Set when the limit came from the deprecated P8FS_BRIDGE_BATCH_SIZE: the bridge warns at start. */
  deprecatedBatchSize?: true;
  nakDelayMs: number;
  maxDeliver: number;
}

/** Above this the in-flight window stops being a bound worth the name (and JetStream's ack-pending grows 4×). */
const MAX_BRIDGE_IN_FLIGHT = 4096;

const BRIDGE = {
  healthPort: {
    name: 'P8FS_BRIDGE_HEALTH_PORT',
    schema: nonNegativeInt,
    fallback: '8090',
    meaning: 'bridge `/health` and `/metrics` (0 = off)',
  },
  maxInFlight: {
    name: 'P8FS_BRIDGE_MAX_IN_FLIGHT',
    aliases: ['P8FS_BRIDGE_BATCH_SIZE'],
    schema: positiveInt.max(MAX_BRIDGE_IN_FLIGHT, `at most ${MAX_BRIDGE_IN_FLIGHT}`),
    fallback: '64',
    meaning: `events the bridge holds at once between delivery and ack/nak/dead letter (1–${MAX_BRIDGE_IN_FLIGHT}); it pulls only as many as fit, so this bounds its memory and its concurrent S3 HEADs and Temporal starts. \`P8FS_BRIDGE_BATCH_SIZE\` is its deprecated name (read as it, with a warning at start; both set to different values is an error)`,
  },
  nakDelayMs: {
    name: 'P8FS_BRIDGE_NAK_DELAY_MS',
    schema: positiveInt,
    fallback: '5000',
    meaning: 'first redelivery delay when routing failed (doubles, max 60 s)',
  },
  maxDeliver: {
    name: 'P8FS_BRIDGE_MAX_DELIVER',
    schema: positiveInt,
    fallback: '50',
    meaning: 'deliveries before a message is dead-lettered with its last error',
  },
} as const;

export const BRIDGE_SECTION: Section = {
  title: 'Bridge',
  about: '`p8fs bridge` pulls storage events from JetStream and starts an ingestion workflow for each.',
  variables: declared(BRIDGE),
};

export function readBridge(r: EnvReader): BridgeConfig {
  return {
    healthPort: r.read(BRIDGE.healthPort),
    ...readInFlight(r),
    nakDelayMs: r.read(BRIDGE.nakDelayMs),
    maxDeliver: r.read(BRIDGE.maxDeliver),
  };
}

/**
 * P8FS_BRIDGE_MAX_IN_FLIGHT, with P8FS_BRIDGE_BATCH_SIZE as its deprecated alias: the old bridge pulled
 * one batch and finished it before the next, so its batch size was its in-flight limit; setting the old
 * name keeps that bound (and the bridge logs a warning), setting both to different values is an error.
 */
function readInFlight(r: EnvReader): Pick<BridgeConfig, 'maxInFlight' | 'batchSize' | 'deprecatedBatchSize'> {
  const { name, aliases, schema } = BRIDGE.maxInFlight;
  const [oldName] = aliases;
  const old = r.isSet(oldName) ? r.get(oldName, schema) : undefined;
  const given = r.isSet(name) ? r.get(name, schema) : undefined;
  if (given !== undefined && old !== undefined && given !== old) {
    r.problems.push(`${oldName} (${old}) is the deprecated name of ${name} (${given}): set only ${name}`);
  }
  const neither = !r.isSet(name) && !r.isSet(oldName);
  // An invalid value was recorded as a problem above (loadConfig throws); the default only fills the type.
  const maxInFlight = given ?? old ?? (neither ? r.read(BRIDGE.maxInFlight) : 64);
  return given === undefined && old !== undefined
    ? { maxInFlight, batchSize: maxInFlight, deprecatedBatchSize: true }
    : { maxInFlight, batchSize: maxInFlight };
}
