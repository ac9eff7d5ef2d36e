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
import type { Priority, Workflow } from '@temporalio/common';
import { tenantFairnessKey } from '../domain/fairness.js';
import type { IngestFileInput } from '../domain/ingest.js';
import type { BuildMomentsInput } from '../domain/insight/build-moments.js';
import type { DreamAnalysisInput, DreamBatchInput } from '../domain/insight/dream-analysis.js';
import type { buildMoments } from '../workflows/build-moments.js';
import type { dreamAnalysis, dreamBatch } from '../workflows/dream-analysis.js';
import type { ingestFile } from '../workflows/ingest-file.js';
import { Priorities, WorkflowTypes } from './names.js';
import { JobTypes, SearchAttributes } from './search-attributes.js';

/**
 * What a person sees of a run in the Temporal UI and `temporal workflow describe`: a one-line summary in
 * the workflow list, details (Markdown) on the run's page, and a memo of the facts a script may read.
 * Every start below gets these unless its caller passes its own; none of it is a search attribute, so a
 * server without ours registered accepts them.
 */
export interface WorkflowPresentation {
  staticSummary: string;
  staticDetails: string;
  memo: Record<string, unknown>;
}

/**
 * Temporal refuses a summary over 400 bytes (`limit.userMetadataSummarySize`); file names are cut well
 * below that, at a character boundary.
 */
const MAX_SUMMARY_NAME_CHARS = 120;

