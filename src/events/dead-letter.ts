/**
 * Dead letters: the original payload, untouched, with the reason and where it came from. The message id
 * is derived from the source stream sequence, so a bridge that dies between publishing the dead letter
 * and acking the original does not write it twice.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Config } from '../config/config.js';

export interface DeadLetter {
  reason: string;
  subject: string;
  stream: string;
  streamSequence: number;
  deliveryCount: number;
  receivedAt: string;
  /** The original payload as text when it is UTF-8, else base64 in `payloadBase64`. */
  payload?: string;
  payloadBase64?: string;
}

function asText(data: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return undefined;
  }
}

export async function publishDeadLetter(
  js: JetStreamClient,
  cfg: Config,
  original: { data: Uint8Array; subject: string; streamSequence: number; deliveryCount: number },
  reason: string,
): Promise<void> {
  const text = asText(original.data);
  const letter: DeadLetter = {
    reason,
    subject: original.subject,
    stream: cfg.nats.eventsStream,
    streamSequence: original.streamSequence,
    deliveryCount: original.deliveryCount,
    receivedAt: new Date().toISOString(),
    ...(text !== undefined
      ? { payload: text }
      : { payloadBase64: Buffer.from(original.data).toString('base64') }),
  };
  const h = headers();
  h.set('P8FS-DLQ-Reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
  h.set('P8FS-Original-Subject', original.subject);
  await js.publish(cfg.nats.dlqSubject, JSON.stringify(letter), {
    msgID: `dlq:${cfg.nats.eventsStream}:${original.streamSequence}`,
    headers: h,
  });
}
