/**
 * Storage tiers: files are routed by size to one of three task queues so a few huge files never starve
 * the many small ones. The one definition of the tier list; everything else derives from it.
 */
export const TIERS = ['small', 'medium', 'large'] as const;
export type Tier = (typeof TIERS)[number];

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
