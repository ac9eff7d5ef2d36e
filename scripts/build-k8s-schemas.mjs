#!/usr/bin/env node
/**
 * Builds the local JSON schemas kubeconform validates deploy/k8s with (scripts/install-deploy-tools.sh
 * calls it; nothing here touches the network):
 *
 * - Kubernetes: the strict schemas PyPI's kubernetes-validate wheel ships (generated from the Kubernetes
 *   OpenAPI by its maintainers; `additionalProperties: false` everywhere), copied with their references to
 *   `/api/_definitions.json` made absolute `file://` URLs, which kubeconform's loader resolves.
 * - KEDA: the CustomResourceDefinitions of the github.com/kedacore/keda/v2 Go module
 *   (config/crd/bases/*.yaml), each version's openAPIV3Schema made strict (every object that lists its
 *   properties refuses others, unless the CRD marks it x-kubernetes-preserve-unknown-fields), with
 *   metadata checked as a Kubernetes ObjectMeta. A CRD types trigger metadata only as a string map, so
 *   the ScaledObject schema also gets the metadata keys of the scalers we use (temporal, nats-jetstream),
 *   read from the `keda:"name=…"` tags of their Go source: unknown keys, values of the wrong type and
 *   missing required keys are then rejected too.
 *
 * Layout: OUT/kubernetes/<kind>-<group>-<version>.json and OUT/keda/<kind>-<group>-<version>.json, which
 * is kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`.
 *
 * Usage: node scripts/build-k8s-schemas.mjs --kubernetes DIR --keda-module DIR --out DIR
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** Scalers whose trigger metadata we type from the KEDA source (the ones deploy/k8s uses). */
const SCALERS = { temporal: 'temporal_scaler.go', 'nats-jetstream': 'nats_jetstream_scaler.go' };

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    const value = argv[i + 1];
    if (!key || value === undefined) usage(`missing value after ${argv[i]}`);
    out[key] = resolve(value);
  }
  for (const needed of ['kubernetes', 'keda-module', 'out']) if (!out[needed]) usage(`--${needed} is required`);
  return out;
}

function usage(problem) {
  console.error(`build-k8s-schemas: ${problem}\nusage: node scripts/build-k8s-schemas.mjs --kubernetes DIR --keda-module DIR --out DIR`);
  process.exit(2);
}

/** Kubernetes: copy, with `/api/_definitions.json#` made an absolute file URL next to the copies. */
function buildKubernetes(source, target) {
  mkdirSync(target, { recursive: true });
  const definitions = pathToFileURL(join(target, '_definitions.json')).href;
  let count = 0;
  for (const file of readdirSync(source)) {
    if (!file.endsWith('.json')) continue;
    const text = readFileSync(join(source, file), 'utf8').replaceAll('"/api/_definitions.json#', `"${definitions}#`);
    writeFileSync(join(target, file), text);
    count += 1;
  }
  if (count < 100) throw new Error(`only ${count} Kubernetes schemas in ${source}: is it the kubernetes-validate schema folder?`);
  return { count, definitions };
}

/** Every object schema that lists properties refuses unknown ones, as kubeconform's strict schemas do. */
function strict(schema) {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== 'object') return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strict(v)])) : strict(value);
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

/** Metadata keys of one scaler from its `keda:"…"` struct tags. */
function scalerMetadataSchema(goSource, scaler) {
  const properties = {};
  const required = [];
  for (const match of goSource.matchAll(/^\s*\w+\s+([\w[\]]+)\s+`keda:"([^"]*)"`/gm)) {
    const goType = match[1];
    const tag = Object.fromEntries(
      match[2].split(/,\s*/).map((part) => {
        const at = part.indexOf('=');
        return at < 0 ? [part.trim(), true] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
      }),
    );
    const order = String(tag.order ?? '').split(';');
    if (!order.includes('triggerMetadata') || typeof tag.name !== 'string') continue;
    // Settings KEDA says are removed stay out: using one is a mistake worth failing on.
    if (typeof tag.deprecated === 'string' && /removed/i.test(tag.deprecated)) continue;
    const value = goType.startsWith('int')
      ? { type: 'string', pattern: '^-?[0-9]+$' }
      : goType === 'bool'
        ? { type: 'string', enum: ['true', 'false'] }
        : { type: 'string', minLength: 1 };
    properties[tag.name] = value;
    if (order.includes('resolvedEnv')) properties[`${tag.name}FromEnv`] = { type: 'string', minLength: 1 };
    const optional = tag.optional === true || tag.default !== undefined || order.includes('authParams');
    if (!optional) required.push(order.includes('resolvedEnv') ? { anyOf: [{ required: [tag.name] }, { required: [`${tag.name}FromEnv`] }] } : { required: [tag.name] });
  }
  if (Object.keys(properties).length === 0) throw new Error(`no keda:"…" metadata tags found for the ${scaler} scaler`);
  return { type: 'object', properties, additionalProperties: false, ...(required.length ? { allOf: required } : {}) };
}

function buildKeda(moduleDir, target, objectMetaRef) {
  mkdirSync(target, { recursive: true });
  const crdDir = join(moduleDir, 'config/crd/bases');
  const triggerMetadata = Object.fromEntries(
    Object.entries(SCALERS).map(([type, file]) => [type, scalerMetadataSchema(readFileSync(join(moduleDir, 'pkg/scalers', file), 'utf8'), type)]),
  );
  const written = [];
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(crdDir, file), 'utf8'))) {
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const { group, names } = crd.spec;
      for (const version of crd.spec.versions) {
        const schema = strict(version.schema.openAPIV3Schema);
        schema.properties.apiVersion = { type: 'string', enum: [`${group}/${version.name}`] };
        schema.properties.kind = { type: 'string', enum: [names.kind] };
        schema.properties.metadata = { $ref: objectMetaRef };
        schema.required = [...new Set([...(schema.required ?? []), 'apiVersion', 'kind', 'metadata'])];
        const triggers = schema.properties.spec?.properties?.triggers;
        if (triggers?.items && names.kind !== 'ClusterTriggerAuthentication') {
          const typed = Object.keys(triggerMetadata);
          triggers.items = {
            ...triggers.items,
            anyOf: [
              ...typed.map((type) => ({ properties: { type: { enum: [type] }, metadata: triggerMetadata[type] } })),
              { properties: { type: { not: { enum: typed } } } },
            ],
          };
        }
        const name = `${names.kind.toLowerCase()}-${group.split('.')[0]}-${version.name}.json`;
        writeFileSync(join(target, name), `${JSON.stringify(schema, null, 1)}\n`);
        written.push(name);
      }
    }
  }
  if (!written.some((n) => n.startsWith('scaledobject-keda-'))) throw new Error(`no ScaledObject CRD in ${crdDir}`);
  return written;
}

const options = args();
rmSync(options.out, { recursive: true, force: true });
const k8s = buildKubernetes(options.kubernetes, join(options.out, 'kubernetes'));
const keda = buildKeda(
  options['keda-module'],
  join(options.out, 'keda'),
  `${k8s.definitions}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`,
);
console.log(`[setup] schemas: ${k8s.count} Kubernetes, ${keda.length} KEDA (${keda.join(', ')}) in ${options.out}`);
