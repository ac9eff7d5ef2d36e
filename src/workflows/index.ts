// Every workflow the workers register. Deterministic code only: no I/O, no clocks, no randomness.
export { resourceAffinity } from './affinity.js';
export { buildMoments } from './build-moments.js';
export { dreamAnalysis, dreamBatch } from './dream-analysis.js';
export { embedBackfill } from './embed-backfill.js';
export { abortStaleUploads, requeueStuckFiles, trimDeadLetters } from './housekeeping.js';
export { ingestBatch } from './ingest-batch.js';
export { ingestFile } from './ingest-file.js';
export { insightsBatch } from './insights-batch.js';
export { tenantMoments } from './tenant-moments.js';
export { userSummary } from './user-summary.js';
