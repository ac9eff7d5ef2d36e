/**
 * The OpenAI Batch API for dream analysis: the requests as a JSONL file (one chat completion per
 * tenant, custom_id = analysis id) uploaded through the Files API (purpose batch), a Batch on
 * /v1/chat/completions, its status, and the output file's lines by custom_id. Our retry policy applies
 * to every call (retry.ts).
 */
import type OpenAI from 'openai';
import { toFile } from 'openai';
import type { LlmConfig } from '../../config/config.js';
import type { BatchPoll, BatchState } from '../../domain/insight/dream-analysis.js';
import { chatCompletionBody, openaiClient } from './llm/openai.js';
import { withHttpRetries } from './llm/retry.js';
import type { LlmMessage, StructuredRequest } from './llm/types.js';

export interface BatchLine {
  customId: string;
  messages: LlmMessage[];
}

export class OpenAiBatches {
  private readonly client: OpenAI;
  private readonly where: string;
  constructor(
    private readonly cfg: LlmConfig,
    private readonly model: string,
  ) {
    this.client = openaiClient(cfg);
    this.where = `OpenAI Batch API at ${cfg.openaiBaseUrl}`;
  }

  private call<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withHttpRetries(
      this.where,
      { retries: this.cfg.httpRetries, maxWaitMs: this.cfg.retryMaxWaitSeconds * 1000 },
      fn,
      signal ? { signal } : {},
    );
  }

  jsonl(lines: BatchLine[], request: Pick<StructuredRequest<unknown>, 'task' | 'schema'>): string {
    return lines
      .map((line) =>
        JSON.stringify({
          custom_id: line.customId,
          method: 'POST',
          url: '/v1/chat/completions',
          body: chatCompletionBody(
            this.model,
            { ...request, messages: line.messages },
            this.cfg.maxOutputTokens,
          ),
        }),
      )
      .join('\n')
      .concat('\n');
  }

  async submit(
    jsonl: string,
    fileName: string,
    metadata: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ batchId: string; inputFileId: string }> {
    const file = await this.call(
      async () =>
        this.client.files.create(
          {
            file: await toFile(Buffer.from(jsonl), fileName, { type: 'application/jsonl' }),
            purpose: 'batch',
          },
          signal ? { signal } : {},
        ),
      signal,
    );
    const batch = await this.call(
      () =>
        this.client.batches.create(
          { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata },
          signal ? { signal } : {},
        ),
      signal,
    );
    return { batchId: batch.id, inputFileId: file.id };
  }

  async poll(batchId: string, signal?: AbortSignal): Promise<BatchPoll> {
    const batch = await this.call(
      () => this.client.batches.retrieve(batchId, signal ? { signal } : {}),
      signal,
    );
    return {
      batchId,
      status: batch.status as BatchState,
      total: batch.request_counts?.total ?? 0,
      completed: batch.request_counts?.completed ?? 0,
      failed: batch.request_counts?.failed ?? 0,
      ...(batch.output_file_id ? { outputFileId: batch.output_file_id } : {}),
      ...(batch.error_file_id ? { errorFileId: batch.error_file_id } : {}),
    };
  }

  /** The lines of an output or error file, by custom_id. */
  async lines(fileId: string, signal?: AbortSignal): Promise<Map<string, BatchOutputLine>> {
    const text = await this.call(
      async () => (await this.client.files.content(fileId, signal ? { signal } : {})).text(),
      signal,
    );
    const byId = new Map<string, BatchOutputLine>();
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      const line = JSON.parse(raw) as BatchOutputLine;
      if (typeof line.custom_id === 'string') byId.set(line.custom_id, line);
    }
    return byId;
  }
}

export interface BatchOutputLine {
  custom_id: string;
  response?: {
    status_code: number;
    body?: {
      model?: string;
      choices?: Array<{ message?: { content?: string | null; refusal?: string | null } }>;
    };
  } | null;
  error?: { code?: string; message?: string } | null;
}

/** The answer text of an output line, or why there is none. */
export function answerOf(line: BatchOutputLine | undefined): { content: string } | { problem: string } {
  if (!line) return { problem: 'no line for this request in the output file' };
  if (line.error)
    return { problem: `request failed: ${line.error.code ?? ''} ${line.error.message ?? ''}`.trim() };
  const status = line.response?.status_code ?? 0;
  if (status !== 200) return { problem: `request answered HTTP ${status}` };
  const message = line.response?.body?.choices?.[0]?.message;
  if (message?.refusal) return { problem: `the model refused: ${message.refusal}` };
  return { content: message?.content ?? '' };
}
