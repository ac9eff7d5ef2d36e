/**
 * `make image-test`: every role of deploy/k8s/base run from the built image as its manifest runs it
 * (scripts/image/manifests.ts: command line, environment, user, read-only root with its emptyDir volumes,
 * dropped capabilities, probes, grace period), against the local stack's servers over the host network,
 * then the whole job done by the containers alone: the migrate Job migrates a fresh database; a Markdown
 * file, a PDF and a WAV put into a bucket with S3 alone end as rows, one through each storage tier; the
 * WAV's rows hold its words (offline transcription inside a container); `p8fs dream start --wait`
 * completes on the dreaming worker container; the API lists the files to a tenant key; each container's
 * probe and /metrics answer; each drains on SIGTERM within its grace period. One line per role, PASS or
 * FAIL with figures (ready time, idle RSS, stop time); exit 1 if any FAILs. docs/DEPLOY.md.
 *
 *   npx tsx scripts/image/test.ts [--image p8fs-flows:0.1.0] [--keep]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { connectClient } from '../../src/clients/postgres.js';
import { loadConfig } from '../../src/config/config.js';
import { projectRoot } from '../../src/config/project-root.js';
import { samplesDir } from '../../src/stack/paths.js';
import { Engine, treeRss } from './containers.js';
import { type RoleSpec, readRoles } from './manifests.js';
import { apiListsFiles, chunkVectors, cli, type Upload, uploadWithS3, waitForRows } from './workload.js';

const HELP = `Usage: npx tsx scripts/image/test.ts [--image NAME:TAG] [--keep]

Runs every role of deploy/k8s/base from the built image (make image) against the local stack
(started here with \`p8fs stack up --servers-only\` if it is not running) and prints one PASS/FAIL line
per role. --keep leaves the containers and the test database for a look afterwards.`;

const root = projectRoot();
const MiB = 1024 * 1024;
const say = (line: string) => console.log(`[image-test] ${line}`);

interface Result {
  role: string;
  ok: boolean;
  figures: string[];
  problems: string[];
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '0.0.0.0', () => server.close(() => done(true)));
  });
}

async function status(url: string): Promise<{ code: number; body: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { code: response.status, body: await response.text() };
  } catch (error) {
    return { code: 0, body: (error as Error).message };
  }
}

/** The variable that sets a role's own metrics port (workers' or the API's), if its manifest sets one. */
function metricsVariable(role: RoleSpec): string | undefined {
  // The API's own first: the ConfigMap gives every pod P8FS_WORKER_METRICS_PORT too.
  return ['P8FS_API_METRICS_PORT', 'P8FS_WORKER_METRICS_PORT'].find(
    (name) => role.env[name] !== undefined && role.metrics?.port === Number(role.env[name]),
  );
}

