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

/**
 * A subscription to `type` events of `target` (inert when there is none): the returned function
 * takes the listener and returns its unsubscribe. With `visibility`, the listener only runs while
 * `document.visibilityState` is that value.
 */
export const domEvent =
  (target: EventTarget | undefined, type: string, visibility?: DocumentVisibilityState) =>
  (fn: () => void): (() => void) => {
    const listener = () => (!visibility || globalThis.document?.visibilityState == visibility) && fn();
    target?.addEventListener(type, listener);
    return () => target?.removeEventListener(type, listener);
  };

/** Environment of a browser page; inert where `window`/`document` are missing (Node, workers). */
export function browserEnvironment(): Environment {
  const w = typeof window != 'undefined' ? window : undefined;
  const d = w?.document;
  return {
    onOnline: domEvent(w, 'online'),
    onVisible: domEvent(d, 'visibilitychange', 'visible'),
    onHidden: domEvent(d, 'visibilitychange', 'hidden'),
    isOnline: () => w?.navigator.onLine !== false,
  };
}
