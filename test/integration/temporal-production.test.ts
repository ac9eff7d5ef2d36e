/**
 * The production-shaped Temporal server (src/stack/temporal-production.ts, scripts/temporal-production.ts)
 * started from nothing on ports of its own: its own PostgreSQL, the two databases set up by
 * temporal-sql-tool, temporal-server with 4 history shards; then the product runs on it: a Markdown file's
 * event through the bridge to a small-tier worker, completed with its rows, and its workflow found through
 * SQL visibility by the TenantId search attribute; its dynamic config (fairness) passes the server's own
 * validator. Stopping it leaves neither process running.
 *
 * Needs the Go build (`bash scripts/install-temporal-server.sh`, minutes; not part of make setup): without
 * it this file is skipped, and says why. About 20 s with the binaries present.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdFor } from '../../src/domain/ids.js';
import { resolveStackDir } from '../../src/stack/paths.js';
import { readPid } from '../../src/stack/processes.js';
import {
  type ProductionTemporalOptions,
  productionTemporalStatus,
  startProductionTemporal,
  stopProductionTemporal,
  temporalServerBinaries,
} from '../../src/stack/temporal-production.js';
import { createPipeline, dropBucket, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

// Ports of neither the production-shaped default (17233, 17432) nor any stack's, so a bench's server may run.
const o: ProductionTemporalOptions = {
  stackDir: resolveStackDir('.stack/test/temporal-production'),
  port: 17333,
  pgPort: 17532,
  historyShards: 4,
  namespace: 'default',
  logLevel: 'warn',
};
const binaries = temporalServerBinaries();
const missing = 'missing' in binaries ? binaries.missing : undefined;
if (missing) console.warn(`test/integration/temporal-production.test.ts skipped: ${missing}`);

const tenant = uniqueTenant('tprod');
let p: Pipeline | undefined;

describe.skipIf(missing !== undefined)(
  `production-shaped Temporal${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    beforeAll(async () => {
      // From nothing: a fresh PostgreSQL folder, databases and schemas each run.
      await stopProductionTemporal(o);
      rmSync(o.stackDir, { recursive: true, force: true });
      const started = await startProductionTemporal(o);
      p = await createPipeline('tprod', {}, isolatedEnv('tprod', { TEMPORAL_ADDRESS: started.address }));
      await p.startBridge();
      await p.startWorkers(['small']);
    }, 180_000);

    afterAll(async () => {
      if (p) {
        await p.close();
        await dropBucket(p.s3, tenant).catch(() => undefined);
      }
      await stopProductionTemporal(o);
    }, 90_000);

    it('runs a product workflow and finds it by search attribute through SQL visibility', async () => {
      if (!p) throw new Error('the pipeline did not start');
      const pipeline = p;
      const path = `/buckets/${tenant}/notes/production.md`;
      const body = '# On PostgreSQL\n\nThis note was ingested through a production-shaped Temporal server.\n';
      await pipeline.putObject(tenant, 'notes/production.md', body, 'text/markdown');
      await pipeline.publish({ event_type: 'create', path, size: body.length, mime_type: 'text/markdown' });
      const fileId = fileIdFor(tenant, path);
      const rows = await eventually('the file completed with its resources', async () => {
        const r = await pipeline.pool.query<{ status: string; resources: number }>(
          `SELECT status, (SELECT count(*) FROM resources WHERE file_id = $1)::int AS resources
             FROM files WHERE id = $1`,
          [fileId],
        );
        const row = r.rows[0];
        if (row?.status === 'failed') throw new Error(`the file failed on the production-shaped server`);
        return row?.status === 'completed' && row.resources > 0 ? row : undefined;
      });
      expect(rows.resources).toBeGreaterThan(0);

      // Visibility is written asynchronously from the history: listed once it has caught up.
      const listed = await eventually('the workflow listed by TenantId', async () => {
        const ids: string[] = [];
        for await (const w of pipeline.temporal.workflow.list({
          query: `TenantId = "${tenant}" AND ExecutionStatus = "Completed"`,
        }))
          ids.push(w.workflowId);
        return ids.length > 0 ? ids : undefined;
      });
      expect(listed).toHaveLength(1);
      expect(listed[0]).toContain(tenant);
      expect((await productionTemporalStatus(o))[0]).toMatch(/temporal-server: running/);
    });

    it("writes a dynamic config the server's own validator accepts (known keys, values of their type)", () => {
      if ('missing' in binaries) throw new Error(binaries.missing);
      const file = `${o.stackDir}/config/dynamicconfig.yaml`;
      // It exits 0 either way and warns per unknown key or mistyped value (checked by hand on a bad file).
      const out = execFileSync(binaries.server, ['validate-dynamic-config', file], { encoding: 'utf8' });
      expect(out.trim()).toBe(file);
    });

    it('stops the server and its PostgreSQL', async () => {
      const pidFile = `${o.stackDir}/run/temporal-server.pid`;
      const pid = readPid(pidFile);
      expect(pid).toBeDefined();
      if (p) {
        await dropBucket(p.s3, tenant).catch(() => undefined);
        await p.close();
        p = undefined;
      }
      const stopped = await stopProductionTemporal(o);
      expect(stopped).toEqual([`temporal-server (pid ${pid})`, `PostgreSQL on port ${o.pgPort}`]);
      expect(readPid(pidFile)).toBeUndefined();
      expect((await productionTemporalStatus(o)).join('\n')).toMatch(/not running[\s\S]*not answering/);
    }, 60_000);
  },
);
