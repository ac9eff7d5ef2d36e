/**
 * deploy/k8s, the Dockerfile and the variables both set, checked without a cluster or container engine
 * (docs/DEPLOY.md): `kustomize build` renders the base and the local overlay; kubeconform validates every
 * rendered object against local Kubernetes 1.34 and KEDA 2.21 schemas (scripts/build-k8s-schemas.mjs),
 * and is shown to reject broken objects; the names, probes, grace periods and KEDA triggers are checked
 * against the code they must agree with; hadolint lints the Dockerfile. The tools come from
 * scripts/install-deploy-tools.sh (pinned, idempotent; `make test` starts it in the background, and this file runs it again, waiting on its lock).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { type Config, loadConfig } from '../../src/config/config.js';
import { llmTaskQueue, taskQueueFor, userInsightTaskQueue } from '../../src/temporal/names.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tools = join(root, '.stack/deploy-tools');
const kustomize = join(tools, 'bin/kustomize');
const kubeconform = join(tools, 'bin/kubeconform');
const hadolint = join(root, '.stack/venv/bin/hadolint');

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are checked field by field
type K8sObject = Record<string, any>;

const WORKERS = {
  'storage-worker-small': 'small',
  'storage-worker-medium': 'medium',
  'storage-worker-large': 'large',
  'p8fs-dreaming-worker': 'llm',
  'user-insight-worker': 'user-insight',
} as const;

type WorkerQueue = (typeof WORKERS)[keyof typeof WORKERS];
/** The insight workers, which the seeds do not size: their command and task queue. */
const INSIGHT: Partial<Record<WorkerQueue, { args: string[]; queue: (cfg: Config) => string }>> = {
  llm: { args: ['dreaming-worker'], queue: llmTaskQueue },
  'user-insight': { args: ['user-insight-worker'], queue: userInsightTaskQueue },
};

function run(command: string, args: string[], input?: string) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', input, timeout: 120_000 });
  if (result.error) throw result.error;
  return result;
}

function build(dir: string): { text: string; objects: K8sObject[] } {
  const result = run(kustomize, ['build', dir]);
  expect(result.status, `kustomize build ${dir}:\n${result.stderr}`).toBe(0);
  const objects = parseAllDocuments(result.stdout).map((doc) => doc.toJS() as K8sObject);
  return { text: result.stdout, objects };
}

/** kubeconform on a rendered stream: its JSON report. */
function validate(text: string): {
  summary: Record<string, number>;
  resources: { name: string; kind: string; status: string; msg: string }[];
} {
  const schemas = join(tools, 'schemas');
  const result = run(
    kubeconform,
    [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-schema-location',
      `${schemas}/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-schema-location',
      `${schemas}/keda/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-',
    ],
    text,
  );
  return JSON.parse(result.stdout);
}

/**
 * The storage tiers' replica floors as the seeds state them: seed 001's "Min Replicas" column of its
 * storage workers table, which its Deployments (replicas) and its KEDA ScaledObject (minReplicaCount) repeat.
 */
function seedFloors(): Record<'small' | 'medium' | 'large', number> {
  const seedsDir = join(root, '../shared/seeds');
  const file = readdirSync(seedsDir).find((f) => f.startsWith('001_')) as string;
  const text = readFileSync(join(seedsDir, file), 'utf8');
  const header = text.split('\n').find((l) => /^\|.*Min Replicas/.test(l)) as string;
  const column = header.split('|').findIndex((cell) => cell.trim() === 'Min Replicas');
  const floors: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const cells = line.split('|');
    const tier = /\*\*(Small|Medium|Large)\*\*/.exec(cells[1] ?? '')?.[1]?.toLowerCase();
    if (tier) floors[tier] = Number(cells[column]?.trim());
  }
  return floors as Record<'small' | 'medium' | 'large', number>;
}

