import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/frames';

/**
 * Bounds on every number the server sends that the client acts on, in one place (docs/protocol.md,
 * docs/security.md). A server is not trusted to pick the client's timers: each value is clamped to
 * `[min, max]`; a negative value or a non-number is replaced by the default.
 *
 * Each bound is `[min, max, default]`.
 */
export type Bound = readonly [min: number, max: number, def: number];

/**
 * `connect` result `ping`, the server's ping interval: 100 ms … 10 min, default 25 s. The floor keeps
 * the heartbeat from ticking faster than every 12.5 ms (window / 8) whatever the server says; the
 * ceiling keeps `ping + heartbeat.timeout` far inside what `setTimeout` can wait.
 */
export const PING_BOUND: Bound = [100, 600_000, 25_000];
/** `maxFrame` of the `connect` result, the largest frame the client sends: 1 KiB … 64 MiB, default 1 MiB. */
export const MAX_FRAME_BOUND: Bound = [1_024, 2 ** 26, DEFAULT_MAX_FRAME_BYTES];
/** `retryAfter` of `close` frames and of error replies / `error` frames: 0 … 10 min, default 0. */
export const RETRY_AFTER_BOUND: Bound = [0, 600_000, 0];
/**
 * Least time between two token refreshes the server asks for with `expired` (its `grace` is not
 * used as a timer): a server repeating `expired` cannot make the client call the token function
 * more often than this.
 */
export const REFRESH_INTERVAL = 5_000;

/** Entries per `subs` frame the server may ask for (`connect` result `batch`); 0: one `sub` per topic. */
export const BATCH_BOUND: Bound = [1, 10_000, 0];

/** `v` clamped to `bound`; a negative value or a non-number (NaN included) gives the default. */
export const clamp = (v: unknown, [min, max, def]: Bound): number =>
  typeof v == 'number' && v >= 0 ? Math.min(max, Math.max(min, v)) : def;
