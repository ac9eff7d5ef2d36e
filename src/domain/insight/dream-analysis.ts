/**
 * Inputs and results of dreamAnalysis and dreamBatch, and what their activities hand each other:
 * references (keys, ids) and counts only, never the texts, which stay in S3 and PostgreSQL.
 */
export type DreamMode = 'direct' | 'batch';

export interface DreamAnalysisInput {
  tenantId: string;
  /** direct (default): one model call now; batch: one OpenAI Batch request, polled on durable timers. */
  mode?: DreamMode;
  /** Sessions and resources written in the last windowHours (default P8FS_DREAM_WINDOW_HOURS). */
  windowHours?: number;
}

export interface DreamBatchInput {
  /** Default: every tenant with sessions or resources in the window. */
  tenantIds?: string[];
  mode?: DreamMode;
  windowHours?: number;
}

export interface PrepareDreamInput {
  tenantId: string;
  mode: DreamMode;
  windowHours?: number;
  /** The workflow's start time: the window ends here, the same on every retry. */
  until: string;
}

export interface PreparedDream {
  tenantId: string;
  analysisId: string;
  jobId: string;
  /** S3 key (derived bucket) of the packed sources. */
  inputKey: string;
  sessions: number;
  resources: number;
  tokens: number;
  budgetTokens: number;
  dropped: number;
  truncated: number;
  analyzedFrom: string;
  analyzedTo: string;
}

export interface DreamCounts {
  goals: number;
  dreams: number;
  fears: number;
  pendingTasks: number;
  appointments: number;
  recommendations: number;
}

export interface DreamSummary {
  tenantId: string;
  dreamId: string;
  jobId: string;
  generatedBy: 'model' | 'heuristic';
  provider: string;
  model: string;
  counts: DreamCounts;
  schemaRetries: number;
}

export type DreamOutcome =
  | {
      status: 'completed';
      mode: DreamMode;
      dream: DreamSummary;
      sessions: number;
      resources: number;
      batchId?: string;
    }
  | { status: 'skipped'; mode: DreamMode; tenantId: string; jobId: string; reason: string };

export interface SubmittedBatch {
  batchId: string;
  inputFileId: string;
  pollSeconds: number;
  maxWaitSeconds: number;
}

export type BatchState =
  | 'validating'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'failed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';

export const TERMINAL_BATCH_STATES: readonly string[] = ['completed', 'failed', 'expired', 'cancelled'];

export interface BatchPoll {
  batchId: string;
  status: BatchState;
  total: number;
  completed: number;
  failed: number;
  outputFileId?: string;
  errorFileId?: string;
}

export interface CollectedBatch {
  stored: DreamSummary[];
  failed: Array<{ analysisId: string; reason: string }>;
}

export interface DreamBatchOutcome {
  mode: DreamMode;
  tenants: number;
  completed: number;
  skipped: number;
  failed: Array<{ tenantId: string; reason: string }>;
  batchIds: string[];
}