/** The role's environment: its manifest's, with the servers, secrets, database and ports of this run. */
function containerEnv(
  role: RoleSpec,
  overrides: Record<string, string>,
  port?: number,
): Record<string, string> {
  const env = { ...role.env, ...overrides };
  // A placeholder the operator replaces and this run has no value for: the variable's default applies.
  for (const [key, value] of Object.entries(env)) if (value === 'change-me') delete env[key];
  // The download identity is a pair: without its secret (the local stack has none), neither half.
  if (env.P8FS_API_PRESIGN_SECRET_KEY === undefined) delete env.P8FS_API_PRESIGN_ACCESS_KEY;
  if (port !== undefined) env[metricsVariable(role) as string] = String(port);
  // Fails here, naming the variable, rather than in a container.
  loadConfig(env);
  return env;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { image: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const image = values.image ?? `p8fs-flows:${version}`;
  const engine = new Engine(root);
  const started = Date.now();
  say(`engine: ${await engine.describe()}`);
  if (!(await engine.imageExists(image)))
    throw new Error(`image ${image} is missing: run \`make image\` first`);
  say(`image ${image}: ${((await engine.imageSize(image)) / 1e6).toFixed(0)} MB`);

  const roles = readRoles(root);
  const workers = roles.filter((r) => metricsVariable(r) !== undefined);
  // One network for all: each role needs its own metrics port (in a cluster each pod has its own address).
  const workerPort = new Map(workers.map((r, i) => [r.name, 9464 + i]));
  const portOf = (r: RoleSpec, port: number) =>
    workerPort.has(r.name) && port === Number(r.env[metricsVariable(r) as string])
      ? (workerPort.get(r.name) as number)
      : port;
  const ports = new Set<number>();
  for (const r of roles) for (const p of [r.probe?.port, r.metrics?.port]) if (p) ports.add(portOf(r, p));
  const busy: number[] = [];
  for (const p of ports) if (!(await portFree(p))) busy.push(p);
  if (busy.length > 0)
    throw new Error(
      `ports ${busy.join(', ')} are taken on this host; the roles' containers share the host network and need them. Stop what listens there (the local stack's own processes: \`p8fs stack down\`, then \`p8fs stack up --servers-only\`)`,
    );

  say('local stack: p8fs stack up --servers-only (servers already running are reused)');
  const up = await cli(root, ['stack', 'up', '--servers-only'], {}, 600_000);
  if (up.code !== 0) throw new Error(`p8fs stack up --servers-only failed:\n${up.stdout}${up.stderr}`);

  const host = loadConfig();
  const id = randomBytes(3).toString('hex');
  const database = `p8fs_image_${id}`;
  const tenant = `image-test-${id}`;
  const admin = await connectClient(host, 'postgres');
  await admin.query(`CREATE DATABASE ${database}`).finally(() => admin.end());
  // The servers of the local stack in place of the cluster's Services; the Secret as an operator fills it.
  const overrides: Record<string, string> = {
    P8FS_NATS_URL: host.nats.url,
    P8FS_NATS_MONITOR_URL: host.nats.monitorUrl,
    P8FS_SEAWEEDFS_ENDPOINT: host.s3.endpoint,
    P8FS_SEAWEEDFS_FILER: host.s3.filerUrl,
    P8FS_SEAWEEDFS_FILER_GRPC: host.subscriber.filerGrpc,
    P8FS_S3_ACCESS_KEY: host.s3.accessKeyId,
    P8FS_S3_SECRET_KEY: host.s3.secretAccessKey,
    P8FS_PG_HOST: host.pg.host,
    P8FS_PG_PORT: String(host.pg.port),
    P8FS_PG_USER: host.pg.user,
    P8FS_PG_PASSWORD: host.pg.password,
    P8FS_PG_DATABASE: database,
    ...(host.api.presignAccessKey && host.api.presignSecretKey
      ? {
          P8FS_API_PRESIGN_ACCESS_KEY: host.api.presignAccessKey,
          P8FS_API_PRESIGN_SECRET_KEY: host.api.presignSecretKey,
        }
      : {}),
    TEMPORAL_ADDRESS: host.temporal.address,
    // Only this run's bucket: a filer cursor left by earlier runs replays nothing else.
    P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
    // Tier thresholds low enough that the samples take one tier each (small: the Markdown file).
    P8FS_TIER_SMALL_MAX_BYTES: String(512 * 1024),
    P8FS_TIER_MEDIUM_MAX_BYTES: String(1024 * 1024),
  };
  const cliEnv = { P8FS_PG_DATABASE: database, ...overrides };
  const results: Result[] = [];
  const names = new Map(roles.map((r) => [r.name, `p8fs-image-test-${r.name}`]));
  const running: RoleSpec[] = [];
  try {
    // 1. The Job first, as a cluster applies it before the workers take files.
    for (const job of roles.filter((r) => r.kind === 'Job')) {
      const name = names.get(job.name) as string;
      const t0 = Date.now();
      await engine.start(name, image, job, containerEnv(job, overrides));
      const code = await engine.wait(name, 300_000);
      const logs = await engine.logs(name);
      const applied = (logs.match(/applying migration|applied/gi) ?? []).length;
      results.push({
        role: job.name,
        ok: code === 0,
        figures: [`exit ${code} in ${((Date.now() - t0) / 1000).toFixed(1)}s`, `${applied} migration lines`],
        problems: code === 0 ? [] : [logs.trim().split('\n').slice(-5).join(' | ')],
      });
      if (code !== 0) throw new Error(`${job.name} failed (exit ${code}); nothing else can run:\n${logs}`);
    }

    // 2. The Deployments, all at once; ready when their readiness probe answers 200.
    const ready = new Map<string, number>();
    const t0 = Date.now();
    for (const role of roles.filter((r) => r.kind === 'Deployment')) {
      await engine.start(
        names.get(role.name) as string,
        image,
        role,
        containerEnv(role, overrides, workerPort.get(role.name)),
      );
      running.push(role);
    }
    say(`started ${running.map((r) => r.name).join(', ')}; waiting for their probes`);
    while (ready.size < running.length && Date.now() - t0 < 180_000) {
      for (const role of running) {
        if (ready.has(role.name) || !role.probe) continue;
        const probe = await status(`http://127.0.0.1:${portOf(role, role.probe.port)}${role.probe.path}`);
        if (probe.code === 200) ready.set(role.name, (Date.now() - t0) / 1000);
      }
      await sleep(1000);
    }
    const outcome = new Map<string, Result>();
    for (const role of running) {
      const result: Result = { role: role.name, ok: true, figures: [], problems: [] };
      outcome.set(role.name, result);
      results.push(result);
      const state = await engine.state(names.get(role.name) as string);
      if (!ready.has(role.name)) {
        result.problems.push(
          `${state.running ? 'probe never answered 200' : `exited ${state.exitCode}`}: ${(await engine.logs(names.get(role.name) as string)).trim().split('\n').slice(-3).join(' | ')}`,
        );
        continue;
      }
      result.figures.push(`ready ${ready.get(role.name)?.toFixed(1)}s`);
    }

    // 3. Probes and /metrics, then idle memory after the start-up settles.
    await sleep(10_000);
    for (const role of running) {
      const result = outcome.get(role.name) as Result;
      if (role.probe) {
        const probe = await status(`http://127.0.0.1:${portOf(role, role.probe.port)}${role.probe.path}`);
        if (probe.code !== 200) result.problems.push(`probe ${role.probe.path} ${probe.code}`);
      }
      const metricsPort = role.metrics?.port ?? role.probe?.port;
      if (metricsPort) {
        const metrics = await status(`http://127.0.0.1:${portOf(role, metricsPort)}/metrics`);
        if (metrics.code === 200 && metrics.body.includes('process_resident_memory_bytes'))
          result.figures.push('/metrics 200');
        else if (role.metrics) result.problems.push(`/metrics ${metrics.code}`);
        else result.figures.push(`/metrics ${metrics.code} (not scraped by its manifest)`);
      }
      const { pid, running: alive } = await engine.state(names.get(role.name) as string);
      if (alive) result.figures.push(`idle RSS ${(treeRss(pid) / MiB).toFixed(0)} MiB`);
    }

    // 4. The work, done by the containers.
    const samples = samplesDir();
    const uploads: Upload[] = [
      { file: join(samples, 'content/Sample.md'), key: 'notes/Sample.md' },
      { file: join(samples, 'content/Sample.pdf'), key: 'docs/Sample.pdf' },
      { file: join(samples, 'content/Sample.wav'), key: 'audio/Sample.wav' },
    ];
    say(`putting ${uploads.map((u) => u.key).join(', ')} into bucket ${tenant} with S3 alone`);
    await uploadWithS3(host, tenant, uploads);
    const files = await waitForRows(
      loadConfig({ ...process.env, P8FS_PG_DATABASE: database }),
      tenant,
      uploads,
      420_000,
    );
    const tierOf: Record<string, string> = {
      'notes/Sample.md': 'small',
      'docs/Sample.pdf': 'medium',
      'audio/Sample.wav': 'large',
    };
    for (const file of files) {
      const worker = outcome.get(`storage-worker-${tierOf[file.key]}`) as Result;
      const ok = file.status === 'completed' && file.chunks > 0;
      (ok ? worker.figures : worker.problems).push(
        `${file.key} ${file.status} in ${file.seconds.toFixed(0)}s, ${file.chunks} chunks${file.error ? ` (${file.error})` : ''}`,
      );
      const logs = await engine.logs(names.get(`storage-worker-${tierOf[file.key]}`) as string);
      if (ok && !logs.includes(file.key.split('/')[1] as string))
        worker.problems.push(`${file.key} not in its logs: another worker did it?`);
      if (file.key.endsWith('.wav') && ok) {
        const heard = ['memory', 'system', 'content', 'sample', 'testing'].filter((w) =>
          file.text.toLowerCase().includes(w),
        );
        (heard.length >= 2 ? worker.figures : worker.problems).push(
          `transcript words: ${heard.join(' ') || file.text.slice(0, 80)}`,
        );
        // The image ships Whisper's model; pocketsphinx here would mean Whisper failed in the container.
        (file.engines.includes('whisper') ? worker.figures : worker.problems).push(
          `engine ${file.engines.join('+') || 'none named'}`,
        );
      }
    }
    const bridge = outcome.get('tiered-storage-router');
    const subscriber = outcome.get('seaweedfs-grpc-subscriber');
    const allRows = files.every((f) => f.status === 'completed');
    for (const r of [bridge, subscriber])
      (allRows ? r?.figures : r?.problems)?.push(
        `${files.filter((f) => f.status === 'completed').length}/${files.length} uploads became rows`,
      );
    const vectors = await chunkVectors(loadConfig({ ...process.env, P8FS_PG_DATABASE: database }), tenant);
    const small = outcome.get('storage-worker-small') as Result;
    // Chunks are embedded on the small tier's -embed queue, with the model the image carries.
    const chunks = files.reduce((sum, f) => sum + f.chunks, 0);
    if (!vectors.table) small.problems.push('no embeddings tables (migration 0009 missing?)');
    else
      (vectors.vectors > 0 ? small.figures : small.problems).push(
        `${vectors.vectors} of ${chunks} chunks have vectors (${vectors.dimensions.join('/') || 'no'} dims)`,
      );

    const dreaming = outcome.get('p8fs-dreaming-worker') as Result;
    const t1 = Date.now();
    const dream = await cli(root, ['dream', 'start', '--tenant', tenant, '--wait'], cliEnv, 300_000);
    const dreamLine = /^(completed|skipped): .*$/m.exec(dream.stdout)?.[0];
    if (dream.code === 0 && dreamLine?.startsWith('completed'))
      dreaming.figures.push(`dream completed in ${((Date.now() - t1) / 1000).toFixed(0)}s`);
    else dreaming.problems.push(`dream: exit ${dream.code} ${(dreamLine ?? dream.stderr).slice(0, 200)}`);

    const apiRole = running.find((r) => r.args[0] === 'api');
    if (apiRole?.probe) {
      const api = outcome.get(apiRole.name) as Result;
      const listed = await apiListsFiles(root, cliEnv, tenant, apiRole.probe.port);
      (listed.ok ? api.figures : api.problems).push(listed.detail);
    }

    // 5. SIGTERM, as the kubelet stops a pod; each must exit 0 within its grace period.
    for (const role of running) {
      const result = outcome.get(role.name) as Result;
      const stop = await engine.terminate(names.get(role.name) as string, role.graceSeconds);
      const line = `SIGTERM → exit ${stop.exitCode} in ${stop.seconds.toFixed(1)}s (grace ${role.graceSeconds}s)`;
      (stop.exitCode === 0 && stop.seconds < role.graceSeconds ? result.figures : result.problems).push(line);
    }
  } finally {
    for (const r of results) r.ok = r.problems.length === 0;
    console.log('');
    for (const r of results)
      console.log(
        `${r.ok ? 'PASS' : 'FAIL'}  ${r.role.padEnd(26)} ${[...r.figures, ...r.problems.map((p) => `FAIL: ${p}`)].join('; ')}`,
      );
    console.log('');
    if (values.keep) say(`kept: containers ${[...names.values()].join(' ')}; database ${database}`);
    else {
      for (const name of names.values()) await engine.remove(name);
      const cleanup = await connectClient(host, 'postgres');
      await cleanup.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => cleanup.end());
    }
    say(`took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }
  return results.every((r) => r.ok) && results.length === roles.length ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`[image-test] error: ${error.message}`);
    process.exit(1);
  },
);
