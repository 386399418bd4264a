import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyGate } from '../../api-key';
import { HttpError, readJson, sendHttpError, sendJson } from '../../http-util';
import type { Logger } from '../../logger';
import { AlertInputError, AlertLimitError, type AlertEngine, type RuleStatus } from './engine';
import type { AlertRule } from './rules';

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
export function createAlertRoutes(deps: { engine: AlertEngine; apiKeys: ApiKeyGate; maxBodyBytes: number; logger: Logger }) {
  const { engine } = deps;
  const body = (req: IncomingMessage) => readJson(req, deps.maxBodyBytes);

  const route = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    deps.apiKeys.check(req, 'the alerts admin API is disabled: the server has no apiKey');
    const method = req.method ?? 'GET';
    const parts = pathname.slice(ALERTS_PATH.length).split('/').filter(Boolean);
    const [what, id, action] = parts;
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    if (what === 'rules' && parts.length === 1) {
      only(res, method, ['GET']);
      return sendJson(res, 200, { rules: engine.list().map(shown) });
    }
    if (what === 'rules' && parts.length === 2) {
      const ruleId = decode(id!);
      only(res, method, ['GET', 'PUT', 'DELETE']);
      if (method === 'PUT') {
        const raw = await body(req);
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HttpError(400, 'bad_request', 'body must be a rule object', { field: '(body)' });
        const given = (raw as { id?: unknown }).id;
        if (given !== undefined && given !== ruleId) throw new HttpError(400, 'bad_request', 'id: must match the id in the path', { field: 'id' });
        const rule = engine.put({ ...raw, id: ruleId });
        return sendJson(res, 200, engine.get(rule.id) && shown(engine.get(rule.id)!));
      }
      if (method === 'DELETE') {
        if (!engine.delete(ruleId)) throw new HttpError(404, 'not_found', `no alert rule "${ruleId.slice(0, 128)}"`);
        res.writeHead(204).end();
        return;
      }
      const status = engine.get(ruleId);
      if (!status) throw new HttpError(404, 'not_found', `no alert rule "${ruleId.slice(0, 128)}"`);
      return sendJson(res, 200, shown(status));
    }
    if (what === 'history' && parts.length === 1) {
      only(res, method, ['GET']);
      const limitText = query.get('limit');
      const limit = limitText === null ? 100 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, 'bad_request', 'limit: must be an integer 1..1000', { field: 'limit' });
      return sendJson(res, 200, { alerts: engine.alerts({ ruleId: query.get('ruleId') ?? undefined, app: query.get('app') ?? undefined, limit }) });
    }
    if (what === 'history' && parts.length === 3 && action === 'ack') {
      only(res, method, ['POST']);
      const alert = engine.acknowledge(decode(id!));
      if (!alert) throw new HttpError(404, 'not_found', 'no such alert (it may have left the history)');
      return sendJson(res, 200, { alert });
    }
    if (what === 'silences' && parts.length === 1) {
      only(res, method, ['GET', 'POST']);
      if (method === 'POST') return sendJson(res, 201, { silence: engine.addSilence(await body(req)) });
      return sendJson(res, 200, { silences: engine.listSilences() });
    }
    if (what === 'silences' && parts.length === 2) {
      only(res, method, ['DELETE']);
      if (!engine.deleteSilence(decode(id!))) throw new HttpError(404, 'not_found', 'no such silence');
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
