/**
 * The bridge's in-flight window: how many events it holds between delivery and settlement (route, start,
 * ack/nak/dead letter). The pull loop asks JetStream only for as many messages as the window has room
 * for, so memory and the load on Temporal and S3 stay bounded however large the backlog is.
 */
export class InFlightWindow {
  private count = 0;
  /** Places set aside for pulls under way (several streams pull at once; ./tier-streams.ts). */
  private reserved = 0;
  private highest = 0;
  private waiters: { atMost: number; wake: () => void }[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`in-flight limit ${limit} must be ≥ 1`);
  }

  /** Events held right now. */
  get size(): number {
    return this.count;
  }

  /** The most events held at once since the window was made (what the limit is checked against). */
  get peak(): number {
    return this.highest;
  }

  /** Room left under the limit (places reserved for pulls under way are not free). */
  get free(): number {
    return this.limit - this.count - this.reserved;
  }

  /** Sets aside `n` places for a pull about to be made, so two pulls never ask for the same room. */
  reserve(n: number): void {
    if (n > this.free) throw new Error(`in-flight window: reserving ${n} with ${this.free} free`);
    this.reserved += n;
  }

  /** A message of a pull arrived: one reserved place now holds it. */
  claim(): void {
    if (this.reserved === 0) throw new Error('in-flight window claimed more than it reserved');
    this.reserved -= 1;
    this.take();
  }

  /** Places the pull did not fill go back. */
  unreserve(n: number): void {
    this.reserved -= Math.min(n, this.reserved);
    this.wake();
  }

  /**
   * Holds one more event. The caller only ever takes what it asked JetStream for, which was at most
   * `free`; going over would be a bug in the pull loop, so it throws rather than silently exceeding.
   */
  take(): void {
    if (this.count >= this.limit) throw new Error(`in-flight window over its limit of ${this.limit}`);
    this.count += 1;
    if (this.count > this.highest) this.highest = this.count;
  }

  release(): void {
    if (this.count === 0) throw new Error('in-flight window released more than it took');
    this.count -= 1;
    this.wake();
  }

  /** Resolves once at most `atMost` places are held or reserved (at once if already so). */
  until(atMost: number): Promise<void> {
    if (this.count + this.reserved <= atMost) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ atMost, wake: resolve }));
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (this.count + this.reserved <= waiter.atMost) waiter.wake();
      else still.push(waiter);
    }
    this.waiters = still;
  }
}
