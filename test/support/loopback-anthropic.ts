/**
 * A loopback stand-in for Anthropic's Messages API (POST /v1/messages), in its real wire format, so the
 * real `@anthropic-ai/sdk` code runs. It answers a forced tool call with `answer(body)` as the input.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: string;
  messages: Array<{ role: string; content: unknown }>;
  tools?: Array<{ name: string; input_schema: unknown }>;
  tool_choice?: { type: string; name?: string };
}

export interface LoopbackAnthropic {
  url: string;
  requests: Array<{ at: number; body: MessagesBody; apiKey?: string }>;
  close(): Promise<void>;
}

export async function startLoopbackAnthropic(
  answer: (body: MessagesBody) => unknown,
): Promise<LoopbackAnthropic> {
  const requests: LoopbackAnthropic['requests'] = [];
  const server: Server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      return send(404, { type: 'error', error: { type: 'not_found_error', message: `no route ${req.url}` } });
    }
    const body = JSON.parse(Buffer.concat(parts).toString()) as MessagesBody;
    // The API takes the key as x-api-key or as a bearer token (the SDK 1.x sends the latter).
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const apiKey = (req.headers['x-api-key'] as string | undefined) ?? bearer;
    requests.push({ at: Date.now(), body, ...(apiKey ? { apiKey } : {}) });
    if (!apiKey)
      return send(401, {
        type: 'error',
        error: {
          type: 'authentication_error',
          message: 'an API key (x-api-key or Authorization: Bearer) is required',
        },
      });
    const tool = body.tool_choice?.name ?? body.tools?.[0]?.name ?? 'answer';
    send(200, {
      id: `msg_${randomBytes(6).toString('hex')}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [
        { type: 'tool_use', id: `toolu_${randomBytes(6).toString('hex')}`, name: tool, input: answer(body) },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 120, output_tokens: 60 },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
