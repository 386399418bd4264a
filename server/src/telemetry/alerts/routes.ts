import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyGate } from '../../api-key';
import { HttpError, readJson, sendHttpError, sendJson } from '../../http-util';
import type { Logger } from '../../logger';
import { AlertInputError, AlertLimitError, type AlertEngine, type RuleStatus } from './engine';
import type { AlertRule } from './rules';
import { inScope, scopeOf } from './scope';

export const ALERTS_PATH = '/api/telemetry/alerts';

/** Is `pathname` one of the alerts admin API's? */
export const isAlertsPath = (pathname: string): boolean => pathname === ALERTS_PATH || pathname.startsWith(ALERTS_PATH + '/');

/** A rule as listed: a webhook's path, query and secret are its credentials, so only its origin is shown. */
function redact(rule: AlertRule): unknown {
  return {
    ...rule,
    webhooks: rule.webhooks.map((w) => {
      let url = '(invalid url)';
      try {
        url = new URL(w.url).origin + '/…';
      } catch {
        // validated on the way in; kept defensive
      }
      return { url, format: w.format, ...(w.secret ? { secret: '[set]' } : {}) };
    }),
  };
}

const shown = (s: RuleStatus) => ({ ...s, rule: redact(s.rule) });

const decode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'bad_request', 'bad percent-encoding in the path');
  }
};

function only(res: ServerResponse, method: string, allowed: string[]): void {
  if (allowed.includes(method) || (method === 'HEAD' && allowed.includes('GET'))) return;
  res.setHeader('allow', allowed.join(', '));
  throw new HttpError(405, 'method_not_allowed', `use ${allowed.join(' or ')}`);
}

/**
 * The alerts admin API under `/api/telemetry/alerts` (every route takes the server API key):
 * `GET /rules`, `GET|PUT|DELETE /rules/:id`, `GET /history`, `POST /history/:id/ack`,
 * `GET|POST /silences`, `DELETE /silences/:id`.
 */
export function createAlertRoutes(deps: {
  engine: AlertEngine;
  apiKeys: ApiKeyGate;
  /** The server's `apiKey`: with one key per app, a key administers only its apps' rules, alerts and silences. */
  apiKey: string | Record<string, string> | undefined;
  maxBodyBytes: number;
  logger: Logger;
}) {
  const { engine } = deps;
  const body = (req: IncomingMessage) => readJson(req, deps.maxBodyBytes);

  const route = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const { key } = deps.apiKeys.check(req, 'the alerts admin API is disabled: the server has no apiKey');
    const scope = scopeOf(deps.apiKey, key);
    const noRule = (ruleId: string) => new HttpError(404, 'not_found', `no alert rule "${ruleId.slice(0, 128)}"`);
    const method = req.method ?? 'GET';
    const parts = pathname.slice(ALERTS_PATH.length).split('/').filter(Boolean);
    const [what, id, action] = parts;
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    if (what === 'rules' && parts.length === 1) {
      only(res, method, ['GET']);
      return sendJson(res, 200, { rules: engine.list().filter((r) => inScope(scope, r.rule.app)).map(shown) });
    }
    if (what === 'rules' && parts.length === 2) {
      const ruleId = decode(id!);
      only(res, method, ['GET', 'PUT', 'DELETE']);
      // Another app's rule does not exist for this key (not even to be replaced).
      const existing = engine.get(ruleId);
      if (existing && !inScope(scope, existing.rule.app)) throw noRule(ruleId);
      if (method === 'PUT') {
        const raw = await body(req);
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HttpError(400, 'bad_request', 'body must be a rule object', { field: '(body)' });
        const given = (raw as { id?: unknown }).id;
        if (given !== undefined && given !== ruleId) throw new HttpError(400, 'bad_request', 'id: must match the id in the path', { field: 'id' });
        const app = (raw as { app?: unknown }).app;
        if (typeof app === 'string' && !inScope(scope, app)) throw new HttpError(403, 'forbidden', `this API key is not the key of app "${app.slice(0, 100)}"`, { field: 'app' });
        const rule = engine.put({ ...raw, id: ruleId });
        return sendJson(res, 200, engine.get(rule.id) && shown(engine.get(rule.id)!));
      }
      if (method === 'DELETE') {
        if (!engine.delete(ruleId)) throw noRule(ruleId);
        res.writeHead(204).end();
        return;
      }
      if (!existing) throw noRule(ruleId);
      return sendJson(res, 200, shown(existing));
    }
    if (what === 'history' && parts.length === 1) {
      only(res, method, ['GET']);
      const limitText = query.get('limit');
      const limit = limitText === null ? 100 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, 'bad_request', 'limit: must be an integer 1..1000', { field: 'limit' });
      const app = query.get('app') ?? undefined;
      if (!scope.all && app === undefined) throw new HttpError(400, 'bad_request', 'app: required with a per-app API key', { field: 'app' });
      if (!inScope(scope, app ?? '')) return sendJson(res, 200, { alerts: [] });
      return sendJson(res, 200, { alerts: engine.alerts({ ruleId: query.get('ruleId') ?? undefined, app, limit }) });
    }
    if (what === 'history' && parts.length === 3 && action === 'ack') {
      only(res, method, ['POST']);
      const alertId = decode(id!);
      const alert = engine.find(alertId);
      if (!alert || !inScope(scope, alert.app)) throw new HttpError(404, 'not_found', 'no such alert (it may have left the history)');
      const acked = engine.acknowledge(alertId);
      if (!acked) throw new HttpError(404, 'not_found', 'no such alert (it may have left the history)');
      return sendJson(res, 200, { alert: acked });
    }
    if (what === 'silences' && parts.length === 1) {
      only(res, method, ['GET', 'POST']);
      if (method === 'POST') {
        const raw = await body(req);
        const app = (raw as { app?: unknown } | null)?.app;
        // A per-app key silences only its apps: `app` is required, so no silence spans the others.
        if (!scope.all && (typeof app !== 'string' || !inScope(scope, app))) {
          throw new HttpError(403, 'forbidden', 'app: a per-app API key must name one of its apps', { field: 'app' });
        }
        return sendJson(res, 201, { silence: engine.addSilence(raw) });
      }
      return sendJson(res, 200, { silences: engine.listSilences().filter((x) => scope.all || inScope(scope, x.app)) });
    }
    if (what === 'silences' && parts.length === 2) {
      only(res, method, ['DELETE']);
      const silenceId = decode(id!);
      const silence = engine.listSilences().find((x) => x.id === silenceId);
      if (!silence || !(scope.all || inScope(scope, silence.app)) || !engine.deleteSilence(silenceId)) throw new HttpError(404, 'not_found', 'no such silence');
      res.writeHead(204).end();
      return;
    }
    throw new HttpError(404, 'not_found', `no route for ${method} ${pathname.slice(0, 200)}`);
  };

  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    try {
      await route(req, res, pathname);
    } catch (e) {
      if (e instanceof AlertInputError) return sendHttpError(res, new HttpError(400, 'bad_request', e.message, { field: e.field }));
      if (e instanceof AlertLimitError) return sendHttpError(res, new HttpError(409, 'limit_reached', e.message));
      throw e;
    }
  };
}
