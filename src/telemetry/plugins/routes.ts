import type { TelemetryPlugin } from '../types';
import { routeTracker } from './route-tracker';

export interface RoutesPluginOptions {
  /** The window whose history to follow. Default `window` (no-op without one). */
  window?: Window;
  /** Path reported for a location. Default `location.pathname` (no query string, no hash). */
  path?: (location: Location) => string;
}

/**
 * Page views on every route change of a single-page app: `history.pushState` / `replaceState` and
 * `popstate`, each with the previous path and the time spent there. Sends the first view at setup.
 * The teardown restores `history` (when nobody wrapped it after us).
 */
export function routesPlugin(o: RoutesPluginOptions = {}): TelemetryPlugin {
  return {
    name: 'routes',
    setup(t) {
      const w = o.window ?? (typeof window != 'undefined' ? window : undefined);
      if (!w) return () => {};
      const h = w.history;
      const path = () => (o.path ? o.path(w.location) : w.location.pathname);
      const track = routeTracker(t);
      const check = () => track(path());
      const wrap = (name: 'pushState' | 'replaceState') => {
        const orig = h[name];
        const patched = function (this: History, ...args: Parameters<History['pushState']>) {
          const r = orig.apply(this, args);
          check();
          return r;
        };
        h[name] = patched;
        return () => {
          if (h[name] === patched) h[name] = orig;
        };
      };
      const undo = [wrap('pushState'), wrap('replaceState')];
      w.addEventListener('popstate', check);
      check();
      return () => {
        undo.forEach((f) => f());
        w.removeEventListener('popstate', check);
      };
    },
  };
}
