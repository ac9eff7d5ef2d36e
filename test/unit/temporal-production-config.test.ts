/**
 * The production-shaped Temporal server's configuration (src/stack/temporal-production-config.ts): the
 * YAML parsed back names PostgreSQL through the postgres12 plugin for both stores, the shard count, ports
 * derived from the frontend's without overlap, and a dynamic config carrying the dev server's fairness
 * values; bad numbers are refused with the reason.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  dynamicConfigYaml,
  temporalServerConfigYaml,
  temporalServerPorts,
} from '../../src/stack/temporal-production-config.js';
import { FAIRNESS_DYNAMIC_CONFIG } from '../../src/stack/temporal-server.js';

const persistence = {
  host: '127.0.0.1',
  port: 17432,
  user: 'postgres',
  password: 'secret',
  database: 'temporal',
  visibilityDatabase: 'temporal_visibility',
};
const options = {
  port: 17233,
  historyShards: 4,
  persistence,
  dynamicConfigFile: '/x/dynamicconfig.yaml',
  logLevel: 'warn' as const,
};

describe('production-shaped Temporal config', () => {
  it('persists history and visibility to PostgreSQL (postgres12) with the given shards', () => {
    const config = parse(temporalServerConfigYaml(options));
    expect(config.persistence.numHistoryShards).toBe(4);
    const stores = config.persistence.datastores;
    expect(stores[config.persistence.defaultStore].sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal',
      connectAddr: '127.0.0.1:17432',
      password: 'secret',
    });
    expect(stores[config.persistence.visibilityStore].sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal_visibility',
    });
    expect(config.dynamicConfigClient.filepath).toBe('/x/dynamicconfig.yaml');
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe('127.0.0.1:17233');
  });

  it('gives every service its own ports, derived from the frontend port', () => {
    const config = parse(temporalServerConfigYaml(options));
    expect(config.services.frontend.rpc).toMatchObject({
      grpcPort: 17233,
      membershipPort: 17933,
      httpPort: 17243,
    });
    const ports = temporalServerPorts(17233);
    const all = [
      ...[ports.frontend, ports.history, ports.matching, ports.worker].flatMap((s) => [s.grpc, s.membership]),
      ports.http,
      ports.metrics,
    ];
    expect(new Set(all).size).toBe(all.length);
    for (const name of ['history', 'matching', 'worker'] as const)
      expect(config.services[name].rpc.grpcPort).toBe(ports[name].grpc);
  });

  it("carries the dev server's fairness values as dynamic config", () => {
    const dynamic = parse(dynamicConfigYaml());
    expect(Object.keys(dynamic)).toEqual(FAIRNESS_DYNAMIC_CONFIG.map((pair) => pair.split('=')[0]));
    expect(dynamic['matching.enableFairness']).toEqual([{ value: true }]);
    expect(dynamic['matching.numTaskqueueWritePartitions']).toEqual([{ value: 1 }]);
  });

  it('refuses bad shard counts, ports and dynamic config values with the reason', () => {
    expect(() => temporalServerConfigYaml({ ...options, historyShards: 0 })).toThrow(/history shards/);
    expect(() => temporalServerPorts(65000)).toThrow(/frontend port/);
    expect(() => dynamicConfigYaml(['matching.enableFairness'])).toThrow(/KEY=JSON/);
  });
});
