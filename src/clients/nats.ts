import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config/config.js';
import { redactUrl } from '../config/redact.js';
import { errorText } from '../domain/errors.js';
import { unreachableError } from './unreachable.js';

export async function connectNats(cfg: Config, name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: cfg.nats.url, name, timeout: 5000, maxReconnectAttempts: -1 });
  } catch (error) {
    throw unreachableError(`NATS at ${redactUrl(cfg.nats.url)}`, 'P8FS_NATS_URL', errorText(error), error);
  }
}
