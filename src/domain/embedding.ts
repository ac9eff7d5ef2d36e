/**
 * What the embedding step and the backfill pass between workflows and activities: ids, counts and
 * cursors, never texts or vectors (those stay in PostgreSQL).
 */

/** The embed step of one stored file (after storeChunks / ingestSmallFile). */
export interface EmbedFileInput {
  tenantId: string;
  fileId: string;
  /** For log lines only: the file's path as events spell it. */
  path: string;
}

/** The embed step of one transcript's moments (after storeMoments). */
export interface EmbedMomentsInput {
  tenantId: string;
  transcriptRef: string;
}

export interface EmbedResult {
  /**
   * done: every row has a current vector of the provider; pending: rows changed under the step (a later
   * store embeds them); off: embedding is switched off on the worker (P8FS_EMBEDDINGS_ENABLED=false).
   */
  status: 'done' | 'pending' | 'off';
  /** The provider's name as stored in embedding_provider (absent when off). */
  provider?: string;
  /** Vectors this step made (the model was asked for these texts). */
  embedded: number;
  /** Rows that had a current vector already (unchanged text: not embedded again). */
  kept: number;
  /** Rows of the file or transcript. */
  rows: number;
}

/** How an ingestFile run reports its embeddings in its outcome. */
export type FileEmbeddingOutcome =
  | (EmbedResult & { failed?: undefined })
  | { status: 'failed'; failed: string; embedded: number; kept: number; rows: number };

/** `p8fs embed backfill`: one tenant's rows lacking vectors of the configured provider. */
export interface EmbedBackfillInput {
  tenantId: string;
  /**
   * The provider name the vectors must have. The workers' configured provider embeds; a backfill asked
   * for another name fails at once rather than store vectors under the wrong name.
   */
  provider?: string;
  /** Rows read per page (one embed activity each). */
  pageSize?: number;
  /** Pages embedded at once. */
  window?: number;
  /** Pages per run before continue-as-new (keeps the history short). */
  pagesPerRun?: number;
  /** Carried across continue-as-new. */
  state?: EmbedBackfillState;
}

export interface EmbedBackfillState {
  /** Which table is being walked, and the last id handed out in it. */
  kind: 'resources' | 'moments';
  afterId: string | null;
  pages: number;
  embedded: number;
  failedPages: number;
  startedAt: string;
}

/** The backfill's next pages: up to `pages` ranges of `limit` rows lacking a vector after `afterId`. */
export interface EmbedPlanInput {
  tenantId: string;
  provider?: string;
  kind: 'resources' | 'moments';
  afterId: string | null;
  limit: number;
  pages: number;
}

/** A range of rows by id, (afterId, untilId]: one backfill page. */
export interface EmbedRange {
  afterId: string | null;
  untilId: string;
}

export interface EmbedPlan {
  ranges: EmbedRange[];
  provider: string;
}

/** One page of a backfill: the rows of a range lacking a vector. */
export interface EmbedRangeInput extends EmbedRange {
  tenantId: string;
  provider?: string;
  kind: 'resources' | 'moments';
}

export interface EmbedPageResult {
  /** Rows read and embedded (0: another run filled the range meanwhile). */
  rows: number;
  embedded: number;
  provider: string;
}

/** What the backfill's `progress` query answers and the CLI prints. */
export interface EmbedBackfillProgress {
  tenantId: string;
  provider: string | null;
  kind: 'resources' | 'moments';
  afterId: string | null;
  pages: number;
  embedded: number;
  failedPages: number;
  inFlight: number;
  done: boolean;
  startedAt: string;
}
