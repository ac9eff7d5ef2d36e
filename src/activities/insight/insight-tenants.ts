/**
 * listInsightTenants: the tenants the insights schedule runs, those with a session, a resource or an
 * upload (files row) written in the window, or the ones asked for; with the run's concurrency and cap,
 * and the p8fs-llm queue its resourceAffinity children run on.
 */
import type { InsightTenants, ListInsightTenantsInput } from '../../domain/insight/insights-batch.js';
import { llmTaskQueue } from '../../temporal/names.js';
import type { InsightDeps } from './deps.js';

export function createInsightTenantActivities({ cfg, pool }: Pick<InsightDeps, 'cfg' | 'pool'>) {
  return {
    async listInsightTenants(input: ListInsightTenantsInput): Promise<InsightTenants> {
      const settings = {
        concurrency: cfg.dream.concurrentTenants,
        maxModelCallsPerTenant: cfg.insightsRun.modelCallsPerTenant,
        llmTaskQueue: llmTaskQueue(cfg),
      };
      if (input.tenantIds && input.tenantIds.length > 0)
        return { tenants: [...new Set(input.tenantIds)], ...settings };
      const since = new Date(new Date(input.until).getTime() - input.lookbackHours * 3600_000).toISOString();
      const rows = await pool.query<{ tenant_id: string }>(
        `SELECT tenant_id FROM sessions WHERE GREATEST(updated_at, COALESCE(last_message_at, updated_at)) >= $1
         UNION SELECT tenant_id FROM resources WHERE updated_at >= $1
         UNION SELECT tenant_id FROM files WHERE updated_at >= $1 ORDER BY tenant_id`,
        [since],
      );
      return { tenants: rows.rows.map((r) => r.tenant_id), ...settings };
    },
  };
}

export type InsightTenantActivities = ReturnType<typeof createInsightTenantActivities>;
