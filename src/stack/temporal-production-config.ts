/**
 * The configuration of the production-shaped Temporal server (src/stack/temporal-production.ts): the
 * server's own YAML (PostgreSQL persistence and visibility through the postgres12 plugin, several history
 * shards, the four services in one process on their own ports) and its dynamic config file, which
 * carries the same fairness settings as the dev server's `--dynamic-config-value` flags. Pure: renders
 * text from options, so a unit test can read it without starting anything.
 */
import { stringify } from 'yaml';
import { FAIRNESS_DYNAMIC_CONFIG } from './temporal-server.js';

/** Where the server keeps its state: databases on one PostgreSQL server. */
export interface TemporalPersistence {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The history, task and namespace tables (schema postgresql/v12/temporal). */
  database: string;
  /** Visibility, i.e. listing workflows by search attributes (schema postgresql/v12/visibility). */
  visibilityDatabase: string;
}

export interface TemporalServerConfigOptions {
  /** The frontend's gRPC port, what clients connect to; the other services' ports follow it. */
  port: number;
  /** Fixed when the databases are created: the server refuses another count on the same data. */
  historyShards: number;
  persistence: TemporalPersistence;
  dynamicConfigFile: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export interface TemporalServicePorts {
  grpc: number;
  membership: number;
}

/**
 * The ports of the four services, derived from the frontend's like Temporal's defaults (7233 frontend,
 * 7234 history, 7235 matching, 7239 worker; membership 6933…6939): gRPC at port+0/1/2/6, membership at
 * port+700…706, the frontend's HTTP API at port+10 and Prometheus metrics at port+11 (the dev server's
 * offsets in src/stack/temporal-server.ts).
 */
export function temporalServerPorts(port: number): {
  frontend: TemporalServicePorts;
  history: TemporalServicePorts;
  matching: TemporalServicePorts;
  worker: TemporalServicePorts;
  http: number;
  metrics: number;
} {
  if (!Number.isInteger(port) || port < 1 || port + 706 > 65535)
    throw new Error(`the Temporal frontend port must be an integer from 1 to ${65535 - 706}, got ${port}`);
  const service = (offset: number) => ({ grpc: port + offset, membership: port + 700 + offset });
  return {
    frontend: service(0),
    history: service(1),
    matching: service(2),
    worker: service(6),
    http: port + 10,
    metrics: port + 11,
  };
}

/** `KEY=JSON` pairs (the dev server's flag form) as a dynamic config file: each key one unconstrained value. */
export function dynamicConfigYaml(pairs: readonly string[] = FAIRNESS_DYNAMIC_CONFIG): string {
  const doc: Record<string, { value: unknown }[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`dynamic config value "${pair}" is not KEY=JSON`);
    doc[pair.slice(0, at)] = [{ value: JSON.parse(pair.slice(at + 1)) }];
  }
  return `# Written by src/stack/temporal-production-config.ts: the dev server's dynamic config values.\n${stringify(doc)}`;
}

function sqlStore(p: TemporalPersistence, database: string, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${p.host}:${p.port}`,
      connectProtocol: 'tcp',
      user: p.user,
      password: p.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/** The server's YAML for `temporal-server --config-file FILE start`. */
export function temporalServerConfigYaml(o: TemporalServerConfigOptions): string {
  if (!Number.isInteger(o.historyShards) || o.historyShards < 1)
    throw new Error(`the number of history shards must be a positive integer, got ${o.historyShards}`);
  const ports = temporalServerPorts(o.port);
  const rpc = (s: TemporalServicePorts, extra: Record<string, number> = {}) => ({
    rpc: { grpcPort: s.grpc, membershipPort: s.membership, bindOnLocalHost: true, ...extra },
  });
  const config = {
    log: { stdout: true, level: o.logLevel },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: o.historyShards,
      datastores: {
        // Temporal's own development config uses 20 connections for history and 2 for visibility; the
        // product lists workflows by search attribute (p8fs jobs), so visibility gets a few more.
        'postgres-default': sqlStore(o.persistence, o.persistence.database, 20),
        'postgres-visibility': sqlStore(o.persistence, o.persistence.visibilityDatabase, 5),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: {
        prometheus: {
          framework: 'tally',
          timerType: 'histogram',
          listenAddress: `127.0.0.1:${ports.metrics}`,
        },
      },
    },
    services: {
      frontend: rpc(ports.frontend, { httpPort: ports.http }),
      matching: rpc(ports.matching),
      history: rpc(ports.history),
      worker: rpc(ports.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${o.port}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
  return `# Written by src/stack/temporal-production-config.ts; rewritten on every start.\n${stringify(config)}`;
}
