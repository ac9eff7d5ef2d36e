/**
 * What flows through the `tenantMoments` workflow's history (the moments task: a tenant's recent chat
 * sessions and documents → moments): the window, the limits, and references to the staged transcripts.
 * Types and defaults only: workflow code imports them.
 */
import type { TranscriptObject } from './build-moments.js';
import type { SourceTranscriptKind } from './source-transcript.js';

/** The original P8FS's process_moments limits: sessions and resources read per run, and its window. */
export const MOMENTS_DEFAULTS = {
  lookbackHours: 24,
  sessionLimit: 100,
  resourceLimit: 1000,
  /** Model calls per run (one per group of a source): the rest waits, uncited, for the next run. */
  maxModelCalls: 50,
} as const;

export interface TenantMomentsInput {
  tenantId: string;
  lookbackHours?: number;
  sessionLimit?: number;
  resourceLimit?: number;
  maxModelCalls?: number;
}

export interface PlanTenantMomentsInput {
  tenantId: string;
  /** The window's end (the workflow's start time): the window is [until - lookbackHours, until]. */
  until: string;
  lookbackHours: number;
  sessionLimit: number;
  resourceLimit: number;
}

export interface MomentSource {
  kind: SourceTranscriptKind;
  /** transcript_id of the staged transcript: `session:<id>` or `document:<file id>`. */
  ref: string;
  name: string;
  transcript: TranscriptObject;
}

export interface TenantMomentsPlan {
  /** Sessions and resources in the window that no moment cites yet (the only-new rule). */
  sessions: number;
  resources: number;
  sources: MomentSource[];
}

export interface TenantMomentsOutcome {
  status: 'completed' | 'skipped';
  tenantId: string;
  sessions: number;
  resources: number;
  /** Sources whose moments were stored in this run. */
  built: number;
  moments: number;
  modelCalls: number;
  /** Sources left for a later run because maxModelCalls was reached. */
  deferred: number;
  provider: string;
  model: string;
  reason?: string;
  /** Moments given vectors after their store (when the workers embed); sources whose embedding failed. */
  embedded?: number;
  embedFailures?: number;
}
