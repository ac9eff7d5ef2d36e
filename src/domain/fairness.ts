import { cutUtf8 } from './utf8.js';

/** Temporal refuses a fairness key over 64 bytes; bucket names (tenants) are at most 63, but be safe. */
export const MAX_FAIRNESS_KEY_BYTES = 64;

/**
 * The Temporal fairness key of a tenant's work: the tenant itself, so a server with fairness on
 * dispatches a queue's tasks round-robin over tenants (docs/BATCHES.md, "Fairness and priority").
 */
export function tenantFairnessKey(tenantId: string): string {
  return cutUtf8(tenantId, MAX_FAIRNESS_KEY_BYTES);
}
