/**
 * A loopback stand-in for OpenAI's HTTP API (the machine cannot reach the real one), speaking the real
 * wire format so the real `openai` SDK code runs: POST /v1/chat/completions, POST /v1/files (multipart),
 * GET /v1/files/{id}/content, POST /v1/batches, GET /v1/batches/{id}. Scriptable: queued replies for
 * chat completions (429 with Retry-After, malformed answers), and a plan per created batch (how many
 * polls until it ends, and whether it completes or expires). Every request is logged with its time.
 * POST /v1/embeddings answers each input with a deterministic, unnormalised vector of the requested
 * `dimensions` (default 1536) derived from the text, unless `embeddingReplies` scripts a status first;
 * like OpenAI it counts each input's cl100k_base tokens and refuses (400, OpenAI's error bodies) an input
 * over `embeddingTokenLimits.perInput` (8192) or a request over `.perRequest` (300,000) in total.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  /** A chat completion's message content (wrapped in a completion), or a raw body with `raw`. */
  content?: string;
  raw?: unknown;
}

export interface BatchPlan {
  /** GET /v1/batches/{id} answers in_progress this many times before the end state. */
  pollsUntilDone: number;
  end: 'completed' | 'expired' | 'failed';
}

export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  body?: unknown;
  authorization?: string;
}

interface Batch {
  id: string;
  inputFileId: string;
  plan: BatchPlan;
  polls: number;
  status: string;
  outputFileId?: string;
  total: number;
  metadata?: Record<string, string>;
}

export interface LoopbackOpenAi {
  url: string;
  /** The base URL an OpenAI client takes (…/v1). */
  baseUrl: string;
  requests: LoggedRequest[];
  /** Replies for the next chat completions, in order; when empty, `answer(body)` is used. */
  chatReplies: ScriptedReply[];
  /** Replies for the next POST /v1/embeddings (only `status`, `headers`, `raw` apply); when empty, vectors. */
  embeddingReplies: ScriptedReply[];
  /** OpenAI's limits on POST /v1/embeddings, in cl100k_base tokens; tests lower them. */
  embeddingTokenLimits: { perInput: number; perRequest: number };
  /** Plans for the next created batches, in order; when empty, completes after one poll. */
  batchPlans: BatchPlan[];
  batches: Map<string, Batch>;
  files: Map<string, { name: string; purpose: string; content: string }>;
  /** The default answer to a chat completion request body (the model's message content). */
  answer: (body: ChatBody) => string;
  close(): Promise<void>;
}

export interface ChatBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
  response_format?: { type: string; json_schema?: { name: string; schema: unknown; strict?: boolean } };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function completion(body: ChatBody, content: string) {
  return {
    id: `chatcmpl-${randomBytes(6).toString('hex')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
  };
}

/** OpenAI's 400 bodies for an input over the model's length and a request over the per-request total. */
function tokenRefusal(input: string[], limits: { perInput: number; perRequest: number }) {
  const counts = input.map((text) => countTokens(text, { disallowedSpecial: new Set() }));
  const longest = Math.max(0, ...counts);
  if (longest > limits.perInput)
    return {
      error: {
        message: `This model's maximum context length is ${limits.perInput} tokens, however you requested ${longest} tokens (${longest} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    };
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > limits.perRequest)
    return {
      error: {
        message: `Requested ${total} tokens, max ${limits.perRequest} tokens per request`,
        type: 'max_tokens_per_request',
        param: null,
        code: 'max_tokens_per_request',
      },
    };
  return undefined;
}

/** A vector that depends only on the text (its sha256 seeds the phases), deliberately not unit length. */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  const seed = createHash('sha256').update(text).digest();
  return Array.from({ length: dimensions }, (_, i) => 3 * Math.sin((seed[i % 32] ?? 0) + i * 0.7));
}

