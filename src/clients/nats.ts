import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config/config.js';

export async function connectNats(cfg: Config, name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: cfg.nats.url, name, timeout: 5000, maxReconnectAttempts: -1 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`NATS at ${cfg.nats.url} unreachable: ${reason}`);
  }
}
