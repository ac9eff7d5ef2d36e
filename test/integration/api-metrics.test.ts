/**
 * The API's /metrics (src/api/metrics.ts), served on a port of its own: requests counted by route pattern
 * and status, never by raw URL (a tenant's ids and names must not become label values), plus the process
 * metrics and `p8fs_process_info`. The server is built in process with a stand-in pool (no network).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDeps } from '../../src/api/deps.js';
import { createApiMetrics, instrumentApi, startApiMetricsServer } from '../../src/api/metrics.js';
import { buildApiServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { PROCESS_NAMES } from '../../src/telemetry/process-names.js';

const SECRET_ID = 'tenant-b-private-report-0042';

function fakeDeps(): ApiDeps {
  const cfg = loadConfig({ P8FS_STACK_DIR: '/nonexistent-p8fs-stack' });
  const broken = new Proxy({}, { get: () => () => Promise.reject(new Error('not used')) });
  return {
    cfg,
    pool: { query: async () => ({ rows: [{ '?column?': 1 }] }) },
    s3: broken,
    presignS3: broken,
    js: broken,
    jsm: new Proxy({}, { get: () => broken }),
    temporal: new Proxy({}, { get: () => broken }),
  } as unknown as ApiDeps;
}

let app: FastifyInstance;
let metricsServer: Server;
let metricsUrl: string;

beforeAll(async () => {
  app = await buildApiServer(fakeDeps(), { version: 'test' });
  const metrics = createApiMetrics();
  instrumentApi(app, metrics);
  await app.ready();
  const cfg = loadConfig({ P8FS_STACK_DIR: '/nonexistent-p8fs-stack', P8FS_LOG_LEVEL: 'silent' });
  metricsServer = startApiMetricsServer(metrics, '127.0.0.1', 0, createLogger(cfg, PROCESS_NAMES.api));
  await new Promise<void>((resolve) => metricsServer.once('listening', () => resolve()));
  metricsUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
  await app.close();
});

describe('API /metrics on its own port', () => {
  it('counts requests by route pattern and status, never by raw URL', async () => {
    await app.inject({ method: 'GET', url: '/health' });
    await app.inject({ method: 'GET', url: `/v1/files/${SECRET_ID}` }); // no key: 401
    await app.inject({ method: 'GET', url: `/no-such-route/${SECRET_ID}` });
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/p8fs_api_requests_total\{method="GET",route="\/health",status="200"\} 1/);
    expect(text).toMatch(/p8fs_api_requests_total\{method="GET",route="\/v1\/files\/:id",status="401"\} 1/);
    expect(text).toMatch(/p8fs_api_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).toContain('p8fs_api_request_duration_seconds_bucket');
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain(`p8fs_process_info{process="${PROCESS_NAMES.api}"} 1`);
    expect(text).not.toContain(SECRET_ID);
  });

  it('is not served on the public API port', async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(404);
  });
});
