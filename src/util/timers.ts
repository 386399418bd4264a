/**
 * The clock the client runs on, injected so tests can drive it. The default calls the global
 * `setTimeout`/`clearTimeout`/`Date.now` at call time (not at import), so `vi.useFakeTimers()`
 * works without injecting anything.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Current time in ms since the Unix epoch. */
  now(): number;
}

/** Largest delay `setTimeout` honours (2^31 − 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_DELAY = 2 ** 31 - 1;

/** Timers backed by the host's globals. */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};
