/**
 * What flows through the insightsBatch workflow's history (the insights schedule): which tenants, the
 * window, the per-tenant model call cap, and per tenant what its children did. Types only: workflow code
 * imports them.
 */
export interface InsightsBatchInput {
  /** The tenants to run; without it, every tenant with sessions, resources or uploads in the window. */
  tenantIds?: string[];
  /** The window, hours before the workflow's start (default 24, as the moments task). */
  lookbackHours?: number;
  /** Model calls per tenant and run (P8FS_INSIGHTS_MODEL_CALLS_PER_TENANT when absent): summary 1, moments the rest. */
  maxModelCallsPerTenant?: number;
}

export interface ListInsightTenantsInput {
  tenantIds?: string[];
  /** The window's end (the workflow's start time). */
  until: string;
  lookbackHours: number;
}

export interface InsightTenants {
  tenants: string[];
  /** Tenants run at once (P8FS_DREAM_CONCURRENT_TENANTS). */
  concurrency: number;
  /** The configured cap, for a run whose input gives none. */
  maxModelCallsPerTenant: number;
  /** Where resourceAffinity runs (p8fs-llm): a workflow cannot read the configuration. Absent in runs before it. */
  llmTaskQueue?: string;
}

export interface TenantInsightResult {
  tenantId: string;
  /** moments: stored by tenantMoments (0 when skipped); modelCalls: both children together. */
  moments: number;
  modelCalls: number;
  /** Sources left for the next run by the cap. */
  deferred: number;
  summary: boolean;
  /** resourceAffinity's count of resources linked, in runs that include it (basic mode: no model calls). */
  linked?: number;
  failed?: string;
}

export interface InsightsBatchOutcome {
  tenants: number;
  completed: number;
  failed: number;
  /** The tasks each tenant ran, in order (runs before the insights-affinity patch: no affinity). */
  tasks: string[];
  results: TenantInsightResult[];
}
