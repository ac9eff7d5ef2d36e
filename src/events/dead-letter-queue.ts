/**
 * Reading, selecting, replaying and discarding dead letters. A replay republishes the original payload on
 * the events subject (the bridge routes it again, now that the cause may be fixed) and removes the dead
 * letter; a discard only removes it. Both leave nothing half done: the letter is removed only after the
 * replay was acknowledged by JetStream.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Config } from '../config/config.js';
import { type DeadLetter, REPLAYS_HEADER } from './dead-letter.js';

export interface StoredDeadLetter {
  seq: number;
  time: Date;
  letter: DeadLetter;
}

/** Which dead letters a command acts on: sequences, or filters (reason substring, newer than), or all. */
export interface DeadLetterSelector {
  seqs?: number[];
  reason?: string;
  since?: Date;
  all?: boolean;
}

export interface Selection {
  letters: StoredDeadLetter[];
  /** Requested sequences that are not (or no longer) in the DLQ. */
  missing: number[];
}

export async function listDeadLetters(
  jsm: JetStreamManager,
  cfg: Config,
  limit = 100,
  filter: Omit<DeadLetterSelector, 'seqs' | 'all'> = {},
): Promise<StoredDeadLetter[]> {
  const info = await jsm.streams.info(cfg.nats.dlqStream).catch(() => undefined);
  const out: StoredDeadLetter[] = [];
  if (!info || info.state.messages === 0) return out;
  const reason = filter.reason?.toLowerCase();
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < limit; seq++) {
    const msg = await jsm.streams.getMessage(cfg.nats.dlqStream, { seq }).catch(() => null);
    if (!msg) continue;
    const stored = { seq, time: msg.time, letter: msg.json<DeadLetter>() };
    if (reason && !stored.letter.reason.toLowerCase().includes(reason)) continue;
    if (filter.since && stored.time < filter.since) continue;
    out.push(stored);
  }
  return out;
}

/** The dead letters a selector names; sequences that do not exist are reported, not ignored. */
export async function selectDeadLetters(
  jsm: JetStreamManager,
  cfg: Config,
  selector: DeadLetterSelector,
): Promise<Selection> {
  if (selector.seqs && selector.seqs.length > 0) {
    const letters: StoredDeadLetter[] = [];
    const missing: number[] = [];
    for (const seq of selector.seqs) {
      const msg = await jsm.streams.getMessage(cfg.nats.dlqStream, { seq }).catch(() => null);
      if (msg) letters.push({ seq, time: msg.time, letter: msg.json<DeadLetter>() });
      else missing.push(seq);
    }
    return { letters, missing };
  }
  if (!selector.all && selector.reason === undefined && selector.since === undefined) {
    throw new Error('name dead letters by sequence number, or select them with --reason, --since or --all');
  }
  return {
    letters: await listDeadLetters(jsm, cfg, Number.MAX_SAFE_INTEGER, selector),
    missing: [],
  };
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
  const h = headers();
  h.set(REPLAYS_HEADER, String((stored.letter.replays ?? 0) + 1));
  // A fresh message id: the original one may still sit in the duplicate window.
  const ack = await js.publish(cfg.nats.eventsSubject, originalPayload(stored.letter), {
    msgID: `replay:${cfg.nats.dlqStream}:${stored.seq}`,
    headers: h,
  });
  await jsm.streams.deleteMessage(cfg.nats.dlqStream, stored.seq, false);
  return ack.seq;
}

export async function discardDeadLetter(jsm: JetStreamManager, cfg: Config, seq: number): Promise<void> {
  await jsm.streams.deleteMessage(cfg.nats.dlqStream, seq, false);
}
