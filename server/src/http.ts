import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientBundlePath, demoFiles, demoHtml } from './demo';
import { HttpError, answerCors, isAbort, sendHttpError, sendJson } from './http-util';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { sendFile, serveStatic } from './static';
import { isFlagsPath } from './flags/routes';
import { isAlertsPath } from './telemetry/alerts/routes';
import { isDashboardPath } from './telemetry/dashboard/index';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface RouterDeps {
  metrics: Metrics;
  /** The broker's health for `/healthz` (`ok: false` → `status: "degraded"`). */
  health: () => { ok: boolean; [detail: string]: unknown };
  logger: Logger;
  notify: Handler;
  /** `POST /dev/token`, only in dev mode. */
  devToken?: Handler;
  demo: boolean;
  staticDir?: string;
  /** `/api/telemetry/*` (with its own CORS), when telemetry is enabled. */
  telemetry?: Handler;
  /** `/api/telemetry/alerts/…`, when alerts are enabled (before `telemetry`, which owns the rest of `/api/telemetry/`). */
  alerts?: (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>;
  /** `/dashboard` and its files, when the dashboard is enabled. */
  dashboard?: (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>;
  /** `/api/flags`, `/api/config/remote`, `/ofrep/…`, when flags are enabled. */
  flags?: (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>;
  /** Origins allowed to call `/notify` and `/dev/token` from a browser; `undefined`: no CORS at all. */
  corsOrigins: string[] | '*' | undefined;
}

/** Browser pages (the demo) may call these from another origin, when `corsOrigins` allows it. */
const CORS_PATHS = new Set(['/notify', '/dev/token']);
const CORS_HEADERS = {
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-max-age': '600',
};

/**
 * The path of a request target, or `undefined` when it is not a valid one (`http://[::1`, `*`).
 * Appended to a base rather than resolved against it: `new URL('//evil/metrics', base)` would read
 * `evil` as a host and route `/metrics`, past a proxy rule that guards `/metrics`.
 */
function pathOf(target: string | undefined): string | undefined {
  if (!target || target[0] !== '/') return undefined;
  try {
    return new URL('http://localhost' + target).pathname;
  } catch {
    return undefined;
  }
}

/** The path only: query strings carry tokens and keys that must never reach a log. */
const loggable = (target: string | undefined): string => (target ?? '/').split('?')[0]!.slice(0, 200);

/** 405 naming the allowed methods (`Allow` header, RFC 9110). */
function onlyPost(res: ServerResponse): never {
  res.setHeader('allow', 'POST');
  throw new HttpError(405, 'method_not_allowed', 'use POST');
}

/** The HTTP side of the server: /notify, /healthz, /metrics, /dev/token, the demo and static files. */
export function createRouter(deps: RouterDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = pathOf(req.url);
    if (pathname === undefined) throw new HttpError(400, 'bad_request', 'invalid request target');
    const method = req.method ?? 'GET';

    // `/dev/token` exists only in dev mode; outside it, not even its preflight is answered.
    const corsPath = pathname === '/dev/token' ? deps.devToken !== undefined : CORS_PATHS.has(pathname);
    if (corsPath && deps.corsOrigins !== undefined && answerCors(req, res, deps.corsOrigins, CORS_HEADERS)) return;
    if (deps.alerts && isAlertsPath(pathname)) return deps.alerts(req, res, pathname);
    if (deps.telemetry && pathname.startsWith('/api/telemetry/')) return deps.telemetry(req, res);
    if (deps.dashboard && isDashboardPath(pathname)) return deps.dashboard(req, res, pathname);
    if (deps.flags && isFlagsPath(pathname)) return deps.flags(req, res, pathname);
    if (pathname === '/notify') {
      if (method !== 'POST') onlyPost(res);
      return deps.notify(req, res);
    }
    if (pathname === '/dev/token' && deps.devToken) {
      if (method !== 'POST') onlyPost(res);
      return deps.devToken(req, res);
    }
    const isGet = method === 'GET' || method === 'HEAD';
    if (isGet && pathname === '/healthz') {
      // Still 200 while the broker's store is down: connections stay up and local work goes on;
      // `status: "degraded"` tells monitoring (and `broker` says what).
      const { ok, ...broker } = deps.health();
      return sendJson(res, 200, Object.keys(broker).length ? { status: ok ? 'ok' : 'degraded', broker } : { status: ok ? 'ok' : 'degraded' });
    }
    if (isGet && pathname === '/metrics') {
      const text = deps.metrics.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : text);
      return;
    }
    if (isGet && deps.demo && (pathname === '/' || pathname === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(method === 'HEAD' ? undefined : demoHtml);
      return;
    }
    if (isGet && deps.demo && Object.hasOwn(demoFiles, pathname)) {
      const bundle = clientBundlePath(demoFiles[pathname]);
      if (bundle && (await sendFile(req, res, bundle))) return;
      throw new HttpError(404, 'not_found', 'client bundle not found: run `npm run build`');
    }
    if (isGet && deps.staticDir && (await serveStatic(deps.staticDir, req, res, pathname))) return;
    throw new HttpError(404, 'not_found', `no route for ${method} ${pathname.slice(0, 200)}`);
  };

  return (req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!(e instanceof HttpError)) {
        if (isAbort(e)) {
          res.destroy();
          return;
        }
        deps.logger.error(`HTTP ${req.method} ${loggable(req.url)} failed`, e);
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendHttpError(res, e instanceof HttpError ? e : new HttpError(500, 'internal', 'internal server error'));
    });
  };
}
