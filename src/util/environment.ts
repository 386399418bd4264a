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
 * takes the listener and returns its unsubscribe. With `visibility`, the listeners only run while
 * `document.visibilityState` is that value. One DOM listener serves every function added through
 * the same subscription (all the clients of a page share it), added with the first, removed with
 * the last.
 */
export const domEvent = (target: EventTarget | undefined, type: string, visibility?: DocumentVisibilityState) => {
  const fns = new Set<() => void>();
  const listener = () => (!visibility || globalThis.document?.visibilityState == visibility) && fns.forEach((fn) => fn());
  // A function added twice is held once (each client adds its own).
  return (fn: () => void): (() => void) => {
    if (!fns.size) target?.addEventListener(type, listener);
    fns.add(fn);
    return () => void (fns.delete(fn) && !fns.size && target?.removeEventListener(type, listener));
  };
};

let sharedWindow: unknown;
let shared: Environment | undefined;

/**
 * Environment of a browser page; inert where `window`/`document` are missing (Node, workers).
 * One per page: every call (every client's default) returns the same object while `window` stays.
 */
export function browserEnvironment(): Environment {
  const w = typeof window != 'undefined' ? window : undefined;
  if (shared && sharedWindow === w) return shared;
  const d = w?.document;
  sharedWindow = w;
  return (shared = {
    onOnline: domEvent(w, 'online'),
    onVisible: domEvent(d, 'visibilitychange', 'visible'),
    onHidden: domEvent(d, 'visibilitychange', 'hidden'),
    isOnline: () => w?.navigator.onLine !== false,
  });
}
