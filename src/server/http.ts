import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientBundlePath, demoHtml } from './demo';
import { HttpError, sendHttpError, sendJson } from './http-util';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { sendFile, serveStatic } from './static';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface RouterDeps {
  metrics: Metrics;
  logger: Logger;
  notify: Handler;
  /** `POST /dev/token`, only in dev mode. */
  devToken?: Handler;
  demo: boolean;
  staticDir?: string;
  /** `/api/telemetry/*` (with its own CORS), when telemetry is enabled. */
  telemetry?: Handler;
}

/** Browser pages (the demo) may call these from another origin. */
const CORS_PATHS = new Set(['/notify', '/dev/token']);
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-max-age': '600',
};

/** The HTTP side of the server: /notify, /healthz, /metrics, /dev/token, the demo and static files. */
export function createRouter(deps: RouterDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = req.method ?? 'GET';

    if (CORS_PATHS.has(pathname)) {
      for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
      if (method === 'OPTIONS') {
        res.writeHead(204).end();
        return;
      }
    }
    if (deps.telemetry && pathname.startsWith('/api/telemetry/')) return deps.telemetry(req, res);
    if (pathname === '/notify') {
      if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST');
      return deps.notify(req, res);
    }
    if (pathname === '/dev/token' && deps.devToken) {
      if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST');
      return deps.devToken(req, res);
    }
    const isGet = method === 'GET' || method === 'HEAD';
    if (isGet && pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
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
    if (isGet && deps.demo && pathname === '/sdk-realtime.js') {
      const bundle = clientBundlePath();
      if (bundle && (await sendFile(req, res, bundle))) return;
      throw new HttpError(404, 'not_found', 'client bundle not found: run `npm run build`');
    }
    if (isGet && deps.staticDir && (await serveStatic(deps.staticDir, req, res, pathname))) return;
    throw new HttpError(404, 'not_found', `no route for ${method} ${pathname}`);
  };

  return (req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!(e instanceof HttpError)) deps.logger.error(`HTTP ${req.method} ${req.url} failed`, e);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendHttpError(res, e instanceof HttpError ? e : new HttpError(500, 'internal', 'internal server error'));
    });
  };
}
