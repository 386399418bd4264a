/**
 * What the client learns from its surroundings: network back online, app visible again.
 * The core never reads `window` or `document`; it is handed one of these.
 */
export interface Environment {
  /** Call `fn` when the network comes back. Returns an unsubscribe function. */
  onOnline(fn: () => void): () => void;
  /** Call `fn` when the page or app becomes visible / comes to the foreground. */
  onVisible(fn: () => void): () => void;
  /** Call `fn` when the page or app goes to the background. Optional. */
  onHidden?(fn: () => void): () => void;
  /** Whether the network is believed to be up; `true` when unknown. */
  isOnline?(): boolean;
}

/** Environment of a browser page; inert where `window`/`document` are missing (Node, workers). */
export function browserEnvironment(): Environment {
  const w = typeof window !== 'undefined' ? window : undefined;
  const d = typeof document !== 'undefined' ? document : undefined;
  const listen = (target: EventTarget | undefined, type: string, fn: () => void) => {
    if (!target) return () => {};
    target.addEventListener(type, fn);
    return () => target.removeEventListener(type, fn);
  };
  const onVisibility = (want: 'visible' | 'hidden') => (fn: () => void) =>
    listen(d, 'visibilitychange', () => {
      if (d && d.visibilityState === want) fn();
    });
  return {
    onOnline: (fn) => listen(w, 'online', fn),
    onVisible: onVisibility('visible'),
    onHidden: onVisibility('hidden'),
    isOnline: () => (typeof navigator !== 'undefined' && 'onLine' in navigator ? navigator.onLine : true),
  };
}
