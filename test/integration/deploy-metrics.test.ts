/**
 * The Grafana dashboard (deploy/grafana/p8fs-flows.json) names only metrics and labels the processes
 * really export, and the processes answer the probes deploy/k8s and docker-compose.yml give them. The
 * bridge, the filer subscriber and a worker (small tier and LLM) run as the containers run them: the
 * built `node bin/p8fs.js <role>` (`make test` builds first, as the Dockerfile does) against the test
 * stack. One file goes the whole way (S3 → filer → subscriber → bridge → worker) so histograms have
 * samples; then every metric of the dashboard must be in a scrape, with the labels its queries group by.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { envWithoutOurSettings } from '../support/cli.js';
import { momentSamples } from '../support/moments.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const root = projectRoot();
const tenant = uniqueTenant('deploy');
const [bridgePort, subscriberPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
const env = isolatedEnv('deploy', {
  P8FS_BRIDGE_HEALTH_PORT: String(bridgePort),
  P8FS_SUBSCRIBER_HEALTH_PORT: String(subscriberPort),
  P8FS_WORKER_METRICS_PORT: String(workerPort),
  P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
  P8FS_LLM_PROVIDER: 'heuristic',
  P8FS_LOG_LEVEL: 'info',
});
env.P8FS_SUBSCRIBER_CURSOR_BUCKET = `cursor-${env.P8FS_TASK_QUEUE_PREFIX}`;

interface Role {
  child: ChildProcess;
  output: string;
}
const roles: Role[] = [];

/** `node bin/p8fs.js …`: the image's entry point (Dockerfile ENTRYPOINT), with exactly `env`. */
function startBuilt(args: string[]): Role {
  const child = spawn(process.execPath, ['bin/p8fs.js', ...args], {
    cwd: root,
    env: { ...envWithoutOurSettings(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const role: Role = { child, output: '' };
  const keep = (d: Buffer) => {
    role.output = (role.output + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  roles.push(role);
  return role;
}

async function healthy(port: number, role: Role, what: string): Promise<void> {
  await eventually(
    `${what} /health to answer 200`,
    async () => {
      if (role.child.exitCode !== null) throw new Error(`${what} exited: ${role.output}`);
      const response = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    },
    90_000,
  );
}

let p: Pipeline;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/cli/run.js')))
    throw new Error('deploy-metrics starts the built CLI (node bin/p8fs.js): run `make build` first');
  p = await createPipeline('deploy', {}, env);
  const worker = startBuilt(['worker', '--tier', 'small', 'llm']);
  const bridge = startBuilt(['bridge']);
  const subscriber = startBuilt(['subscriber']);
  await Promise.all([
    healthy(workerPort, worker, 'p8fs worker'),
    healthy(bridgePort, bridge, 'p8fs bridge'),
    healthy(subscriberPort, subscriber, 'p8fs subscriber'),
  ]);
}, 150_000);

afterAll(async () => {
  await Promise.all(
    roles.map(
      (r) =>
        new Promise<void>((done) => {
          if (r.child.exitCode !== null) return done();
          r.child.once('exit', () => done());
          r.child.kill('SIGTERM');
        }),
    ),
  );
  await p?.close();
});

/** Metric names and grouping labels of every query in the dashboard. */
function dashboardQueries(): { expr: string; metrics: string[]; labels: string[] }[] {
  const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/p8fs-flows.json'), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));
  expect(exprs.length).toBeGreaterThan(15);
  return exprs.map((expr) => ({
    expr,
    metrics: [...expr.matchAll(/\b((?:p8fs|temporal|process|nodejs)_[a-z0-9_]+)/g)].map(
      (m) => m[1] as string,
    ),
    // `pod` is Prometheus's target label, `le` the histogram buckets: neither is in an exposition.
    labels: [...expr.matchAll(/by \(([^)]*)\)/g)]
      .flatMap((m) => (m[1] as string).split(',').map((l) => l.trim()))
      .filter((l) => l && l !== 'le' && l !== 'pod'),
  }));
}

describe('deployment observability against real processes', () => {
  it('every metric and label the Grafana dashboard uses is in a real scrape', async () => {
    // One file completed, one failed, one moments job: every series the dashboard groups by gets samples.
    await p.putObject(
      tenant,
      'uploads/deploy-note.md',
      '# Deploy\n\nOne note for the dashboard.\n',
      'text/markdown',
    );
    await p.putObject(tenant, 'uploads/broken.pdf', '%PDF-1.4 this is not a PDF', 'application/pdf');
    const transcript = momentSamples()[0];
    if (!transcript) throw new Error('no moment samples in ../shared/samples/moments');
    await p.putObject(tenant, `transcripts/${transcript.name}.json`, JSON.stringify(transcript.input));
    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const workerText = await eventually(
      'the built worker to complete the note, fail the broken PDF and build the moments',
      async () => {
        const text = await scrape(workerPort);
        const done = [
          /^p8fs_worker_files_completed_total\{tier="small",provider="markdown"\} 1$/m,
          /^p8fs_worker_files_failed_total\{tier="small",provider="pdf"\} 1$/m,
          /^p8fs_llm_jobs_total\{type="build_moments",status="completed"\} 1$/m,
        ].every((pattern) => pattern.test(text));
        return done ? text : undefined;
      },
      60_000,
    );
    const texts = [workerText, await scrape(bridgePort), await scrape(subscriberPort)];
    const all = texts.join('\n');
    const missing: string[] = [];
    for (const query of dashboardQueries()) {
      for (const metric of query.metrics) {
        // A histogram's _bucket series, or any other family, must have samples.
        if (!new RegExp(`^${metric}(\\{| )`, 'm').test(all)) missing.push(`${metric} (in ${query.expr})`);
      }
      for (const label of query.labels) {
        const carried = query.metrics.some((metric) =>
          new RegExp(`^${metric}\\{[^}]*\\b${label}="`, 'm').test(all),
        );
        if (!carried) missing.push(`label ${label} of ${query.metrics.join(', ')} (in ${query.expr})`);
      }
    }
    expect(missing).toEqual([]);
  }, 90_000);

  it('each role answers its probe on the port deploy/k8s gives it, under its process name', async () => {
    for (const [port, name] of [
      [bridgePort, 'p8fs-bridge'],
      [subscriberPort, 'p8fs-subscriber'],
      // `worker --tier small llm`: a storage worker that serves the LLM queue too.
      [workerPort, 'p8fs-storage-worker'],
    ] as const) {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ process: name, status: 'ok' });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^p8fs_process_info\\{process="${name}"\\} 1$`, 'm'));
    }
  });
});
