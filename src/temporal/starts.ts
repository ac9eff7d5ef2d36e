/**
 * Typed starts and handles for our workflows. Client code (the bridge, the CLI, users' own scripts)
 * imports the workflow *types* only, so a change to a workflow's input or result breaks the build of
 * every caller instead of surfacing as a cast that lies at run time.
 */
import type {
  Client,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
  WorkflowStartOptions,
} from '@temporalio/client';
import type { IngestFileInput } from '../domain/ingest.js';
import type { BuildMomentsInput } from '../domain/insight/build-moments.js';
import type { DreamAnalysisInput, DreamBatchInput } from '../domain/insight/dream-analysis.js';
import type { buildMoments } from '../workflows/build-moments.js';
import type { dreamAnalysis, dreamBatch } from '../workflows/dream-analysis.js';
import type { ingestFile } from '../workflows/ingest-file.js';
import { WorkflowTypes } from './names.js';

export type IngestFileHandle = WorkflowHandle<typeof ingestFile>;
export type IngestFileStartOptions = Omit<WorkflowStartOptions<typeof ingestFile>, 'args'>;

export function startIngestFile(
  client: Client,
  input: IngestFileInput,
  options: IngestFileStartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof ingestFile>> {
  return client.workflow.start<typeof ingestFile>(WorkflowTypes.ingestFile, { ...options, args: [input] });
}

export function ingestFileHandle(client: Client, workflowId: string, runId?: string): IngestFileHandle {
  return client.workflow.getHandle<typeof ingestFile>(workflowId, runId);
}

export type BuildMomentsHandle = WorkflowHandle<typeof buildMoments>;
export type BuildMomentsStartOptions = Omit<WorkflowStartOptions<typeof buildMoments>, 'args'>;

/** Starts buildMoments (task queue: llmTaskQueue(cfg), i.e. `p8fs-llm`, unless you run your own). */
export function startBuildMoments(
  client: Client,
  input: BuildMomentsInput,
  options: BuildMomentsStartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof buildMoments>> {
  return client.workflow.start<typeof buildMoments>(WorkflowTypes.buildMoments, {
    ...options,
    args: [input],
  });
}

export function buildMomentsHandle(client: Client, workflowId: string, runId?: string): BuildMomentsHandle {
  return client.workflow.getHandle<typeof buildMoments>(workflowId, runId);
}

export type DreamAnalysisHandle = WorkflowHandle<typeof dreamAnalysis>;
export type DreamAnalysisStartOptions = Omit<WorkflowStartOptions<typeof dreamAnalysis>, 'args'>;

/** Starts dreamAnalysis (task queue: llmTaskQueue(cfg), i.e. `p8fs-llm`); see examples/start-dream.ts. */
export function startDreamAnalysis(
  client: Client,
  input: DreamAnalysisInput,
  options: DreamAnalysisStartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof dreamAnalysis>> {
  return client.workflow.start<typeof dreamAnalysis>(WorkflowTypes.dreamAnalysis, {
    ...options,
    args: [input],
  });
}

export function dreamAnalysisHandle(client: Client, workflowId: string, runId?: string): DreamAnalysisHandle {
  return client.workflow.getHandle<typeof dreamAnalysis>(workflowId, runId);
}

export type DreamBatchStartOptions = Omit<WorkflowStartOptions<typeof dreamBatch>, 'args'>;

/** Starts dreamBatch: many tenants, direct (children in a sliding window) or batch (one OpenAI Batch). */
export function startDreamBatch(
  client: Client,
  input: DreamBatchInput,
  options: DreamBatchStartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof dreamBatch>> {
  return client.workflow.start<typeof dreamBatch>(WorkflowTypes.dreamBatch, { ...options, args: [input] });
}
