/**
 * Starting `embedBackfill` (`p8fs embed backfill`): one run per tenant and provider at a time, on the
 * small storage queue (its pages go to that tier's `-embed` queue), with the tenant as fairness key.
 * Starting it while one runs attaches to the running one instead of starting a second.
 */
import { type Client, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/config.js';
import type { EmbedBackfillInput, EmbedBackfillProgress } from '../domain/embedding.js';
import type { embedBackfill } from '../workflows/embed-backfill.js';
import { batchTaskQueue, WorkflowTypes } from './names.js';
import { startWorkflow } from './starts.js';

export type EmbedBackfillHandle = WorkflowHandle<typeof embedBackfill>;

/** The backfill's query (src/workflows/embed-backfill.ts defines it under this name). */
export const EMBED_BACKFILL_PROGRESS_QUERY = 'progress';

export function embedBackfillWorkflowId(tenantId: string, provider: string): string {
  return `embed-backfill/${tenantId}/${provider}`;
}

export async function startEmbedBackfill(
  cfg: Config,
  client: Client,
  input: EmbedBackfillInput & { provider: string },
): Promise<{ handle: EmbedBackfillHandle; attached: boolean }> {
  const workflowId = embedBackfillWorkflowId(input.tenantId, input.provider);
  try {
    const handle = await startWorkflow<typeof embedBackfill>(
      client,
      WorkflowTypes.embedBackfill,
      input,
      { taskQueue: batchTaskQueue(cfg), workflowId },
      {
        presentation: {
          staticSummary: `embed backfill · tenant ${input.tenantId} · ${input.provider}`,
          memo: { tenantId: input.tenantId, provider: input.provider },
        },
        tenantId: input.tenantId,
      },
    );
    return { handle, attached: false };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return { handle: client.workflow.getHandle<typeof embedBackfill>(workflowId), attached: true };
  }
}

export function backfillProgress(handle: EmbedBackfillHandle): Promise<EmbedBackfillProgress> {
  return handle.query<EmbedBackfillProgress>(EMBED_BACKFILL_PROGRESS_QUERY);
}
