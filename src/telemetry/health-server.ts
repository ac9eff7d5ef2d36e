/**
 * The small HTTP server every long-running process serves: `GET /health` (JSON, 200 when the process can
 * do its work, 503 otherwise) and `GET /metrics` (Prometheus text, made from the registries of
 * metrics.ts). The process supplies both bodies; both name the process (its logger's name,
 * process-names.ts): /health as `process`, /metrics as `p8fs_process_info{process="…"}`.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Logger } from './logger.js';
import { PROMETHEUS_CONTENT_TYPE, processInfoExposition } from './metrics.js';

export interface HealthReport {
  /** False → 503, e.g. while stopping or when a connection the process needs is closed. */
  ok: boolean;
  body: Record<string, unknown>;
}

export interface HealthServerOptions {
  port: number;
  host?: string;
  log: Logger;
  health(): HealthReport;
  metrics(): string | Promise<string>;
}

/** The name the process's logger was created with (p8fs-bridge, …), if it has one. */
function processNameOf(log: Logger): string | undefined {
  // A stand-in logger of a test may lack bindings().
  const name = typeof log.bindings === 'function' ? log.bindings().name : undefined;
  return typeof name === 'string' ? name : undefined;
}

export function startHealthServer(options: HealthServerOptions): Server {
  const { port, host = '0.0.0.0', log } = options;
  const processName = processNameOf(log);
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url?.startsWith('/metrics')) {
        const text = await options.metrics();
        const info = processName ? await processInfoExposition(processName) : '';
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        res.end(text.endsWith('\n') || text === '' ? text + info : `${text}\n${info}`);
        return;
      }
      if (req.url?.startsWith('/health')) {
        const report = options.health();
        res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(processName ? { process: processName, ...report.body } : report.body));
        return;
      }
      res.writeHead(404).end();
    })().catch((error: unknown) => {
      log.error({ err: error, url: req.url }, 'health server request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('error', (error) => log.error({ err: error, port }, 'health server failed'));
  server.listen(port, host);
  return server;
}

/**
 * Fails with a message naming the variable when `port` cannot be listened on, so a process whose health
 * port is taken stops at start-up instead of running unobservable (probes would hit the other program).
 */
export function assertPortFree(port: number, variable: string, host = '0.0.0.0'): Promise<void> {
  if (port <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE'
          ? 'the port is already in use (another process on this host; `ss -ltnp` shows which)'
          : `${error.code ?? error.name}: ${error.message}`;
      reject(
        new Error(`${variable}=${port}: cannot serve /health and /metrics on ${host}:${port}: ${reason}`),
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
