/**
 * How deploy/k8s/base runs each role, read from the manifests themselves so `make image-test` follows them
 * when they change: the command line (`args`, the image's entry point being `p8fs`), the environment a pod
 * starts with (the p8fs-config ConfigMap and p8fs-secrets Secret literals of kustomization.yaml, then the
 * container's own `env`), the user, a read-only root and the emptyDir volumes that are writable, the
 * dropped capabilities, the HTTP probe and Prometheus port, and the termination grace period.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export interface RoleSpec {
  /** The workload's name in the manifests (Deployment or Job). */
  name: string;
  kind: 'Deployment' | 'Job';
  /** Arguments after the image's entry point (`tini -- node bin/p8fs.js`). */
  args: string[];
  /** ConfigMap, then Secret, then the container's own env, as Kubernetes merges them. */
  env: Record<string, string>;
  user: number;
  group: number;
  readOnlyRoot: boolean;
  noNewPrivileges: boolean;
  dropAllCapabilities: boolean;
  /** mountPaths of emptyDir volumes (the only writable places on a read-only root). */
  emptyDirs: string[];
  /** The readiness probe's HTTP GET, with a named port resolved to its number. */
  probe?: { path: string; port: number };
  /** Where Prometheus scrapes (the pod's prometheus.io annotations), if it does. */
  metrics?: { path: string; port: number };
  graceSeconds: number;
}

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are read field by field, as deploy.test.ts does
type K8sObject = Record<string, any>;

/** `KEY=value` literals of a kustomize generator. */
function literals(kustomization: K8sObject, generator: string, name: string): Record<string, string> {
  const entry = (kustomization[generator] ?? []).find((g: K8sObject) => g.name === name);
  if (!entry) throw new Error(`kustomization.yaml has no ${generator} named ${name}`);
  return Object.fromEntries(
    (entry.literals as string[]).map((literal) => {
      const at = literal.indexOf('=');
      return [literal.slice(0, at), literal.slice(at + 1)];
    }),
  );
}

function portNumber(container: K8sObject, port: string | number): number {
  if (typeof port === 'number') return port;
  const named = (container.ports ?? []).find((p: K8sObject) => p.name === port);
  if (!named) throw new Error(`container ${container.name} has no port named ${port}`);
  return named.containerPort;
}

function roleOf(object: K8sObject, kustomization: K8sObject): RoleSpec {
  const pod = object.spec.template.spec;
  const container = pod.containers[0];
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef)
      Object.assign(env, literals(kustomization, 'configMapGenerator', from.configMapRef.name));
    if (from.secretRef) Object.assign(env, literals(kustomization, 'secretGenerator', from.secretRef.name));
  }
  for (const e of container.env ?? []) env[e.name] = String(e.value);
  const emptyDirNames = new Set(
    (pod.volumes ?? []).filter((v: K8sObject) => v.emptyDir).map((v: K8sObject) => v.name),
  );
  const http = container.readinessProbe?.httpGet ?? container.startupProbe?.httpGet;
  const annotations = object.spec.template.metadata?.annotations ?? {};
  const security = container.securityContext ?? {};
  return {
    name: object.metadata.name,
    kind: object.kind,
    args: container.args.map(String),
    env,
    user: security.runAsUser ?? pod.securityContext?.runAsUser,
    group: security.runAsGroup ?? pod.securityContext?.runAsGroup,
    readOnlyRoot: security.readOnlyRootFilesystem === true,
    noNewPrivileges: security.allowPrivilegeEscalation === false,
    dropAllCapabilities: (security.capabilities?.drop ?? []).includes('ALL'),
    emptyDirs: (container.volumeMounts ?? [])
      .filter((m: K8sObject) => emptyDirNames.has(m.name))
      .map((m: K8sObject) => m.mountPath),
    probe: http ? { path: http.path, port: portNumber(container, http.port) } : undefined,
    metrics:
      annotations['prometheus.io/scrape'] === 'true'
        ? {
            path: annotations['prometheus.io/path'] ?? '/metrics',
            port: Number(annotations['prometheus.io/port']),
          }
        : undefined,
    // Kubernetes' default when a pod does not say.
    graceSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
}

/** Every Job and Deployment of deploy/k8s/base, in the kustomization's resource order. */
export function readRoles(root: string): RoleSpec[] {
  const dir = join(root, 'deploy/k8s/base');
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as K8sObject;
  const roles: RoleSpec[] = [];
  for (const file of kustomization.resources as string[]) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const object = doc.toJS() as K8sObject;
      if (object?.kind === 'Deployment' || object?.kind === 'Job') roles.push(roleOf(object, kustomization));
    }
  }
  if (roles.length === 0) throw new Error(`no Deployment or Job in ${dir}`);
  return roles;
}
