import type { Timers } from '../util/timers';

/** Detects a half-open link: no inbound frame for a whole window. */
export interface Heartbeat {
  /** Arm with a window of `ms` (server ping interval + client timeout); `0` disables. */
  start(ms: number): void;
  /** An inbound frame arrived: the link is alive. O(1), no timer churn (called per frame). */
  beat(): void;
  /** Check now (e.g. the app came back to the foreground after timers were frozen). */
  check(): void;
  stop(): void;
}

/**
 * One timer per window, not per frame: `beat` only records the time; when the timer fires it
 * re-arms for the remainder if a frame came meanwhile, and calls `onDead` when none did.
 */
export function createHeartbeat(timers: Timers, onDead: () => void): Heartbeat {
  let timer: unknown;
  let window = 0;
  let last = 0;
  const stop = () => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  const check = () => {
    stop();
    if (!window) return;
    const idle = timers.now() - last;
    if (idle >= window) {
      window = 0;
      onDead();
    } else timer = timers.setTimeout(check, window - idle);
  };
  return {
    start(ms) {
      window = ms;
      last = timers.now();
      check();
    },
    beat() {
      last = timers.now();
    },
    check,
    stop() {
      window = 0;
      stop();
    },
  };
}