/** Every variable name src/config reads: string literals and `env.NAME` of its modules, comments removed. */
function configVariables(): Set<string> {
  const names = new Set<string>();
  const dir = join(root, 'src/config');
  // Recursive: the variables are declared in src/config/sections/ too.
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  for (const file of files.filter((f) => f.endsWith('.ts'))) {
    const code = readFileSync(join(dir, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const m of code.matchAll(/['"`]([A-Z][A-Z0-9_]{2,})['"`]/g)) names.add(m[1] as string);
    for (const m of code.matchAll(/\benv\.([A-Z][A-Z0-9_]{2,})\b/g)) names.add(m[1] as string);
  }
  return names;
}

const of = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`${kind} ${name} is missing from the render`);
  return found;
};
const decode = (data: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );

/** The Secret's placeholders replaced as an operator must before anything starts (docs/SECURITY.md). */
function operatorFilled(env: Record<string, string>): Record<string, string> {
  return {
    ...env,
    P8FS_S3_SECRET_KEY: 's3-'.padEnd(40, 'x'),
    P8FS_API_PRESIGN_SECRET_KEY: 'dl-'.padEnd(40, 'y'),
  };
}

/** The environment a container of the render starts with: ConfigMap, Secret, then its own env. */
function containerEnv(objects: K8sObject[], container: K8sObject): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, named(objects, 'ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) Object.assign(env, decode(named(objects, 'Secret', from.secretRef.name).data));
  }
  for (const e of container.env ?? []) env[e.name] = e.value;
  return env;
}

/** Longest activity heartbeat timeout declared in src/workflows, in seconds. */
function longestHeartbeatSeconds(): number {
  const dir = join(root, 'src/workflows');
  const seconds: number[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const code = readFileSync(join(dir, file), 'utf8');
    for (const m of code.matchAll(/heartbeat(?:Timeout)?:\s*'(\d+) (second|seconds|minute|minutes)'/g))
      seconds.push(Number(m[1]) * (m[2]?.startsWith('minute') ? 60 : 1));
  }
  expect(seconds.length, 'heartbeat timeouts found in src/workflows').toBeGreaterThan(2);
  return Math.max(...seconds);
}

const mebibytes = (quantity: string): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`memory quantity ${quantity} is not in Mi or Gi`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
};

let base: { text: string; objects: K8sObject[] };
let local: { text: string; objects: K8sObject[] };

beforeAll(() => {
  const install = run('bash', ['scripts/install-deploy-tools.sh']);
  expect(
    install.status,
    `scripts/install-deploy-tools.sh failed:\n${install.stdout}\n${install.stderr}`,
  ).toBe(0);
  base = build('deploy/k8s/base');
  local = build('deploy/k8s/overlays/local');
}, 600_000);

