/** ingestBatch defaults (`p8fs batch start`, the API): window, continue-as-new, page size, priority. */
import type { EnvReader } from '../env-reader.js';
import { intBetween } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface BatchConfig {
  /** P8FS_BATCH_WINDOW: ingestFile children of one batch running at once (default 16). */
  window: number;
  /** P8FS_BATCH_CONTINUE_AS_NEW_AFTER: files one run of a batch handles before it continues as new (500). */
  continueAsNewAfter: number;
  /** P8FS_BATCH_PAGE_SIZE: keys listed and planned per page (100). */
  pageSize: number;
  /** P8FS_BATCH_PRIORITY: Temporal priority key of batch members, 1 (first) to 5 (last); default 4. */
  priority: number;
}

const BATCH = {
  window: {
    name: 'P8FS_BATCH_WINDOW',
    schema: intBetween(1, 1000),
    fallback: '16',
    meaning: 'files ingested at once',
  },
  continueAsNewAfter: {
    name: 'P8FS_BATCH_CONTINUE_AS_NEW_AFTER',
    schema: intBetween(1, 10000),
    fallback: '500',
    meaning: 'files per workflow run (then it continues as new)',
  },
  pageSize: {
    name: 'P8FS_BATCH_PAGE_SIZE',
    schema: intBetween(1, 1000),
    fallback: '100',
    meaning: 'keys planned per page',
  },
  priority: {
    name: 'P8FS_BATCH_PRIORITY',
    schema: intBetween(1, 5),
    fallback: '4',
    meaning: 'priority key of batch members (1 first … 5; uploads get 2)',
  },
} as const;

export const BATCH_SECTION: Section = {
  title: 'Batches',
  about: "Defaults of `p8fs batch start` and the API's batches. See [BATCHES.md](BATCHES.md).",
  variables: declared(BATCH),
};

export function readBatch(r: EnvReader): BatchConfig {
  return r.readAll(BATCH);
}
