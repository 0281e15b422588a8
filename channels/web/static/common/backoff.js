/*
 * Reconnect delays: exponential back-off, 0.5 s doubling up to 15 s, with +-20 % jitter so that
 * many pages cut off by the same server restart don't all come back in the same instant.
 */
export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 15000;

// The wait before attempt `retryCount` + 1 (0 for the first retry). `slow`: wait the longest
// (the server said too many connections; waiting gives the others time to close).
export function backoffDelay(retryCount, { slow = false, random = Math.random, minMs = BACKOFF_MIN_MS, maxMs = BACKOFF_MAX_MS } = {}) {
  const base = slow ? maxMs : Math.min(maxMs, minMs * Math.pow(2, retryCount));
  return Math.min(maxMs, base * (0.8 + random() * 0.4));
}
