/**
 * Fake API keys are cheap to refuse (issue 25): a key that does not have our format is refused without
 * a query (keys.ts, looksLikeApiKey); a well-formed key the database did not know is remembered here for
 * a while, so the same fake key sent again costs no query on the API's small pool; and a client address
 * that sent `failuresPerMinute` unknown keys in a minute gets 429 for the rest of it without a query, so
 * guessing many different keys costs at most that many queries a minute per address. Bounded: at most
 * `capacity` hashes and addresses, the oldest dropped first; refused hashes expire after `ttlMs`, so a key
 * created in the meantime works at the latest after the TTL.
 */
export class RefusedKeys {
  private readonly until = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    readonly failuresPerMinute = 30,
    private readonly capacity = 10_000,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  has(hash: string): boolean {
    const expires = this.until.get(hash);
    if (expires === undefined) return false;
    if (expires > this.now()) return true;
    this.until.delete(hash);
    return false;
  }

  add(hash: string): void {
    this.until.delete(hash);
    this.until.set(hash, this.now() + this.ttlMs);
    // Maps iterate in insertion order: the first key is the oldest.
    while (this.until.size > this.capacity) {
      const oldest = this.until.keys().next().value;
      if (oldest === undefined) break;
      this.until.delete(oldest);
    }
  }

  /** Seconds until `address` may try unknown keys again; 0 when it may now. */
  blockedFor(address: string): number {
    const entry = this.failures.get(address);
    if (!entry) return 0;
    const now = this.now();
    if (entry.resetAt <= now) {
      this.failures.delete(address);
      return 0;
    }
    return entry.count >= this.failuresPerMinute ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  /** One unknown key from `address`. */
  failed(address: string): void {
    const now = this.now();
    const entry = this.failures.get(address);
    if (entry && entry.resetAt > now) entry.count += 1;
    else {
      this.failures.delete(address);
      this.failures.set(address, { count: 1, resetAt: now + 60_000 });
    }
    while (this.failures.size > this.capacity) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
  }
}
