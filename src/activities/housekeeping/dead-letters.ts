/**
 * Dead letters past their retention are removed from the DLQ stream, oldest first. Stream sequences grow
 * with time, so the letters to remove are a prefix: scan from the first sequence to the first letter
 * newer than the cut-off, then purge everything below it in one request. Letters that arrive meanwhile
 * have higher sequences and are never touched.
 */
import type { JetStreamManager } from '@nats-io/jetstream';

export interface TrimResult {
  removed: number;
  remaining: number;
}

export async function trimDeadLetterStream(
  jsm: JetStreamManager,
  stream: string,
  olderThan: Date,
  progress?: (scanned: number) => void,
  signal?: AbortSignal,
): Promise<TrimResult> {
  const info = await jsm.streams.info(stream).catch((error: Error) => {
    // No DLQ yet (the bridge creates it on start): nothing to trim.
    if (/stream not found/i.test(error.message)) return undefined;
    throw error;
  });
  if (!info || info.state.messages === 0) return { removed: 0, remaining: 0 };
  let keepFrom = info.state.last_seq + 1;
  let scanned = 0;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    signal?.throwIfAborted();
    // A sequence removed on its own (replayed, discarded) leaves a gap.
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (++scanned % 200 === 0) progress?.(scanned);
    if (!msg) continue;
    if (msg.time.getTime() > olderThan.getTime()) {
      keepFrom = seq;
      break;
    }
  }
  if (keepFrom <= info.state.first_seq) return { removed: 0, remaining: info.state.messages };
  const purged = await jsm.streams.purge(stream, { seq: keepFrom });
  const after = await jsm.streams.info(stream);
  return { removed: purged.purged, remaining: after.state.messages };
}
