/**
 * The subscriber's resume cursor: the ts_ns of the last filer event it finished (published and acked by
 * JetStream, or skipped), kept in a NATS KV bucket under the subscriber's name. Written only after the
 * publish was acked, so a crash replays at most the events after it (and their Nats-Msg-Ids make the
 * replay a no-op inside the duplicate window).
 */

import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export class CursorStore {
  private constructor(
    private readonly kv: KV,
    private readonly key: string,
  ) {}

  static async open(nc: NatsConnection, bucket: string, key: string): Promise<CursorStore> {
    const kv = await new Kvm(nc).create(bucket, { history: 1 });
    return new CursorStore(kv, key);
  }

  /** The stored ts_ns as a decimal string, or undefined when this subscriber never finished an event. */
  async read(): Promise<string | undefined> {
    const entry = await this.kv.get(this.key);
    if (entry?.operation !== 'PUT') return undefined;
    const value = entry.string().trim();
    return /^\d+$/.test(value) ? value : undefined;
  }

  async write(tsNs: string): Promise<void> {
    await this.kv.put(this.key, tsNs);
  }
}

/** Read-only look at a cursor (for `p8fs status`): undefined when the bucket or key does not exist. */
export async function readCursor(
  nc: NatsConnection,
  bucket: string,
  key: string,
): Promise<string | undefined> {
  try {
    const kv = await new Kvm(nc).open(bucket);
    const entry = await kv.get(key);
    if (entry?.operation !== 'PUT') return undefined;
    return entry.string().trim();
  } catch {
    return undefined;
  }
}

/** Age in seconds of a ts_ns cursor. */
export function cursorAgeSeconds(tsNs: string, nowMs = Date.now()): number {
  return Math.max(0, (nowMs - Number(BigInt(tsNs) / 1_000_000n)) / 1000);
}
