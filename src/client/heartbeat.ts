import type { Timers } from '../util/timers';

/** Detects a half-open link: no inbound frame for a whole window. */
export interface Heartbeat {
  /** Arm with a window of `ms` (server ping interval + client timeout); `0` disables. */
  start(ms: number): void;
  /** An inbound frame arrived: the link is alive. One assignment: it runs for every frame. */
  beat(): void;
  /** Check against the clock now (the app came back to the foreground after timers were frozen). */
  check(): void;
  stop(): void;
}

/** Ticks per window. Detection comes within one tick after the window: at most 1/8 late, never early. */
const TICKS = 8;

/**
 * A timer ticks every window / 8; `beat` only clears an idle count (no clock read, no timer churn
 * per frame). More than 8 ticks in a row without a frame → `onDead`. Each tick that saw frames
 * records when the previous tick ran, so `check` can also judge a gap the ticks slept through
 * (frozen timers in a background tab or a suspended app).
 */
export function createHeartbeat(timers: Timers, onDead: () => void): Heartbeat {
  let timer: unknown;
  let tick = 0;
  let idle = 0;
  /** No frame came before this time (conservative: the tick before the one that saw a frame). */
  let alive = 0;
  let prev = 0;
  const stop = () => {
    timers.clearTimeout(timer);
    timer = undefined;
  };
  const dead = () => {
    stop();
    onDead();
  };
  const next = () => {
    const now = timers.now();
    if (!idle++) alive = prev;
    prev = now;
    if (idle > TICKS) dead();
    else timer = timers.setTimeout(next, tick);
  };
  return {
    start(ms) {
      stop();
      idle = 0;
      alive = prev = timers.now();
      tick = ms / TICKS;
      if (ms > 0) timer = timers.setTimeout(next, tick);
    },
    beat() {
      idle = 0;
    },
    check() {
      if (timer !== undefined && idle && timers.now() - alive > tick * (TICKS + 1)) dead();
    },
    stop,
  };
}
