/**
 * The last step of a dream, shared by the workflow's activities and `p8fs dream complete`: known facts
 * (user, analysis id, counts, source files) put over the model's answer, the dreams row stored and the
 * job completed; and, for batch mode, one output line of a Batch validated and stored the same way.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { getJson } from '../../clients/object-store.js';
import type { DreamSummary, PreparedDream } from '../../domain/insight/dream-analysis.js';
import type { DreamSource } from '../../domain/insight/dream-input.js';
import { type DreamModel, validateDreamModel, withKnownFacts } from '../../domain/insight/dream-model.js';
import { answerOf, type BatchOutputLine } from './dream-batch.js';
import { storeDream } from './dream-store.js';
import { checkAnswer, schemaViolation } from './llm/answers.js';

/** What prepareDream writes to S3: the packed sources of one tenant's analysis. */
export interface PackedFile {
  tenantId: string;
  analysisId: string;
  sources: DreamSource[];
}

export const DREAM_TASK = 'dream_analysis';

/** The fields of a prepared dream that storing needs (a job's payload holds them too). */
export type DreamItem = Pick<
  PreparedDream,
  'tenantId' | 'analysisId' | 'jobId' | 'inputKey' | 'sessions' | 'resources' | 'analyzedFrom' | 'analyzedTo'
>;

export function countsOf(model: DreamModel): DreamSummary['counts'] {
  return {
    goals: model.goals.length,
    dreams: model.dreams.length,
    fears: model.fears.length,
    pendingTasks: model.pending_tasks.length,
    appointments: model.appointments.length,
    recommendations: model.recommendations.length,
  };
}

export function factsOf(packed: PackedFile, item: DreamItem, generatedBy: DreamModel['generated_by']) {
  return {
    userId: item.tenantId,
    analysisId: item.analysisId,
    generatedBy,
    sessions: item.sessions,
    resources: item.resources,
    sourceFileIds: [...new Set(packed.sources.flatMap((s) => (s.fileId ? [s.fileId] : [])))],
    analysisDate: item.analyzedTo,
  };
}

export interface StoreContext {
  pool: pg.Pool;
  workflowId: string;
  provider: string;
  modelName: string;
  schemaRetries: number;
}

/**
 * Stores the dreams row and completes the job with the model as its result, as the original's worker
 * does (one transaction; a repeat replaces). The workflow gets the summary: ids and counts only.
 */
export async function storeDreamModel(
  ctx: StoreContext,
  item: DreamItem,
  model: DreamModel,
): Promise<DreamSummary> {
  const summary: DreamSummary = {
    tenantId: item.tenantId,
    dreamId: item.analysisId,
    jobId: item.jobId,
    generatedBy: model.generated_by,
    provider: ctx.provider,
    model: ctx.modelName,
    counts: countsOf(model),
    schemaRetries: ctx.schemaRetries,
  };
  await storeDream(ctx.pool, {
    dreamId: item.analysisId,
    jobId: item.jobId,
    tenantId: item.tenantId,
    workflowId: ctx.workflowId,
    model,
    provider: ctx.provider,
    modelName: ctx.modelName,
    analyzedFrom: item.analyzedFrom,
    analyzedTo: item.analyzedTo,
  });
  return summary;
}

/**
 * One request's line of a Batch output (or error) file: validated against DreamModel and stored, or the
 * reason it cannot be (request failed, refused, invalid answer naming the field).
 */
export async function storeBatchLine(
  ctx: StoreContext & { s3: S3Client; bucket: string; batchId: string; batchStatus: string },
  item: DreamItem,
  line: BatchOutputLine | undefined,
): Promise<{ stored: DreamSummary } | { failed: string }> {
  const answer = answerOf(line);
  if ('problem' in answer) return { failed: `batch ${ctx.batchId} (${ctx.batchStatus}): ${answer.problem}` };
  const checked = checkAnswer(answer.content, validateDreamModel);
  if (!checked.ok) return { failed: schemaViolation(DREAM_TASK, 'openai batch', 1, checked.problem).message };
  const packed = await getJson<PackedFile>(ctx.s3, ctx.bucket, item.inputKey);
  const model = withKnownFacts(checked.value, factsOf(packed, item, 'model'));
  return { stored: await storeDreamModel(ctx, item, model) };
}
