import { createHash } from 'node:crypto';
import type { ApiKeyGate } from '../api-key';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenAuthority } from '../auth';
import { HttpError, answerCors, bearer, readJson, sendJson } from '../http-util';
import { firstIssue, flagDefinition, flagKey } from './definitions';
import { evaluateAll, type FlagResult } from './evaluate';
import { flagContextOf } from './live';
import type { FlagStore } from './store';

export interface FlagRoutesDeps {
  store: FlagStore;
  auth: TokenAuthority;
  /** The server API key(s) that may write flags (as for `/notify`); absent: the admin API is off. */
  /** The server API key check, shared with `/notify` (failed attempts count across both). */
  apiKeys: ApiKeyGate;
  env: string;
  now: () => number;
  maxBodyBytes: number;
  /** Settings `GET /api/config/remote` reports. */
  remoteConfig: Record<string, unknown>;
  /** Origins the browser routes answer (the server's `corsOrigins` list); absent: any origin. */
  corsOrigins?: string[];
  /** The server's `apps` allow-list: a token (or `?app=`) for another app is refused (403), as at `connect`. */
  apps?: Set<string>;
  /** The server's `tokens.anyApp`: without it, a token with no `app` claim is refused (403), as at `connect`. */
  anyApp: boolean;
}

/** The routes pages call (user token in `Authorization`, never a cookie); the admin API has no CORS. */
const BROWSER_PATHS = new Set(['/api/flags', '/api/config/remote', '/ofrep/v1/evaluate/flags']);
const CORS_HEADERS = {
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, if-none-match',
  // Without it a page cannot read the ETag it must send back as If-None-Match.
  'access-control-expose-headers': 'etag',
  'access-control-max-age': '600',
};

const sha = (s: string) => createHash('sha256').update(s).digest();

/** Whether a path belongs to the flags routes. */
export const isFlagsPath = (p: string): boolean => p === '/api/flags' || p.startsWith('/api/flags/') || p === '/api/config/remote' || p.startsWith('/ofrep/');