/** 840059 → "820.4 KiB", 512 → "512 bytes": a size for reading. */
export function readableSize(bytes: number): string {
  const units = [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const;
  for (const [unit, size] of units) {
    if (bytes >= size) return `${(bytes / size).toFixed(1).replace(/\.0$/, '')} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** Control characters (a newline in a file name) would break the one-line summary. */
function oneLine(text: string, maxChars: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  const chars = [...clean];
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : clean;
}

/** Only the keys with a value: memo fields are separate payloads, and "undefined" says nothing. */
function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** e.g. `report.pdf (820.4 KiB) · tenant tenant-test · small tier`; `delete notes.md · tenant …`. */
export function ingestFilePresentation(input: IngestFileInput): WorkflowPresentation {
  const { event, tier } = input;
  const name = oneLine(event.fileName, MAX_SUMMARY_NAME_CHARS);
  const verb = event.type === 'create' ? '' : `${event.type} `;
  const size = event.size !== undefined && event.type !== 'delete' ? ` (${readableSize(event.size)})` : '';
  const tenant = oneLine(event.tenantId, 64);
  const tierPart = event.type === 'delete' ? '' : ` · ${tier} tier`;
  const details = [
    `**${event.type}** ${event.path}`,
    ...(event.oldPath ? [`**from** ${event.oldPath}`] : []),
    `**tenant** ${event.tenantId}`,
    ...(event.size !== undefined
      ? [`**size** ${event.size.toLocaleString('en-US')} bytes (${readableSize(event.size)})`]
      : []),
    ...(event.mimeType ? [`**type** ${event.mimeType}`] : []),
    `**tier** ${tier}`,
    `**version** ${input.version}`,
    ...(input.source ? [`**source** ${input.source}`] : []),
  ];
  return {
    staticSummary: `${verb}${name}${size} · tenant ${tenant}${tierPart}`,
    staticDetails: details.join('  \n'),
    memo: defined({
      tenantId: event.tenantId,
      path: event.path,
      fileName: event.fileName,
      size: event.size,
      tier,
      mimeType: event.mimeType,
      eventType: event.type,
      oldPath: event.oldPath,
      version: input.version,
      source: input.source,
    }),
  };
}

export type IngestFileHandle = WorkflowHandle<typeof ingestFile>;
export type IngestFileStartOptions = Omit<WorkflowStartOptions<typeof ingestFile>, 'args'>;

/** Starts ingestFile; its summary, details and memo come from the input unless `options` has its own. */
export function startIngestFile(
  client: Client,
  input: IngestFileInput,
  options: IngestFileStartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof ingestFile>> {
  return startWorkflow<typeof ingestFile>(client, WorkflowTypes.ingestFile, input, options, {
    presentation: ingestFilePresentation(input),
    tenantId: input.event.tenantId,
    // An upload someone waits for goes ahead of batch members (Priorities), unless the caller says otherwise.
    priority: { priorityKey: Priorities.interactive },
  });
}

/** What a start adds to the caller's options (which win, except that the tenant's fairness key is kept). */
export interface StartDefaults {
  presentation: Pick<WorkflowPresentation, 'staticSummary' | 'memo'> & Partial<WorkflowPresentation>;
  /** The tenant the work is for: its fairness key and the TenantId search attribute. */
  tenantId?: string;
  /** The JobType search attribute (with TenantId); none when omitted. */
  jobType?: string;
  /** Priority fields under the caller's own. */
  priority?: Priority;
}

/**
 * The one typed start behind every start here: the workflow's presentation, search attributes and the
 * tenant's priority, then the caller's options, and the input as the only argument.
 */
export function startWorkflow<W extends Workflow>(
  client: Client,
  workflowType: string,
  input: Parameters<W>[0],
  options: Omit<WorkflowStartOptions<W>, 'args'>,
  defaults: StartDefaults,
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  const given = defaults.priority ? { ...defaults.priority, ...options.priority } : options.priority;
  const start = {
    ...defaults.presentation,
    ...(defaults.jobType
      ? { typedSearchAttributes: jobAttributes(defaults.tenantId, defaults.jobType) }
      : {}),
    ...options,
    priority: tenantPriority(defaults.tenantId, given),
    args: [input],
  };
  // TypeScript cannot resolve WorkflowStartOptions' conditional `args` for a generic W; [input] is it.
  return client.workflow.start<W>(workflowType, start as unknown as WorkflowStartOptions<W>);
}

/**
 * Fairness between tenants: the tenant is the fairness key of every start made for one, so a server
 * with fairness on (our dev server: src/stack/temporal-server.ts) dispatches the tasks of a queue
 * round-robin over tenants, and one tenant's 10,000-file batch cannot starve another's single upload.
 * Activities and child workflows inherit it. The caller's own priority fields (priorityKey, a weight,
 * even another fairness key) are kept; a server without fairness ignores the key.
 */
export function tenantPriority(tenantId: string | undefined, given?: Priority): Priority | undefined {
  if (!tenantId) return given;
  // An empty key means "inherit / none" to Temporal, so it does not replace the tenant's.
  return { ...given, fairnessKey: given?.fairnessKey || tenantFairnessKey(tenantId) };
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
  return startWorkflow<typeof buildMoments>(client, WorkflowTypes.buildMoments, input, options, {
    presentation: buildMomentsPresentation(input),
    tenantId: input.tenantId,
    jobType: JobTypes.buildMoments,
  });
}

/** e.g. `moments from transcripts/standup.json · tenant tenant-test`. */
export function buildMomentsPresentation(input: BuildMomentsInput): WorkflowPresentation {
  const what = input.transcriptKey
    ? `moments from ${oneLine(input.transcriptKey, MAX_SUMMARY_NAME_CHARS)}`
    : 'moments from an inline transcript';
  return {
    staticSummary: `${what} · tenant ${oneLine(input.tenantId, 64)}`,
    staticDetails: [
      `**moments** for tenant ${input.tenantId}`,
      `**transcript** ${input.transcriptKey ?? '(inline, in the workflow input)'}`,
      ...(input.source ? [`**source** ${input.source}`] : []),
    ].join('  \n'),
    memo: defined({ tenantId: input.tenantId, transcriptKey: input.transcriptKey, source: input.source }),
  };
}

/**
 * TenantId and JobType (the `jobs.job_type` of the same work) on starts made outside the bridge (the
 * CLI, the demo, schedules), so docs/GUIDE.md's saved searches find them too; callers may pass their own.
 */
function jobAttributes(tenantId: string | undefined, jobType: string) {
  return [
    ...(tenantId ? [{ key: SearchAttributes.TenantId, value: tenantId.slice(0, 256) }] : []),
    { key: SearchAttributes.JobType, value: jobType },
  ];
}

/** e.g. `dream analysis · tenant tenant-test · direct, last 24 h`. */
export function dreamAnalysisPresentation(input: DreamAnalysisInput): WorkflowPresentation {
  const mode = input.mode ?? 'direct';
  const window = input.windowHours ? `last ${input.windowHours} h` : 'default window';
  return {
    staticSummary: `dream analysis · tenant ${oneLine(input.tenantId, 64)} · ${mode}, ${window}`,
    staticDetails: [
      `**dream analysis** for tenant ${input.tenantId}`,
      `**mode** ${mode}`,
      `**window** ${input.windowHours ? `${input.windowHours} hours` : 'P8FS_DREAM_WINDOW_HOURS of the worker'}`,
    ].join('  \n'),
    memo: defined({ tenantId: input.tenantId, mode, windowHours: input.windowHours }),
  };
}

/** e.g. `dream batch · 3 tenants · batch`. */
export function dreamBatchPresentation(input: DreamBatchInput): WorkflowPresentation {
  const mode = input.mode ?? 'direct';
  const who = input.tenantIds ? `${input.tenantIds.length} tenant(s)` : 'every active tenant';
  return {
    staticSummary: `dream batch · ${who} · ${mode}`,
    staticDetails: [
      `**dream batch** for ${input.tenantIds ? input.tenantIds.join(', ') : 'every tenant active in the window'}`,
      `**mode** ${mode}`,
      ...(input.windowHours ? [`**window** ${input.windowHours} hours`] : []),
    ].join('  \n'),
    memo: defined({ tenantCount: input.tenantIds?.length, mode, windowHours: input.windowHours }),
  };
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
  return startWorkflow<typeof dreamAnalysis>(client, WorkflowTypes.dreamAnalysis, input, options, {
    presentation: dreamAnalysisPresentation(input),
    tenantId: input.tenantId,
    jobType: JobTypes.dreamAnalysis,
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
  return startWorkflow<typeof dreamBatch>(client, WorkflowTypes.dreamBatch, input, options, {
    presentation: dreamBatchPresentation(input),
    jobType: JobTypes.dreamBatch,
  });
}
