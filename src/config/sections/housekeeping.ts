/** Housekeeping schedules (src/schedules/definitions.ts, src/workflows/housekeeping.ts): cron (UTC) and ages. */
import type { EnvReader } from '../env-reader.js';
import { cron, positiveInt } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface HousekeepingConfig {
  /** P8FS_HOUSEKEEPING_UPLOADS_CRON: when unfinished multipart uploads are aborted. */
  uploadsCron: string;
  /** P8FS_HOUSEKEEPING_UPLOAD_MAX_AGE_HOURS: multipart uploads started longer ago than this are aborted. */
  uploadMaxAgeHours: number;
  /** P8FS_HOUSEKEEPING_STUCK_CRON: when files left in `processing` without a running workflow are re-queued. */
  stuckFilesCron: string;
  /** P8FS_HOUSEKEEPING_STUCK_AFTER_MINUTES: a file counts as left in `processing` after this long unchanged. */
  stuckAfterMinutes: number;
  /** P8FS_HOUSEKEEPING_DLQ_CRON: when dead letters past their retention are removed. */
  deadLettersCron: string;
  /** P8FS_DLQ_RETENTION_DAYS: dead letters older than this are removed by the housekeeping schedule. */
  deadLetterRetentionDays: number;
}

const HOUSEKEEPING = {
  uploadsCron: {
    name: 'P8FS_HOUSEKEEPING_UPLOADS_CRON',
    schema: cron,
    fallback: '20 * * * *',
    meaning: 'when unfinished multipart uploads are aborted, in every bucket',
  },
  uploadMaxAgeHours: {
    name: 'P8FS_HOUSEKEEPING_UPLOAD_MAX_AGE_HOURS',
    schema: positiveInt,
    fallback: '24',
    meaning: 'multipart uploads older than this many hours are aborted',
  },
  stuckFilesCron: {
    name: 'P8FS_HOUSEKEEPING_STUCK_CRON',
    schema: cron,
    fallback: '*/15 * * * *',
    meaning: 'when files left in `processing` with no running workflow are re-queued',
  },
  stuckAfterMinutes: {
    name: 'P8FS_HOUSEKEEPING_STUCK_AFTER_MINUTES',
    schema: positiveInt,
    fallback: '30',
    meaning: 'a file counts as left in `processing` after this many minutes unchanged',
  },
  deadLettersCron: {
    name: 'P8FS_HOUSEKEEPING_DLQ_CRON',
    schema: cron,
    fallback: '40 4 * * *',
    meaning: 'when dead letters past their retention are removed',
  },
  deadLetterRetentionDays: {
    name: 'P8FS_DLQ_RETENTION_DAYS',
    schema: positiveInt,
    fallback: '14',
    meaning: "dead letters older than this many days are removed (the DLQ stream's own limit is 30 days)",
  },
} as const;

export const HOUSEKEEPING_SECTION: Section = {
  title: 'Housekeeping',
  about: 'Schedules (cron, UTC; `p8fs schedule apply`) that clean up after interrupted work.',
  variables: declared(HOUSEKEEPING),
};

export function readHousekeeping(r: EnvReader): HousekeepingConfig {
  return r.readAll(HOUSEKEEPING);
}
