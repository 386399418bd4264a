import type { TrackApi } from '../types';

/**
 * The shared core of route tracking: call it with each new path; it sends a page view with the
 * previous path (`from`) and how long the user stayed there (`stay`, ms). Repeated paths are ignored.
 */
export function routeTracker(t: Pick<TrackApi, 'trackPageView'>, now: () => number = Date.now): (path: string) => void {
  let last: string | undefined;
  let since = now();
  return (path) => {
    if (path === last) return;
    const at = now();
    t.trackPageView(path, last === undefined ? {} : { from: last, stay: at - since });
    last = path;
    since = at;
  };
}

/**
 * React Router (or any router) helper: `const onRoute = reactRouteTracker(telemetry)` once, then
 * `useEffect(() => onRoute(location), [location])` with react-router's `useLocation()`. No React import.
 */
export function reactRouteTracker(t: Pick<TrackApi, 'trackPageView'>): (location: { pathname: string }) => void {
  const track = routeTracker(t);
  return (location) => track(location.pathname);
}

/**
 * Vue Router helper: `router.afterEach(vueRouteTracker(telemetry))`. Uses the matched route's pattern
 * (`/orders/:id`) when there is one, else the path. Failed navigations are ignored. No Vue import.
 */
export function vueRouteTracker(
  t: Pick<TrackApi, 'trackPageView'>,
): (to: { path: string; matched?: Array<{ path: string }> }, from?: unknown, failure?: unknown) => void {
  const track = routeTracker(t);
  return (to, _from, failure) => {
    if (failure) return;
    const m = to.matched?.[to.matched.length - 1];
    track(m?.path || to.path);
  };
}
