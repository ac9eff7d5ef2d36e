/**
 * Reading and replaying the dead-letter stream. A replay republishes the original payload on the events
 * subject (the bridge routes it again, now that the cause may be fixed) and removes the dead letter.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Config } from '../config/config.js';
import type { DeadLetter } from './dead-letter.js';

export interface StoredDeadLetter {
  seq: number;
  time: Date;
  letter: DeadLetter;
}

export async function listDeadLetters(
  jsm: JetStreamManager,
  cfg: Config,
  limit = 100,
): Promise<StoredDeadLetter[]> {
  const info = await jsm.streams.info(cfg.nats.dlqStream);
  const out: StoredDeadLetter[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < limit; seq++) {
    const msg = await jsm.streams.getMessage(cfg.nats.dlqStream, { seq }).catch(() => null);
    if (msg) out.push({ seq, time: msg.time, letter: msg.json<DeadLetter>() });
  }
  return out;
}

export function originalPayload(letter: DeadLetter): Uint8Array {
  if (letter.payload !== undefined) return new TextEncoder().encode(letter.payload);
  return Buffer.from(letter.payloadBase64 ?? '', 'base64');
}

export async function replayDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  cfg: Config,
  stored: StoredDeadLetter,
): Promise<number> {
  // A fresh message id: the original one may still sit in the duplicate window.
  const ack = await js.publish(cfg.nats.eventsSubject, originalPayload(stored.letter), {
    msgID: `replay:${cfg.nats.dlqStream}:${stored.seq}`,
  });
  await jsm.streams.deleteMessage(cfg.nats.dlqStream, stored.seq, false);
  return ack.seq;
}
