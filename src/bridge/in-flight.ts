/**
 * The bridge's in-flight window: how many events it holds between delivery and settlement (route, start,
 * ack/nak/dead letter). The pull loop asks JetStream only for as many messages as the window has room
 * for, so memory and the load on Temporal and S3 stay bounded however large the backlog is.
 */
export class InFlightWindow {
  private count = 0;
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

  /** Room left under the limit. */
  get free(): number {
    return this.limit - this.count;
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

  /** Resolves once at most `atMost` events are held (at once if already so). */
  until(atMost: number): Promise<void> {
    if (this.count <= atMost) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ atMost, wake: resolve }));
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (this.count <= waiter.atMost) waiter.wake();
      else still.push(waiter);
    }
    this.waiters = still;
  }
}
