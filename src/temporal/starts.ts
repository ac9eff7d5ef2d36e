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
