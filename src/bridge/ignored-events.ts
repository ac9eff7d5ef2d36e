/**
 * Ignored events (directories, multipart parts, renames onto themselves) are normal, but a producer that
 * sends nothing else is a misconfiguration someone must be able to see. So each is logged at info with
 * its reason, rate-limited per category: the first one at once, then at most one line per interval that
 * says how many more were ignored since (with the latest reason). A burst of 10 000 directory events makes
 * two lines, not 10 000.
 */
import type { IgnoreCategory } from '../domain/storage-event.js';
import type { Logger } from '../telemetry/logger.js';

export const DEFAULT_IGNORED_LOG_INTERVAL_MS = 10_000;

interface Window {
  /** When the last line for this category was written. */
  loggedAt: number;
  /** Ignored since that line, not yet reported. */
  suppressed: number;
  lastReason: string;
  lastSeq: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class IgnoredEventLog {
  private readonly windows = new Map<IgnoreCategory, Window>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = DEFAULT_IGNORED_LOG_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  record(category: IgnoreCategory, reason: string, seq?: number): void {
    const at = this.now();
    const window = this.windows.get(category);
    if (!window || (window.suppressed === 0 && at - window.loggedAt >= this.intervalMs)) {
      this.log.info({ category, reason, seq }, `event ignored (${category}): ${reason}`);
      this.windows.set(category, {
        loggedAt: at,
        suppressed: 0,
        lastReason: reason,
        lastSeq: seq,
        timer: undefined,
      });
      return;
    }
    window.suppressed += 1;
    window.lastReason = reason;
    window.lastSeq = seq;
    // One summary line when the interval since the last line is over; the timer never holds the process.
    if (!window.timer) {
      const wait = Math.max(0, window.loggedAt + this.intervalMs - at);
      window.timer = setTimeout(() => this.report(category), wait);
      window.timer.unref();
    }
  }

  /** Writes the pending summaries now (on shutdown), so no count is lost. */
  flush(): void {
    for (const category of this.windows.keys()) this.report(category);
  }

  private report(category: IgnoreCategory): void {
    const window = this.windows.get(category);
    if (!window) return;
    if (window.timer) clearTimeout(window.timer);
    window.timer = undefined;
    if (window.suppressed === 0) return;
    const { suppressed, lastReason: reason, lastSeq: seq } = window;
    const seconds = Math.max(1, Math.round((this.now() - window.loggedAt) / 1000));
    this.log.info(
      { category, suppressed, reason, seq },
      `${suppressed} more event${suppressed === 1 ? '' : 's'} ignored (${category}) in the last ${seconds} s; latest: ${reason}`,
    );
    window.loggedAt = this.now();
    window.suppressed = 0;
  }
}
