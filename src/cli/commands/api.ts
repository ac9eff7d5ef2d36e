/**
 * `p8fs api`: the HTTP API (src/api) in the foreground, until SIGINT/SIGTERM; requests in flight finish
 * first (at most 30 s: an upload still streaming is cut then, and S3 aborts it).
 */
import type { Command } from 'commander';
import { startApi } from '../../api/process.js';
import { loadConfig } from '../../config/config.js';
import { createLogger } from '../../telemetry/logger.js';
import { PROCESS_NAMES } from '../../telemetry/process-names.js';
import { PROCESS_COMMANDS } from '../process-commands.js';
import { runUntilSignal } from '../run-until-signal.js';

async function runApi(): Promise<void> {
  const cfg = loadConfig();
  const log = createLogger(cfg, PROCESS_NAMES.api);
  const api = await startApi(cfg, { log });
  log.info(
    { url: api.url, docs: `${api.url}/docs`, health: `${api.url}/health`, s3: cfg.s3.endpoint },
    'api listening',
  );
  await runUntilSignal({
    timeoutMs: 30_000,
    log,
    finishing: 'the requests in flight',
    stop: () => api.close(),
    tooSlow: {
      message: 'api did not stop in time: exiting; unfinished uploads are aborted by S3 or housekeeping',
    },
  });
  log.info('api stopped');
}

export function registerApiCommand(program: Command): void {
  program
    .command(PROCESS_COMMANDS.api.name)
    .description(
      'HTTP API (Fastify, OpenAPI at /docs): uploads (whole and resumable), files and downloads, batches, search, stats, dreams; per-tenant API keys',
    )
    .addHelpText(
      'after',
      [
        '',
        'Listens on P8FS_API_HOST:P8FS_API_PORT (default 127.0.0.1:8080). GET /health needs no key; every /v1',
        "route needs a tenant's key: `p8fs apikey create --tenant T` prints one (once). Docs: /docs, /docs/json.",
        'Needs PostgreSQL (migrated: `p8fs migrate`), SeaweedFS S3 and NATS at start; Temporal only for the',
        'routes that start or read workflows (503 while it is away). Reference: docs/API.md.',
        '',
        'Example:',
        '  p8fs apikey create --tenant tenant-test',
        '  p8fs api &',
        '  curl -H "Authorization: Bearer $KEY" --data-binary @report.pdf \\',
        '    "http://127.0.0.1:8080/v1/files/tenant-test?name=report.pdf"',
      ].join('\n'),
    )
    .action(runApi);
}