/** The flag routes' handler, and the `telemetry` part of the caller's remote config (for `GET /api/telemetry/config`). */
export type FlagRoutes = ((req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>) & {
  telemetryConfig(req: IncomingMessage): Promise<unknown>;
};

/**
 * `GET /api/flags`, `GET /api/config/remote`, `POST /ofrep/v1/evaluate/flags` (token-authenticated,
 * ETag / If-None-Match → 304) and `PUT` / `DELETE /api/flags/:key` (server API key).
 */
export function createFlagRoutes(deps: FlagRoutesDeps): FlagRoutes {
  const evaluated = async (req: IncomingMessage, anonymous = false): Promise<Record<string, FlagResult>> => {
    const token = bearer(req);
    if (!token && anonymous) {
      // No identity: rules on users, roles or claims do not match; environment and percentage-free values do.
      const app = appParam(req);
      const allowed = app !== null && (!deps.apps || deps.apps.has(app)) ? app : null;
      return evaluateAll(deps.store.all(), flagContextOf({ app: allowed, user: null, device: null, claims: {} }, deps.env), deps.now());
    }
    if (!token) throw new HttpError(401, 'unauthorized', 'missing "Authorization: Bearer <token>"');
    const verified = await deps.auth.verify(token);
    if (!verified.ok) throw new HttpError(401, 'unauthorized', verified.message);
    const c = verified.claims;
    // The token binds the app exactly as at `connect` (connection/session.ts): a token without
    // `app` names one by `?app=` only with `tokens.anyApp`, and the app must be an allowed one.
    if (c.app === undefined && !deps.anyApp) {
      throw new HttpError(403, 'forbidden', 'token has no "app" claim (the server accepts those only with tokens.anyApp)', { field: 'Authorization' });
    }
    const app = c.app ?? appParam(req);
    if (app !== null && deps.apps && !deps.apps.has(app)) {
      throw new HttpError(403, 'forbidden', `app "${app}" is not allowed`, { field: c.app === undefined ? 'app' : 'Authorization' });
    }
    const ctx = flagContextOf({ app, user: c.sub, device: c.device ?? null, claims: c }, deps.env);
    return evaluateAll(deps.store.all(), ctx, deps.now());
  };

  /** The remote config for these evaluated flags: the option's, with each `config.<path>` flag's value at `<path>`. */
  const remoteConfig = (flags: Record<string, FlagResult>): Record<string, unknown> => {
    // `setPath` copies each object it writes into: the option's objects are never changed.
    const config: Record<string, unknown> = { ...deps.remoteConfig };
    for (const [k, r] of Object.entries(flags)) if (k.startsWith('config.')) setPath(config, k.slice(7).split('.'), r.value);
    return config;
  };

  /** Send `body` with an ETag, or 304 when the caller already has it. */
  const cached = (req: IncomingMessage, res: ServerResponse, body: unknown): void => {
    const etag = `"${sha(JSON.stringify(body)).toString('base64url').slice(0, 27)}"`;
    const given = req.headers['if-none-match'];
    if (given !== undefined && given.split(',').some((t) => t.trim() === etag)) {
      res.writeHead(304, { etag, 'cache-control': 'no-cache' }).end();
      return;
    }
    sendJson(res, 200, body, { etag, 'cache-control': 'no-cache' });
  };

  /**
   * The caller's scope: `null` with the server-wide key (every flag), else the apps of its per-app
   * key, which reaches only flags limited (`apps`) to those apps.
   */
  const admin = (req: IncomingMessage): Set<string> | null => {
    const { key } = deps.apiKeys.check(req, 'the flags admin API is disabled: the server has no apiKey');
    return deps.apiKeys.appsOf(key);
  };
  const within = (scope: Set<string> | null, apps: string[] | undefined): boolean => scope === null || (apps !== undefined && apps.every((a) => scope.has(a)));

  const handle = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const method = req.method ?? 'GET';
    if (BROWSER_PATHS.has(pathname)) {
      // Any origin by default: the credential is a bearer token a foreign page does not have.
      if (answerCors(req, res, deps.corsOrigins ?? '*', CORS_HEADERS)) return;
    }
    if (pathname === '/api/flags') {
      if (method !== 'GET') throw notAllowed(res, 'GET');
      const flags = await evaluated(req);
      return cached(req, res, { flags });
    }
    if (pathname === '/api/config/remote') {
      if (method !== 'GET') throw notAllowed(res, 'GET');
      return cached(req, res, remoteConfig(await evaluated(req)));
    }
    if (pathname === '/ofrep/v1/evaluate/flags') {
      if (method !== 'POST') throw notAllowed(res, 'POST');
      // The context is the verified token's, not the body's: a caller cannot claim another identity.
      const flags = await evaluated(req);
      const list = Object.entries(flags).map(([key, r]) => ({ key, value: r.value, reason: r.reason, ...(r.variant ? { variant: r.variant } : {}), metadata: { version: r.version } }));
      return cached(req, res, { flags: list });
    }
    if (pathname.startsWith('/api/flags/')) {
      const key = decodeKey(pathname.slice('/api/flags/'.length));
      if (method !== 'PUT' && method !== 'DELETE' && method !== 'GET') throw notAllowed(res, 'GET, PUT, DELETE');
      const scope = admin(req);
      // Another app's flag (or one of every app) is not there for a per-app key.
      const visible = () => {
        const def = deps.store.get(key);
        return def && within(scope, def.apps) ? def : undefined;
      };
      if (method === 'GET') {
        const def = visible();
        if (!def) throw new HttpError(404, 'not_found', `no flag "${key.slice(0, 128)}"`);
        return sendJson(res, 200, def);
      }
      if (!flagKey.safeParse(key).success) throw new HttpError(400, 'bad_request', 'key: must be 1-128 letters, digits or . _ - :', { field: 'key' });
      if (method === 'DELETE') {
        if (!visible() || !(await deps.store.delete(key))) throw new HttpError(404, 'not_found', `no flag "${key}"`);
        return sendJson(res, 200, { key, deleted: true });
      }
      if (deps.store.get(key) && !visible()) throw new HttpError(403, 'forbidden', `flag "${key}" is not limited to this key's apps`, { field: 'key' });
      const raw = await readJson(req, deps.maxBodyBytes);
      let body = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !('key' in raw) ? { ...raw, key } : raw;
      // A per-app key's flag is limited to its app when the body does not say.
      if (scope !== null && body !== null && typeof body === 'object' && !Array.isArray(body) && !('apps' in body)) body = { ...body, apps: [...scope] };
      const parsed = flagDefinition.safeParse(body);
      if (!parsed.success) {
        const { field, message } = firstIssue(parsed.error);
        throw new HttpError(400, 'bad_request', message, { field });
      }
      if (parsed.data.key !== key) throw new HttpError(400, 'bad_request', 'key: must equal the key in the path', { field: 'key' });
      if (!within(scope, parsed.data.apps)) throw new HttpError(403, 'forbidden', "apps: a per-app API key writes only flags limited to its own apps", { field: 'apps' });
      try {
        const stored = await deps.store.put(parsed.data);
        return sendJson(res, 200, stored);
      } catch (e) {
        if (e instanceof RangeError) throw new HttpError(409, 'conflict', e.message);
        throw e;
      }
    }
    throw new HttpError(404, 'not_found', `no route for ${method} ${pathname.slice(0, 200)}`);
  };

  return Object.assign(handle, {
    // The caller's token when it sends one, else the anonymous evaluation (telemetry's config is public).
    telemetryConfig: async (req: IncomingMessage): Promise<unknown> => remoteConfig(await evaluated(req, true)).telemetry,
  });
}

/**
 * `?app=` of a request whose token has no `app` claim (what the connect frame's `app` says on a
 * connection); absent: `null`, and flags limited to `apps` are left out.
 */
function appParam(req: IncomingMessage): string | null {
  const app = new URL(req.url ?? '/', 'http://localhost').searchParams.get('app');
  return app === null || app === '' || app.length > 256 ? null : app;
}

/** A flag key from the path: bad percent-encoding (`%E0%A4%A`) is the caller's 400, not a 500. */
function decodeKey(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'bad_request', 'key: bad percent-encoding in the path', { field: 'key' });
  }
}

function notAllowed(res: ServerResponse, allow: string): HttpError {
  res.setHeader('allow', allow);
  return new HttpError(405, 'method_not_allowed', `use ${allow}`);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let at = target;
  for (const p of path.slice(0, -1)) {
    if (p === '__proto__' || p === 'constructor' || p === 'prototype') return;
    const next = at[p];
    at = (at[p] = next !== null && typeof next === 'object' && !Array.isArray(next) ? { ...(next as object) } : {}) as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (last === '__proto__' || last === 'constructor' || last === 'prototype' || last === '') return;
  at[last] = value;
}
