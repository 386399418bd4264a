import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyGate } from '../../api-key';
import type { TokenAuthority } from '../../auth';
import { HttpError, readJson, sendJson } from '../../http-util';
import { sendFile } from '../../static';
import { bad, int } from '../../validate';
import { ALERTS_PATH } from '../alerts/routes';
import { inScope, scopeOf } from '../alerts/scope';
import { dashboardFiles } from './assets';
import { dashboardCsp, dashboardHtml } from './page';
import { dashboardScript } from './script';
import { TELEMETRY_TOPIC } from './live';

export { TELEMETRY_TOPIC, TelemetryLive, type TelemetryLiveMessage, type TelemetryLiveOptions } from './live';

export const DASHBOARD_PATH = '/dashboard';

/** The telemetry dashboard (`createServer({ telemetry: { dashboard: true | { … } } })`). Every field optional. */
export interface DashboardOptions {
  /** Path of the aggregates API the page reads (same origin). Default `'/api/telemetry/aggregates'`. */
  aggregatesPath?: string;
  /** How often the page reloads while it has no live connection, ms. Default `30000`. */
  pollInterval?: number;
}

/** Lifetime of a token from `POST /dashboard/token`, seconds: the client asks again when it reconnects. */
export const DASHBOARD_TOKEN_TTL = 600;

/** Deps of {@link createDashboard}. */
export interface DashboardDeps {
  dev: boolean;
  auth: TokenAuthority;
  apiKeys: ApiKeyGate;
  /** The server's `apiKey`: with one key per app, a key gets tokens for its own apps only. */
  apiKey: string | Record<string, string> | undefined;
  apps: Set<string> | undefined;
  maxBodyBytes: number;
}

export const isDashboardPath = (pathname: string): boolean => pathname === DASHBOARD_PATH || pathname.startsWith(DASHBOARD_PATH + '/');

/**
 * `GET /dashboard` and its files. The page and its scripts hold no data, so they are served to
 * anyone; every number comes from the aggregates API, which takes the API key (or a token) the
 * user types into the page (kept in `sessionStorage`, sent as `Authorization: Bearer`, never in a
 * URL). For its live connection the page trades that key for a short-lived client token
 * (`POST /dashboard/token`, user `$dashboard`); in dev mode it uses `/dev/token`.
 */
export function createDashboard(options: true | DashboardOptions, deps: DashboardDeps) {
  const o: DashboardOptions = options === true ? {} : options;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('telemetry.dashboard', 'true or an object');
  const aggregatesPath = o.aggregatesPath ?? '/api/telemetry/aggregates';
  if (typeof aggregatesPath !== 'string' || !/^\/[\w\-/.]*$/.test(aggregatesPath)) throw bad('telemetry.dashboard.aggregatesPath', 'a path starting with /');
  const pollInterval = int('telemetry.dashboard.pollInterval', o.pollInterval, 30_000, 1000, 2 ** 31 - 1);
  const config = JSON.stringify({ dev: deps.dev, aggregatesPath, alertsPath: ALERTS_PATH, topic: TELEMETRY_TOPIC, pollInterval });

  const text = (res: ServerResponse, req: IncomingMessage, type: string, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(200, {
      'content-type': type,
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  /** `POST /dashboard/token` `{ app }` with the API key: a client token to subscribe to `$telemetry`. */
  const token = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { key, refuse } = deps.apiKeys.check(req, 'dashboard tokens are disabled: the server has no apiKey');
    const body = (await readJson(req, deps.maxBodyBytes)) as { app?: unknown } | null;
    const app = body?.app;
    if (typeof app !== 'string' || app.length === 0 || app.length > 100) throw new HttpError(400, 'bad_request', 'app: must be a non-empty string', { field: 'app' });
    if (deps.apps && !deps.apps.has(app)) throw new HttpError(403, 'forbidden', `app "${app}" is not allowed`);
    if (!inScope(scopeOf(deps.apiKey, key), app)) refuse('wrong API key for this app');
    let minted: string;
    try {
      minted = await deps.auth.sign({ sub: '$dashboard', app }, DASHBOARD_TOKEN_TTL);
    } catch {
      throw new HttpError(501, 'not_implemented', 'this server verifies tokens with a JWKS and cannot mint one: give the page a client token');
    }
    // A server whose tokens need an audience or issuer would refuse what it just signed.
    if (!(await deps.auth.verify(minted)).ok) {
      throw new HttpError(501, 'not_implemented', 'tokens.audience / tokens.issuer are set: give the page a client token');
    }
    sendJson(res, 200, { token: minted, expiresIn: DASHBOARD_TOKEN_TTL });
  };

  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const method = req.method ?? 'GET';
    if (pathname === DASHBOARD_PATH + '/token') {
      if (method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new HttpError(405, 'method_not_allowed', 'use POST');
      }
      return token(req, res);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      throw new HttpError(405, 'method_not_allowed', 'use GET');
    }
    if (pathname === DASHBOARD_PATH || pathname === DASHBOARD_PATH + '/') {
      return text(res, req, 'text/html; charset=utf-8', dashboardHtml, {
        'content-security-policy': dashboardCsp,
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
      });
    }
    if (pathname === DASHBOARD_PATH + '/app.js') return text(res, req, 'text/javascript; charset=utf-8', dashboardScript);
    if (pathname === DASHBOARD_PATH + '/config.json') return sendJson(res, 200, JSON.parse(config) as unknown);
    const files = dashboardFiles();
    if (Object.hasOwn(files, pathname)) {
      const file = files[pathname];
      if (file && (await sendFile(req, res, file))) return;
      throw new HttpError(404, 'not_found', `${pathname} is missing: install the server's dependencies and run \`npm run build\``);
    }
    throw new HttpError(404, 'not_found', `no route for ${method} ${pathname.slice(0, 200)}`);
  };
}