describe('deploy/k8s', () => {
  it('renders with kustomize and every object is valid against the Kubernetes and KEDA schemas', () => {
    // One kubeconform run for both renders: compiling the schemas is most of its time.
    const report = validate(`${base.text}\n---\n${local.text}`);
    const problems = report.resources.filter((r) => r.status !== 'statusValid');
    expect(problems, JSON.stringify(problems, null, 1)).toEqual([]);
    expect(report.summary.valid).toBe(base.objects.length + local.objects.length);
    expect(report.summary.skipped).toBe(0);
    expect(of(local.objects, 'Namespace').map((n) => n.metadata.name)).toEqual(['p8fs']);
    expect(
      new Set(local.objects.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace)),
    ).toEqual(new Set(['p8fs']));
  }, 60_000);

  it('has a validation that really rejects broken objects', () => {
    const objects = structuredClone(local.objects);
    const small = named(objects, 'Deployment', 'storage-worker-small');
    small.spec.template.spec.containers[0].resourcs = small.spec.template.spec.containers[0].resources;
    named(objects, 'PodDisruptionBudget', 'storage-worker-medium').spec.selector = 'app=medium';
    named(objects, 'ScaledObject', 'storage-worker-large-scaler').spec.triggers[0].metadata.targetQueueSise =
      '3';
    const bridge = named(objects, 'ScaledObject', 'tiered-storage-router-scaler');
    delete bridge.spec.triggers[0].metadata.stream;
    named(objects, 'Job', 'p8fs-migrate').spec.backoffLimit = '6';
    const text = objects.map((o) => `---\n${JSON.stringify(o)}\n`).join('');
    const report = validate(text);
    const invalid = Object.fromEntries(
      report.resources.filter((r) => r.status === 'statusInvalid').map((r) => [`${r.kind}/${r.name}`, r.msg]),
    );
    expect(Object.keys(invalid).sort()).toEqual([
      'Deployment/storage-worker-small',
      'Job/p8fs-migrate',
      'PodDisruptionBudget/storage-worker-medium',
      'ScaledObject/storage-worker-large-scaler',
      'ScaledObject/tiered-storage-router-scaler',
    ]);
    expect(invalid['Deployment/storage-worker-small']).toContain(
      "additional properties 'resourcs' not allowed",
    );
    expect(invalid['ScaledObject/storage-worker-large-scaler']).toContain("'targetQueueSise' not allowed");
    expect(invalid['ScaledObject/tiered-storage-router-scaler']).toContain("missing property 'stream'");
  }, 60_000);

  it('runs each role under the names operators type, from one image', () => {
    const deployments = of(base.objects, 'Deployment')
      .map((d) => d.metadata.name)
      .sort();
    expect(deployments).toEqual(
      [...Object.keys(WORKERS), 'p8fs-api', 'seaweedfs-grpc-subscriber', 'tiered-storage-router'].sort(),
    );
    const args = (name: string) =>
      named(base.objects, 'Deployment', name).spec.template.spec.containers[0].args;
    // The primary command names (src/cli/process-commands.ts); the Deployments keep the seeds' names.
    expect(args('tiered-storage-router')).toEqual(['bridge']);
    expect(args('seaweedfs-grpc-subscriber')).toEqual(['subscriber']);
    expect(args('p8fs-api')).toEqual(['api']);
    for (const [name, tier] of Object.entries(WORKERS))
      expect(args(name)).toEqual(INSIGHT[tier]?.args ?? ['storage-worker', '--tier', tier]);
    const job = named(base.objects, 'Job', 'p8fs-migrate');
    expect(job.spec.template.spec.containers[0].args).toEqual(['migrate']);
    const images = new Set(
      [...of(base.objects, 'Deployment'), job].map((o) => o.spec.template.spec.containers[0].image),
    );
    expect(images).toEqual(new Set(['p8fs-flows:0.1.0']));
  });

  it("labels the pods so the seeds' kubectl selectors find them", () => {
    const storage = ['storage-worker-small', 'storage-worker-medium', 'storage-worker-large'];
    const expected: Record<string, string[]> = {
      'app=tiered-storage-router': ['tiered-storage-router'],
      'app=storage-worker': storage,
      'tier=small': ['storage-worker-small'],
      'tier=medium': ['storage-worker-medium'],
      'tier=large': ['storage-worker-large'],
      'component=worker': [...storage, 'p8fs-dreaming-worker', 'user-insight-worker'],
    };
    // Every selector the seeds use on namespace p8fs is one of these.
    const seedsDir = join(root, '../shared/seeds');
    const seeds = readdirSync(seedsDir)
      .filter((f) => f.endsWith('.txt'))
      .map((f) => readFileSync(join(seedsDir, f), 'utf8'))
      .join('\n');
    const used = seeds
      .split('\n')
      .filter((line) => /^kubectl .*-n p8fs\b/.test(line))
      .flatMap((line) => [...line.matchAll(/-l ([\w.-]+=[\w.-]+)/g)].map((m) => m[1] as string));
    expect(used.length).toBeGreaterThan(3);
    for (const selector of used) expect(Object.keys(expected), selector).toContain(selector);
    const deployments = of(base.objects, 'Deployment');
    for (const [selector, names] of Object.entries(expected)) {
      const [key, value] = selector.split('=') as [string, string];
      // `kubectl get deployments -l` reads the Deployment's labels, `kubectl logs -l` its pods'.
      const selected = (labels: (d: K8sObject) => Record<string, string>) =>
        deployments
          .filter((d) => labels(d)?.[key] === value)
          .map((d) => d.metadata.name)
          .sort();
      expect(
        selected((d) => d.metadata.labels),
        selector,
      ).toEqual([...names].sort());
      expect(
        selected((d) => d.spec.template.metadata.labels),
        selector,
      ).toEqual([...names].sort());
    }
    // The recommended labels stay, the component naming the process.
    const component = (name: string) =>
      named(base.objects, 'Deployment', name).spec.template.metadata.labels['app.kubernetes.io/component'];
    expect(component('tiered-storage-router')).toBe('bridge');
    expect(component('seaweedfs-grpc-subscriber')).toBe('subscriber');
    for (const name of storage) expect(component(name)).toBe('storage-worker');
    expect(component('p8fs-dreaming-worker')).toBe('dreaming-worker');
    expect(component('user-insight-worker')).toBe('user-insight-worker');
    expect(component('p8fs-api')).toBe('api');
    for (const d of deployments)
      expect(d.spec.template.metadata.labels['app.kubernetes.io/name']).toBe(d.metadata.name);
  });

  it('sets only variables src/config reads, with values it accepts', () => {
    const known = configVariables();
    expect(known.has('P8FS_NATS_URL') && known.has('TEMPORAL_ADDRESS')).toBe(true);
    for (const render of [base, local]) {
      const set = new Set<string>();
      for (const cm of of(render.objects, 'ConfigMap'))
        for (const k of Object.keys(cm.data ?? {})) set.add(k);
      for (const s of of(render.objects, 'Secret')) for (const k of Object.keys(s.data ?? {})) set.add(k);
      for (const o of [...of(render.objects, 'Deployment'), ...of(render.objects, 'Job')])
        for (const c of o.spec.template.spec.containers) for (const e of c.env ?? []) set.add(e.name);
      expect([...set].filter((name) => !known.has(name))).toEqual([]);
      // The seeds' names are the ones set.
      for (const seed of [
        'P8FS_NATS_URL',
        'P8FS_SEAWEEDFS_ENDPOINT',
        'P8FS_SEAWEEDFS_FILER',
        'P8FS_PG_HOST',
        'P8FS_PG_PORT',
        'P8FS_PG_DATABASE',
        'P8FS_PG_USER',
        'P8FS_PG_PASSWORD',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'OPENAI_API_KEY',
        'ANTHROPIC_API_KEY',
      ])
        expect(set.has(seed), seed).toBe(true);
      // No render carries a secret a cluster could start with: every process refuses the placeholders,
      // naming the variable; once the operator fills the Secret, each environment is a valid configuration.
      for (const d of of(render.objects, 'Deployment')) {
        const env = containerEnv(render.objects, d.spec.template.spec.containers[0]);
        expect(() => loadConfig(env), d.metadata.name).toThrow(
          /P8FS_S3_SECRET_KEY is a published placeholder/,
        );
        expect(() => loadConfig(operatorFilled(env)), d.metadata.name).not.toThrow();
      }
    }
    // docker-compose.yml too: every app service's environment.
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { build?: unknown; environment?: Record<string, unknown> }>;
    };
    for (const [name, svc] of Object.entries(compose.services)) {
      if (!svc.build) continue;
      const unknown = Object.keys(svc.environment ?? {}).filter((k) => !known.has(k));
      expect(unknown, `docker-compose.yml ${name}`).toEqual([]);
    }
  });

  it('probes /health on the port each process serves it, and gives workers time to drain', () => {
    const heartbeat = longestHeartbeatSeconds();
    for (const d of of(base.objects, 'Deployment')) {
      const name = d.metadata.name as string;
      const pod = d.spec.template.spec;
      const container = pod.containers[0];
      const cfg: Config = loadConfig(operatorFilled(containerEnv(base.objects, container)));
      const port =
        name === 'tiered-storage-router'
          ? cfg.bridge.healthPort
          : name === 'seaweedfs-grpc-subscriber'
            ? cfg.subscriber.healthPort
            : name === 'p8fs-api'
              ? cfg.api.port
              : cfg.worker.metricsPort;
      const portNumber = (ref: string | number) =>
        typeof ref === 'number' ? ref : container.ports.find((p: K8sObject) => p.name === ref)?.containerPort;
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        expect(container[probe]?.httpGet?.path, `${name} ${probe}`).toBe('/health');
        expect(portNumber(container[probe].httpGet.port), `${name} ${probe} port`).toBe(port);
      }
      expect(container.resources.requests.memory, `${name} memory request`).toBeTruthy();
      expect(mebibytes(container.resources.limits.memory)).toBeGreaterThanOrEqual(
        mebibytes(container.resources.requests.memory),
      );
      const pdb = of(base.objects, 'PodDisruptionBudget').find(
        (p) => p.spec.selector.matchLabels['app.kubernetes.io/name'] === name,
      );
      expect(pdb, `${name} has a PodDisruptionBudget`).toBeDefined();
      if (name in WORKERS) {
        // Reachable from the kubelet and Prometheus, not only from inside the pod.
        expect(cfg.worker.metricsHost).toBe('0.0.0.0');
        expect(pod.terminationGracePeriodSeconds, `${name} grace`).toBeGreaterThan(
          cfg.worker.shutdownGraceSeconds + heartbeat,
        );
      }
    }
  });

  it('scales each task queue with KEDA: temporal per queue, nats-jetstream for the bridge', () => {
    // By the Deployment each scales; each is named as the seeds name theirs (`<deployment>-scaler`).
    const scaled: Record<string, K8sObject> = Object.fromEntries(
      of(base.objects, 'ScaledObject').map((s) => [s.spec.scaleTargetRef.name, s]),
    );
    for (const [target, so] of Object.entries(scaled)) expect(so.metadata.name).toBe(`${target}-scaler`);
    const seedsDir = join(root, '../shared/seeds');
    const seeded = readdirSync(seedsDir)
      .filter((f) => /^00[01]_/.test(f))
      .flatMap((f) => [...readFileSync(join(seedsDir, f), 'utf8').matchAll(/scaledobject ([\w-]+) -n p8fs/g)])
      .map((m) => m[1]);
    expect(seeded.length).toBeGreaterThan(0);
    for (const name of seeded) expect(Object.values(scaled).map((s) => s.metadata.name)).toContain(name);
    expect(Object.keys(scaled).sort()).toEqual([...Object.keys(WORKERS), 'tiered-storage-router'].sort());
    const targets: Record<string, number> = {};
    for (const [name, tier] of Object.entries(WORKERS)) {
      const so = scaled[name] as K8sObject;
      expect(so.spec.scaleTargetRef.name).toBe(name);
      const container = named(base.objects, 'Deployment', name).spec.template.spec.containers[0];
      const env = containerEnv(base.objects, container);
      const cfg = loadConfig(operatorFilled(env));
      const [trigger] = so.spec.triggers;
      expect(trigger.type).toBe('temporal');
      const insight = INSIGHT[tier];
      expect(trigger.metadata.taskQueue).toBe(
        insight ? insight.queue(cfg) : taskQueueFor(cfg, tier as 'small' | 'medium' | 'large'),
      );
      // The scaler reads the same Temporal the worker talks to, from the worker's environment.
      expect(env[trigger.metadata.endpointFromEnv]).toBe(cfg.temporal.address);
      expect(env[trigger.metadata.namespaceFromEnv]).toBe(cfg.temporal.namespace);
      targets[tier] = Number(trigger.metadata.targetQueueSize);
      // The storage tiers' floors are the seeds' (seedFloors); the LLM worker, which the seeds do not
      // size, scales to zero too. The Deployment starts at the floor; KEDA owns the count afterwards.
      const floor = insight ? 0 : seedFloors()[tier as 'small' | 'medium' | 'large'];
      expect(so.spec.minReplicaCount, `${name} minReplicaCount`).toBe(floor);
      if (!insight)
        expect(named(base.objects, 'Deployment', name).spec.replicas, `${name} replicas`).toBe(floor);
    }
    expect(seedFloors()).toEqual({ small: 2, medium: 0, large: 0 });
    // Bigger files, fewer waiting per replica.
    expect(targets.small).toBeGreaterThan(targets.medium as number);
    expect(targets.medium).toBeGreaterThan(targets.large as number);

    const bridge = scaled['tiered-storage-router'] as K8sObject;
    const cfg = loadConfig(
      operatorFilled(
        containerEnv(
          base.objects,
          named(base.objects, 'Deployment', 'tiered-storage-router').spec.template.spec.containers[0],
        ),
      ),
    );
    const [trigger] = bridge.spec.triggers;
    expect(trigger.type).toBe('nats-jetstream');
    expect(trigger.metadata.stream).toBe(cfg.nats.eventsStream);
    expect(trigger.metadata.consumer).toBe(cfg.nats.bridgeConsumer);
    expect(trigger.metadata.natsServerMonitoringEndpoint).toBe(new URL(cfg.nats.monitorUrl).host);
    expect(bridge.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
  });
});

