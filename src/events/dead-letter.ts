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
  /** How many times this event had been replayed from the DLQ before it landed here (again). */
  replays?: number;
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

/** The header a replay sets on the republished event, so a second failure shows the history. */
export const REPLAYS_HEADER = 'P8FS-Replays';

/** The replay count a message carries (0 when it was never replayed, or the header is not a count). */
export function replaysOf(h: { get(name: string): string } | undefined): number {
  const value = Number(h?.get(REPLAYS_HEADER) ?? '');
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

export async function publishDeadLetter(
  js: JetStreamClient,
  cfg: Config,
  original: {
    data: Uint8Array;
    subject: string;
    /** The stream it came from (default: the events stream; the bridge also serves the original's tier streams). */
    stream?: string;
    streamSequence: number;
    deliveryCount: number;
    replays?: number;
  },
  reason: string,
): Promise<void> {
  const text = asText(original.data);
  const stream = original.stream ?? cfg.nats.eventsStream;
  const letter: DeadLetter = {
    reason,
    subject: original.subject,
    stream,
    streamSequence: original.streamSequence,
    deliveryCount: original.deliveryCount,
    receivedAt: new Date().toISOString(),
    ...(original.replays ? { replays: original.replays } : {}),
    ...(text !== undefined
      ? { payload: text }
      : { payloadBase64: Buffer.from(original.data).toString('base64') }),
  };
  const h = headers();
  h.set('P8FS-DLQ-Reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
  h.set('P8FS-Original-Subject', original.subject);
  await js.publish(cfg.nats.dlqSubject, JSON.stringify(letter), {
    msgID: `dlq:${stream}:${original.streamSequence}`,
    headers: h,
  });
}
