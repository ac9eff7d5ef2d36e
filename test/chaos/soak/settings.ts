/** The soak's settings from the environment (`make soak`), with the help text that lists them. */
import { randomInt } from 'node:crypto';
import type { SoakSettings } from './plan.js';

export const HELP = `make soak (npx tsx test/chaos/soak/run.ts): every fault at once

Starts its own stack (.stack/soak; ports 16xxx, gRPC 26xxx; the test stack is not touched): PostgreSQL,
NATS JetStream, SeaweedFS, Temporal, and the built product processes (subscriber, bridge, worker --tier
small|medium|large, dreaming-worker, api). Puts SOAK_UPLOADS mixed files through S3 alone while, on a
seeded schedule, it SIGKILLs the subscriber, the bridge and each worker tier, restarts NATS and Temporal,
and stops PostgreSQL and SeaweedFS for SOAK_OUTAGE_SECONDS each; an API client uploads and searches as two
tenants throughout. Then it accounts for every upload and checks for duplicates, orphans, stuck files and
cross-tenant reads; exit 1 on any miss. Needs \`npm run build\` (make soak runs it).

Settings (environment):
  SOAK_SEED              seed of the plan (default: random, printed)
  SOAK_UPLOADS           S3 uploads (default 5000)
  SOAK_WINDOW_SECONDS    seconds over which uploads and faults are spread (default: max(120, uploads × 0.3))
  SOAK_MEDIUM_PERCENT    uploads of 1-4 MiB, in percent (default 2)
  SOAK_LARGE             files of 16-48 MiB (default: uploads / 600, at least 1)
  SOAK_HUGE              files of 100-200 MiB: the first 200 MiB of text, then a single-line bomb, binary (default: 3 from 1,000 uploads, else 0)
  SOAK_HOSTILE_PERCENT   hostile uploads (bombs, broken PDFs, bad names, empty), in percent (default 2)
  SOAK_KILLS             SIGKILLs per process: subscriber, bridge, each worker tier (default 3)
  SOAK_OUTAGE_SECONDS    how long PostgreSQL and SeaweedFS stay stopped (default 20)
  SOAK_DRAIN_TIMEOUT_SECONDS  how long to wait for everything to settle after the last upload (default 1200)
  SOAK_EMBEDDINGS        how chunks and moments are embedded (default: loopback-openai up to 1,000 uploads, off
                         above): loopback-openai embeds through the product's openai provider against a loopback
                         stand-in of OpenAI's API (test/support/loopback-openai.ts, deterministic 384-dimension
                         vectors); local runs the all-MiniLM-L6-v2 model in each worker; off disables it. On two
                         cores pgvector's HNSW index takes ~140 inserts/s under the soak's load, and 5,000
                         uploads store ~600,000 chunks: over an hour of index inserts whichever provider
  SOAK_KEEP_STACK=1      leave the soak's servers running afterwards (to look around)

Example: SOAK_UPLOADS=200 make soak     # a few minutes
         SOAK_SEED=42 make soak          # repeat seed 42's plan`;

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name}=${JSON.stringify(raw)} is not a non-negative number`);
  return value;
}

export type SoakEmbeddings = 'loopback-openai' | 'local' | 'off';

export interface RunSettings extends SoakSettings {
  drainTimeoutSeconds: number;
  embeddings: SoakEmbeddings;
  keepStack: boolean;
}

export function settingsFrom(env: NodeJS.ProcessEnv): RunSettings {
  const uploads = Math.floor(int(env, 'SOAK_UPLOADS', 5000));
  const embeddings = env.SOAK_EMBEDDINGS || (uploads > 1000 ? 'off' : 'loopback-openai');
  if (embeddings !== 'loopback-openai' && embeddings !== 'local' && embeddings !== 'off')
    throw new Error(`SOAK_EMBEDDINGS=${JSON.stringify(embeddings)}: expected loopback-openai, local or off`);
  if (uploads < 1) throw new Error('SOAK_UPLOADS must be at least 1');
  return {
    seed: Math.floor(int(env, 'SOAK_SEED', randomInt(1, 1_000_000))),
    uploads,
    windowSeconds: int(env, 'SOAK_WINDOW_SECONDS', Math.max(120, Math.round(uploads * 0.3))),
    tenants: ['soak-alpha', 'soak-beta', 'soak-gamma'],
    mediumShare: int(env, 'SOAK_MEDIUM_PERCENT', 2) / 100,
    large: Math.floor(int(env, 'SOAK_LARGE', Math.max(1, Math.round(uploads / 600)))),
    huge: Math.floor(int(env, 'SOAK_HUGE', uploads >= 1000 ? 3 : 0)),
    hostileShare: int(env, 'SOAK_HOSTILE_PERCENT', 2) / 100,
    killsPerProcess: Math.floor(int(env, 'SOAK_KILLS', 3)),
    outageSeconds: int(env, 'SOAK_OUTAGE_SECONDS', 20),
    drainTimeoutSeconds: int(env, 'SOAK_DRAIN_TIMEOUT_SECONDS', 1200),
    embeddings,
    keepStack: env.SOAK_KEEP_STACK === '1',
  };
}
