import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { sameSecret, type ApiKeyGate } from './api-key';
import type { Metrics } from './metrics';
import { BrokerUnavailableError, IdempotencyConflictError, type PublishOptions } from './brokers/types';
import { fingerprintOf } from './idempotency';
import { PayloadTooLargeError, type PublishReceipt, type PublishTarget } from './publish';
import { KeyedLimiter } from './rate-limit';
import { HttpError, isAbort, readJson, sendHttpError, sendJson } from './http-util';
import { MAX_NAME_LENGTH } from './connection/input';

/** Most ids one `/notify` may list per target kind. */
export const MAX_TARGETS = 1000;

/** A user, device, topic or app name: as over the WebSocket, 1 to {@link MAX_NAME_LENGTH} characters. */
const name = z
  .string()
  .min(1, 'must be a non-empty string')
  .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`);
const ids = z.array(name).max(MAX_TARGETS, `at most ${MAX_TARGETS} entries`);

/** The `POST /notify` body (docs/protocol.md, HTTP endpoints). */
export const notifyBody = z
  .object({
    appId: name,
    users: ids.optional(),
    devices: ids.optional(),
    eventTopics: ids.optional(),
    data: z.custom<unknown>((v) => v !== undefined, { message: 'is required (any JSON value)' }),
  })
  .superRefine((body, ctx) => {
    if (!body.users?.length && !body.devices?.length && !body.eventTopics?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['eventTopics'],
        message: 'at least one target is required: users, devices or eventTopics',
      });
    }
  });

export interface NotifyDeps {
  /** The server's API key(s): per-app keys must match the body's `appId`. */
  apiKey: string | Record<string, string> | undefined;
  /** Authenticates the caller (shared with the other endpoints that take the API key). */
  apiKeys: ApiKeyGate;
  apps: Set<string> | undefined;
  maxBodyBytes: number;
  rateLimit: { requests: number; per: number };
  metrics: Metrics;
  publish(app: string, target: PublishTarget, options?: PublishOptions): Promise<PublishReceipt>;
  /** The broker's shared `/notify` limit for an app (ms to wait, 0 = go); absent: a local limiter. */
  rateLimitOf?: (app: string) => Promise<number>;
}

/** Builds the `POST /notify` handler: authenticate, validate, rate limit per app, publish. */
export function createNotifyHandler(deps: NotifyDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const perApp = new KeyedLimiter(deps.rateLimit);

  const handle = async (req: IncomingMessage): Promise<{ status: number; body: unknown }> => {
    const { apiKey } = deps;
    // Authenticate before reading the body, so a caller without a valid key holds no buffer. With
    // per-app keys the app is in the body: here the key must be one of them, and after parsing it
    // must be the key of that app.
    const { key, refuse } = deps.apiKeys.check(req, '/notify is disabled: the server has no apiKey');

    const raw = await readJson(req, deps.maxBodyBytes);
    const parsed = notifyBody.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join('.');
      throw new HttpError(400, 'bad_request', field ? `${field}: ${issue.message}` : issue.message, { field: field || '(body)' });
    }
    const body = parsed.data;
    if (typeof apiKey === 'object') {
      const expected = Object.prototype.hasOwnProperty.call(apiKey, body.appId) ? apiKey[body.appId] : undefined;
      if (expected === undefined || !sameSecret(key, expected)) refuse('wrong API key for this app');
    }
    if (deps.apps && !deps.apps.has(body.appId)) throw new HttpError(403, 'forbidden', `app "${body.appId}" is not allowed`);
    // Cluster-wide when the broker keeps limits (Redis), else this node's own.
    const retryAfter = deps.rateLimitOf ? await deps.rateLimitOf(body.appId).catch(unavailable) : perApp.take(body.appId);
    if (retryAfter > 0) throw new HttpError(429, 'rate_limited', 'too many /notify requests for this app', { retryAfter });

    const target = { users: body.users, devices: body.devices, eventTopics: body.eventTopics, data: body.data };
    const idempotencyKey = idempotencyKeyOf(req);
    const options = idempotencyKey === undefined ? undefined : { key: `notify\u0000${idempotencyKey}`, fingerprint: fingerprintOf(target) };
    const receipt = await deps
      .publish(body.appId, target, options)
      .catch((e: unknown) => {
        if (e instanceof IdempotencyConflictError) {
          throw new HttpError(409, 'conflict', 'Idempotency-Key: already used for a different request', { field: 'Idempotency-Key' });
        }
        if (e instanceof PayloadTooLargeError) throw new HttpError(413, 'too_large', e.message, { field: 'data' });
        return unavailable(e);
      });
    return { status: 200, body: receipt };
  };

  return async (req, res) => {
    try {
      const { status, body } = await handle(req);
      deps.metrics.notify(status);
      sendJson(res, status, body);
    } catch (e) {
      // A caller that went away mid-body is nobody's error: nothing to answer, no 500 to count.
      if (isAbort(e)) throw e;
      const error = e instanceof HttpError ? e : new HttpError(500, 'internal', 'internal server error');
      deps.metrics.notify(error.status);
      sendHttpError(res, error);
      if (!(e instanceof HttpError)) throw e;
    }
  };
}

/** Longest `Idempotency-Key` accepted. */
const MAX_IDEMPOTENCY_KEY = 128;

/**
 * The request's `Idempotency-Key` header: 1–128 visible ASCII characters, or absent. A retry with
 * the same key and body (on any node, within 5 minutes) is answered with the first result and
 * delivered once; the same key with another body gets 409.
 */
function idempotencyKeyOf(req: IncomingMessage): string | undefined {
  const value = req.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY || !/^[\x21-\x7e]+$/.test(value)) {
    throw new HttpError(400, 'bad_request', `Idempotency-Key: 1 to ${MAX_IDEMPOTENCY_KEY} visible ASCII characters`, { field: 'Idempotency-Key' });
  }
  return value;
}

/** The broker's store is unreachable: 503, retry later (with the same Idempotency-Key, if any). */
function unavailable(e: unknown): never {
  if (e instanceof BrokerUnavailableError) throw new HttpError(503, 'unavailable', 'message store unavailable, retry later', { retryAfter: 1000 });
  throw e;
}