describe('Dockerfile', () => {
  it('passes hadolint (.hadolint.yaml), which really rejects a bad Dockerfile', () => {
    const ok = run(hadolint, ['--config', '.hadolint.yaml', 'Dockerfile']);
    expect(ok.status, `hadolint Dockerfile:\n${ok.stdout}${ok.stderr}`).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'p8fs-hadolint-'));
    const bad = join(dir, 'Dockerfile');
    writeFileSync(bad, 'FROM node:latest\nRUN cd /app && npm install\nUSER root\nCMD node bin/p8fs.js\n');
    const rejected = run(hadolint, ['--config', '.hadolint.yaml', '--no-color', bad]);
    expect(rejected.status).not.toBe(0);
    for (const rule of ['DL3007', 'DL3003', 'DL3002', 'DL3025']) expect(rejected.stdout).toContain(rule);
  });

  it('builds and starts with the same commands as this project (npm scripts, bin/p8fs.js)', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    // The commands after the optional build-secret mounts (the building machine's registry settings).
    const runs = [...dockerfile.matchAll(/^RUN (?:--mount=type=secret,\S+ )*(.*)$/gm)].map((m) => m[1]);
    expect(runs).toContain('npm install');
    expect(runs).toContain('npm run build');
    expect(runs.some((r) => r?.startsWith('npm install --omit=dev && npm cache clean --force'))).toBe(true);
    // No registry or mirror is written into it: those come from the machine that builds (scripts/image/build.sh).
    expect(dockerfile).not.toMatch(/https?:\/\/|index-url|registry=/);
    expect(pkg.scripts.build).toContain('build-workflow-bundle');
    expect(dockerfile).toContain(`"node", "${pkg.bin.p8fs}"]`);
    // Every base image is pinned to a full version (a stage built on an earlier stage names that stage).
    const stages = new Set([...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]));
    for (const m of dockerfile.matchAll(/^FROM (\S+)/gm))
      if (!stages.has(m[1])) expect(m[1]).toMatch(/:\d+\.\d+\.\d+-/);
    // The providers' tools.
    for (const tool of ['ffmpeg', 'tesseract-ocr', 'tesseract-ocr-eng', 'poppler-utils'])
      expect(dockerfile).toContain(` ${tool}`);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    // Offline speech-to-text from the same pins the local stack installs, in the venv the config is told of.
    expect(dockerfile).toContain('COPY scripts/stt-requirements.txt');
    expect(dockerfile).toMatch(/\/opt\/stt\/bin\/pip install [^\n]*-r \/tmp\/stt-requirements\.txt/);
    expect(dockerfile).toMatch(/^ENV P8FS_TRANSCRIPTION_PYTHON=\/opt\/stt\/bin\/python$/m);
    expect(dockerfile).toContain('COPY --from=stt /opt/stt /opt/stt');
    const installServers = readFileSync(join(root, 'scripts/install-servers.sh'), 'utf8');
    expect(installServers).toContain('-r scripts/stt-requirements.txt');
    // `make test` builds with the same script the image runs (Makefile: test depends on build).
    const makefile = readFileSync(join(root, 'Makefile'), 'utf8');
    expect(makefile).toMatch(/^test: .*\bbuild\b/m);
    expect(makefile).toMatch(/npm run --silent build/);
  });
});
