/** Bounds of the reconnect wait, in ms. */
export interface BackoffBounds {
  /** Smallest wait. */
  floor: number;
  /** Largest wait. */
  ceiling: number;
}

/**
 * Wait before reconnect attempt `attempt` (1 for the first retry), in ms: uniformly random in
 * `[floor, min(ceiling, floor · 2^attempt)]`. The window doubles per attempt until it reaches the
 * ceiling and then stays `[floor, ceiling]`, so jitter is kept at the cap and clients that lost the
 * same server do not come back in lockstep. Pure: `random` (default `Math.random`) is injectable.
 */
export function backoffDelay(attempt: number, { floor, ceiling }: BackoffBounds, random: () => number = Math.random): number {
  // 2^52 already overflows any sane ceiling; clamping keeps floor · 2^n finite.
  const cap = Math.max(floor, Math.min(ceiling, floor * 2 ** Math.min(Math.max(attempt, 0), 52)));
  return Math.round(floor + random() * (cap - floor));
}
