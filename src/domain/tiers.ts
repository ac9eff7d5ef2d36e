/**
 * Storage tiers: files are routed by size to one of three task queues so a few huge files never starve
 * the many small ones. The one definition of the tier list; everything else derives from it.
 */
export const TIERS = ['small', 'medium', 'large'] as const;
export type Tier = (typeof TIERS)[number];

/**
 * V8 settings for a worker that streams huge files (the large tier): `--max-old-space-size=128` (the old
 * generation; a streamed file's live set is a few MiB, the worker's own tables and modules ~60 MiB) and
 * `--max-semi-space-size=4` (the young generation, where sections, chunks and rows die). Without a
 * ceiling V8 lets garbage pile up to hundreds of MiB before a full collection on a machine with memory to
 * spare, so resident memory follows V8's generosity rather than what the stream holds. Measured: a 1 GiB
 * text file streams with a 240 MiB worker peak with them (docs/PERFORMANCE.md).
 */
export const LARGE_TIER_V8_FLAGS = '--max-old-space-size=128 --max-semi-space-size=4';

export interface TierThresholds {
  smallMaxBytes: number;
  mediumMaxBytes: number;
}

export function isTier(value: unknown): value is Tier {
  return typeof value === 'string' && (TIERS as readonly string[]).includes(value);
}

/** small <= smallMaxBytes < medium <= mediumMaxBytes < large. */
export function tierForSize(size: number, thresholds: TierThresholds): Tier {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`size must be a non-negative integer number of bytes, got ${size}`);
  }
  if (size <= thresholds.smallMaxBytes) return 'small';
  if (size <= thresholds.mediumMaxBytes) return 'medium';
  return 'large';
}
