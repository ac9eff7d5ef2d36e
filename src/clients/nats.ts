/**
 * Every NATS connection of every process (bridge, subscriber, API, workers, CLI, self-test) is made here,
 * so authentication (user and password, token, or a `.creds` file) and TLS (CA, client certificate and
 * key) apply to all of them, and a refused connection names the variable to fix.
 */
import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import type { Config } from '../config/config.js';
import { redactUrl } from '../config/redact.js';
import { errorText } from '../domain/errors.js';
import { startHint, unreachableError } from './unreachable.js';

type NatsSettings = Config['nats'];

/** The connection options the settings ask for (no secret is logged from here). */
export function natsConnectionOptions(nats: NatsSettings): NodeConnectionOptions {
  const options: NodeConnectionOptions = { servers: nats.url };
  if (nats.user !== undefined) {
    options.user = nats.user;
    options.pass = nats.password;
  }
  if (nats.token !== undefined) options.token = nats.token;
  if (nats.credsFile !== undefined) {
    const file = nats.credsFile;
    // Read at each (re)connect, so a rotated creds file is picked up without a restart.
    options.authenticator = credsAuthenticator(() => readFileSync(file));
  }
  const tlsFiles = nats.tlsCa ?? nats.tlsCert ?? nats.tlsKey;
  if (nats.tls || tlsFiles !== undefined || nats.url.startsWith('tls://')) {
    options.tls = {
      ...(nats.tlsCa !== undefined && { caFile: nats.tlsCa }),
      ...(nats.tlsCert !== undefined && { certFile: nats.tlsCert }),
      ...(nats.tlsKey !== undefined && { keyFile: nats.tlsKey }),
    };
  }
  return options;
}

/** What the settings hold, for messages: the names of the variables that are set, never their values. */
function authInUse(nats: NatsSettings): string {
  if (nats.user !== undefined) return 'P8FS_NATS_USER and P8FS_NATS_PASSWORD';
  if (nats.token !== undefined) return 'P8FS_NATS_TOKEN';
  if (nats.credsFile !== undefined) return `P8FS_NATS_CREDS (${nats.credsFile})`;
  return 'no credentials';
}

/**
 * A refused connection in words that name the variable to set. Undefined when the error is not about
 * credentials or TLS (then the server is treated as unreachable).
 */
export function natsRefusal(nats: NatsSettings, error: unknown): string | undefined {
  const text = errorText(error);
  const where = `NATS at ${redactUrl(nats.url)}`;
  if (
    /authori[sz]ation violation|authentication|user authentication|auth(entication)? (expired|revoked)/i.test(
      text,
    )
  ) {
    return (
      `${where} refused the connection (${text}) with ${authInUse(nats)}: set P8FS_NATS_USER and ` +
      'P8FS_NATS_PASSWORD, P8FS_NATS_TOKEN or P8FS_NATS_CREDS to what the server accepts'
    );
  }
  if (
    /self[- ]signed|unable to (get|verify)|certificate (has expired|is not yet valid)|altnames|hostname\/ip does not match/i.test(
      text,
    )
  ) {
    return (
      `${where}: its TLS certificate could not be verified (${text}): set P8FS_NATS_TLS_CA to the CA ` +
      'certificate (PEM) that signed it'
    );
  }
  if (/certificate required|bad certificate|alert.*certificate|client certificate/i.test(text)) {
    return (
      `${where} asks for a client certificate (${text}): set P8FS_NATS_TLS_CERT and P8FS_NATS_TLS_KEY ` +
      'to one its CA signed'
    );
  }
  if (/tls/i.test(text)) {
    return (
      `${where}: TLS failed (${text}): a server that requires TLS needs P8FS_NATS_TLS=true (or a tls:// ` +
      'URL, or P8FS_NATS_TLS_CA); one without TLS needs those unset'
    );
  }
  const tlsInUse = natsConnectionOptions(nats).tls !== undefined;
  if (tlsInUse && nats.tlsCert === undefined && /timeout|closed|ECONNRESET/i.test(text)) {
    // A server that verifies clients drops one without a certificate after the handshake, unexplained.
    return (
      `${where} did not complete the connection over TLS (${text}): if it verifies clients, set ` +
      `P8FS_NATS_TLS_CERT and P8FS_NATS_TLS_KEY; else ${startHint('P8FS_NATS_URL')}`
    );
  }
  return undefined;
}

export async function connectNats(cfg: Config, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      ...natsConnectionOptions(cfg.nats),
      name,
      timeout: 5000,
      maxReconnectAttempts: -1,
    });
  } catch (error) {
    const refusal = natsRefusal(cfg.nats, error);
    if (refusal) throw new Error(refusal, { cause: error });
    throw unreachableError(`NATS at ${redactUrl(cfg.nats.url)}`, 'P8FS_NATS_URL', errorText(error), error);
  }
}
