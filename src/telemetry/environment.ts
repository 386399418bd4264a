import type { Environment } from '../util/environment';

/** {@link Environment} plus the page's last moment (`pagehide`), when unsent events go by beacon. */
export interface TelemetryEnvironment extends Environment {
  /** Call `fn` when the page is being unloaded or frozen. Optional. */
  onPageHide?(fn: () => void): () => void;
}

/**
 * The browser's: `online`, `visibilitychange` (visible / hidden) and `pagehide`; inert without
 * `window`. Same events as util's `browserEnvironment` plus `pagehide`, written in one helper to
 * keep the telemetry bundle small.
 */
export function browserTelemetryEnvironment(): TelemetryEnvironment {
  const w = typeof window != 'undefined' ? window : undefined;
  const d = w?.document;
  const on = (target: EventTarget | undefined, type: string, state?: string) => (fn: () => void) => {
    const h = () => (!state || d?.visibilityState == state) && fn();
    target?.addEventListener(type, h);
    return () => target?.removeEventListener(type, h);
  };
  return {
    onOnline: on(w, 'online'),
    onVisible: on(d, 'visibilitychange', 'visible'),
    onHidden: on(d, 'visibilitychange', 'hidden'),
    onPageHide: on(w, 'pagehide'),
    isOnline: () => w?.navigator.onLine !== false,
  };
}