export async function startLoopbackOpenAi(answer: (body: ChatBody) => string): Promise<LoopbackOpenAi> {
  const lb: Omit<LoopbackOpenAi, 'url' | 'baseUrl' | 'close'> = {
    requests: [],
    chatReplies: [],
    embeddingReplies: [],
    embeddingTokenLimits: { perInput: 8192, perRequest: 300_000 },
    batchPlans: [],
    batches: new Map(),
    files: new Map(),
    answer,
  };
  const batchView = (b: Batch) => ({
    id: b.id,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: b.inputFileId,
    completion_window: '24h',
    status: b.status,
    output_file_id: b.outputFileId ?? null,
    error_file_id: null,
    created_at: Math.floor(Date.now() / 1000),
    metadata: b.metadata ?? null,
    request_counts: {
      total: b.total,
      completed: b.status === 'completed' ? b.total : 0,
      failed: 0,
    },
  });

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    const type = req.headers['content-type'] ?? '';
    const body = type.includes('application/json') && raw.length > 0 ? JSON.parse(raw.toString()) : undefined;
    lb.requests.push({
      at: Date.now(),
      method: req.method ?? '',
      path: url.pathname,
      body,
      authorization: req.headers.authorization,
    });
    try {
      if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
        const scripted = lb.chatReplies.shift();
        if (scripted && (scripted.status ?? 200) !== 200) {
          return send(
            res,
            scripted.status ?? 500,
            scripted.raw ?? { error: { message: `scripted ${scripted.status}`, type: 'scripted' } },
            scripted.headers,
          );
        }
        const content = scripted?.content ?? lb.answer(body as ChatBody);
        return send(res, 200, scripted?.raw ?? completion(body as ChatBody, content), scripted?.headers);
      }
      if (req.method === 'POST' && url.pathname === '/v1/embeddings') {
        const scripted = lb.embeddingReplies.shift();
        if (scripted && (scripted.status ?? 200) !== 200)
          return send(
            res,
            scripted.status ?? 500,
            scripted.raw ?? { error: { message: `scripted ${scripted.status}`, type: 'scripted' } },
            scripted.headers,
          );
        const { model, input, dimensions } = body as { model: string; input: string[]; dimensions?: number };
        const refusal = tokenRefusal(input, lb.embeddingTokenLimits);
        if (refusal) return send(res, 400, refusal);
        return send(
          res,
          200,
          scripted?.raw ?? {
            object: 'list',
            model,
            data: input.map((text, index) => ({
              object: 'embedding',
              index,
              embedding: fakeEmbedding(text, dimensions ?? 1536),
            })),
            usage: { prompt_tokens: input.length, total_tokens: input.length },
          },
          scripted?.headers,
        );
      }
      if (req.method === 'POST' && url.pathname === '/v1/files') {
        // The real multipart body, parsed the way a server would (undici's form-data parser).
        const form = await new Request('http://127.0.0.1/v1/files', {
          method: 'POST',
          headers: { 'content-type': type },
          body: raw,
        }).formData();
        const file = form.get('file') as File;
        const id = `file-${randomBytes(6).toString('hex')}`;
        lb.files.set(id, {
          name: file.name,
          purpose: String(form.get('purpose')),
          content: await file.text(),
        });
        return send(res, 200, {
          id,
          object: 'file',
          bytes: file.size,
          created_at: Math.floor(Date.now() / 1000),
          filename: file.name,
          purpose: String(form.get('purpose')),
          status: 'processed',
        });
      }
      const content = /^\/v1\/files\/([^/]+)\/content$/.exec(url.pathname);
      if (req.method === 'GET' && content) {
        const file = lb.files.get(content[1] as string);
        if (!file)
          return send(res, 404, { error: { message: 'no such file', type: 'invalid_request_error' } });
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(file.content);
      }
      if (req.method === 'POST' && url.pathname === '/v1/batches') {
        const input = lb.files.get(body.input_file_id);
        if (!input)
          return send(res, 400, {
            error: { message: 'input_file_id not found', type: 'invalid_request_error' },
          });
        const id = `batch_${randomBytes(6).toString('hex')}`;
        const plan = lb.batchPlans.shift() ?? { pollsUntilDone: 1, end: 'completed' };
        const total = input.content.split('\n').filter(Boolean).length;
        const batch: Batch = {
          id,
          inputFileId: body.input_file_id,
          plan,
          polls: 0,
          status: 'validating',
          total,
          metadata: body.metadata,
        };
        lb.batches.set(id, batch);
        return send(res, 200, batchView(batch));
      }
      const batchPath = /^\/v1\/batches\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'GET' && batchPath) {
        const batch = lb.batches.get(batchPath[1] as string);
        if (!batch)
          return send(res, 404, { error: { message: 'no such batch', type: 'invalid_request_error' } });
        batch.polls++;
        if (batch.polls < batch.plan.pollsUntilDone) batch.status = 'in_progress';
        else if (batch.status !== batch.plan.end) finish(batch);
        return send(res, 200, batchView(batch));
      }
      send(res, 404, {
        error: { message: `no route ${req.method} ${url.pathname}`, type: 'invalid_request_error' },
      });
    } catch (error) {
      send(res, 500, { error: { message: String(error), type: 'server_error' } });
    }
  });

  function finish(batch: Batch): void {
    batch.status = batch.plan.end;
    if (batch.plan.end !== 'completed') return;
    const input = lb.files.get(batch.inputFileId)?.content ?? '';
    const lines = input
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const request = JSON.parse(line) as { custom_id: string; body: ChatBody };
        const scripted = lb.chatReplies.shift();
        const answerText = scripted?.content ?? lb.answer(request.body);
        return JSON.stringify({
          id: `batch_req_${randomBytes(4).toString('hex')}`,
          custom_id: request.custom_id,
          response: { status_code: 200, request_id: 'req', body: completion(request.body, answerText) },
          error: null,
        });
      });
    const id = `file-${randomBytes(6).toString('hex')}`;
    lb.files.set(id, {
      name: `${batch.id}_output.jsonl`,
      purpose: 'batch_output',
      content: `${lines.join('\n')}\n`,
    });
    batch.outputFileId = id;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return Object.assign(lb, {
    url,
    baseUrl: `${url}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as LoopbackOpenAi;
}
