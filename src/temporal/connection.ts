/**
 * Connections to Temporal, built from the configuration the `temporal` CLI would use (address,
 * namespace, TLS, API key, profiles; see loadConfig). Clients for starting and querying workflows;
 * native connections for workers.
 */
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { unreachableError } from '../clients/unreachable.js';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { clientTracingInterceptors } from '../telemetry/tracing.js';

const CONNECT_TIMEOUT_MS = 5000;

function connectionOptions(cfg: Config): ConnectionOptions {
  return {
    ...(cfg.temporal.connect.connectionOptions as ConnectionOptions),
    connectTimeout: CONNECT_TIMEOUT_MS,
  };
}

function unreachable(cfg: Config, error: unknown): Error {
  return unreachableError(`Temporal at ${cfg.temporal.address}`, 'TEMPORAL_ADDRESS', errorText(error), error);
}

/** A connected client; fails at once, naming the address, when Temporal does not answer. */
export async function connectTemporal(cfg: Config): Promise<Client> {
  try {
    const connection = await Connection.connect(connectionOptions(cfg));
    return new Client({
      connection,
      namespace: cfg.temporal.namespace,
      interceptors: clientTracingInterceptors(),
    });
  } catch (error) {
    throw unreachable(cfg, error);
  }
}

/** A client that connects on first use, for processes that must start while Temporal is still down. */
export function lazyTemporalClient(cfg: Config): Client {
  const connection = Connection.lazy(connectionOptions(cfg));
  // With tracing on, a start joins the caller's active span (the bridge's span for the event).
  return new Client({
    connection,
    namespace: cfg.temporal.namespace,
    interceptors: clientTracingInterceptors(),
  });
}

/** The connection a worker polls with. */
export async function connectWorkerConnection(cfg: Config): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(cfg.temporal.connect.connectionOptions);
  } catch (error) {
    throw unreachable(cfg, error);
  }
}
