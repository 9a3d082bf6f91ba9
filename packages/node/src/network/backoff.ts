/**
 * Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with "equal jitter" (a random
 * point in the upper half of the step) so that nodes which lost a peer at the same moment do not
 * redial it in lock-step, while the delay still grows with every failure.
 */
import type { Random } from "../common/random.js";

/** Bounds of the reconnect delay. */
export interface BackoffOptions {
  /** Delay before the first retry (before jitter). */
  readonly baseMs: number;
  /** Largest delay. */
  readonly maxMs: number;
}

/** Delay before retry number `attempt` (0 for the first retry after a failure), in ms. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: Random): number {
  // 2^30 already exceeds any sensible cap; clamping keeps the arithmetic finite.
  const step = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return step / 2 + random.next() * (step / 2);
}
