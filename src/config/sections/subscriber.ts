/** `p8fs subscriber` (alias `seaweed-events`): the filer metadata stream → storage events on JetStream. */
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { hostPort, name, nonNegativeInt, portOf } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface SubscriberConfig {
  /** host:port of the filer's gRPC API (P8FS_SEAWEEDFS_FILER_GRPC; default: filer HTTP port + 10000). */
  filerGrpc: string;
  /** Only changes below this filer path are published (P8FS_SUBSCRIBER_PATH_PREFIX, default /buckets/). */
  pathPrefix: string;
  /** NATS KV bucket holding the resume cursor (last published ts_ns) under the subscriber's name. */
  cursorBucket: string;
  /** The subscriber's name: the filer client name and the cursor's key (several may run side by side). */
  name: string;
  /** Where a subscriber without a cursor starts: `now`, or `beginning` (everything the filer logged). */
  start: 'now' | 'beginning';
  healthPort: number;
}

const SUBSCRIBER = {
  filerGrpc: {
    name: 'P8FS_SEAWEEDFS_FILER_GRPC',
    schema: hostPort,
    fallback: '127.0.0.1:18888',
    shown: 'filer host, filer port + 10000 (`127.0.0.1:18888`)',
    meaning: "the filer's gRPC API, where `p8fs subscriber` subscribes",
  },
  pathPrefix: {
    name: 'P8FS_SUBSCRIBER_PATH_PREFIX',
    schema: z.string().regex(/^\/buckets\/([a-z0-9._-]+\/?)?$/, '/buckets/ or /buckets/<bucket>/'),
    fallback: '/buckets/',
    meaning: 'only changes below this filer path are published (`/buckets/<bucket>/` for one tenant)',
  },
  cursorBucket: {
    name: 'P8FS_SUBSCRIBER_CURSOR_BUCKET',
    schema: name,
    fallback: 'p8fs-subscriber-cursor',
    meaning: 'NATS KV bucket of the resume cursor',
  },
  name: {
    name: 'P8FS_SUBSCRIBER_NAME',
    schema: name,
    // The process is `p8fs subscriber` now, but this is the key of the stored cursor in NATS KV: a new
    // default would make running deployments start over (P8FS_SUBSCRIBER_START) instead of resuming.
    fallback: 'seaweed-events',
    meaning: "the subscriber's name: filer client name and the cursor's key",
  },
  start: {
    name: 'P8FS_SUBSCRIBER_START',
    schema: z.enum(['now', 'beginning']),
    fallback: 'now',
    meaning: 'where a subscriber without a cursor starts: `now`, or `beginning` (all the filer logged)',
  },
  healthPort: {
    name: 'P8FS_SUBSCRIBER_HEALTH_PORT',
    schema: nonNegativeInt,
    fallback: '8091',
    meaning: 'subscriber `/health` and `/metrics` (0 = off)',
  },
} as const;

export const SUBSCRIBER_SECTION: Section = {
  title: 'Filer subscriber',
  about:
    "`p8fs subscriber` (alias `seaweed-events`) follows the SeaweedFS filer's metadata stream and publishes a storage event for each upload, overwrite, rename and delete.",
  variables: declared(SUBSCRIBER),
};

/** `filerUrl`: the filer's HTTP address, whose host and port + 10000 are the gRPC API's by default. */
export function readSubscriber(r: EnvReader, filerUrl: string | undefined): SubscriberConfig {
  const filerGrpc = filerUrl ? `${new URL(filerUrl).hostname}:${portOf(filerUrl) + 10000}` : undefined;
  return r.readAll(SUBSCRIBER, filerGrpc ? { filerGrpc } : {});
}
