import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/config.js';

export async function connectTemporal(cfg: Config): Promise<Client> {
  try {
    const connection = await Connection.connect({ address: cfg.temporal.address, connectTimeout: 5000 });
    return new Client({ connection, namespace: cfg.temporal.namespace });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Temporal at ${cfg.temporal.address} unreachable: ${reason}`);
  }
}
