import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError, bearer, clientIp, limitKey } from './http-util';
import { KeyedLimiter } from './rate-limit';

/** Compare secrets in constant time (hashing first so lengths need not match). */
export function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

/** A caller whose key is one of the server's. */
export interface KeyHolder {
  key: string;
  /** Refuse it after all (e.g. the key of another app): a 401 that counts as a failed attempt. */
  refuse(message: string): never;
}

/**
 * The server API key check of every endpoint that takes one (`POST /notify`, the flags admin
 * API): `Authorization: Bearer <apiKey>` compared in constant time against every key, and failed
 * attempts counted per client address across those endpoints, so guessing keys on one does not
 * get fresh attempts on another: over `limit.failures` per `limit.per` ms the address gets 429.
 */
export class ApiKeyGate {
  private readonly failures: KeyedLimiter;
  private readonly keys: string[];

  constructor(
    private readonly apiKey: string | Record<string, string> | undefined,
    limit: { failures: number; per: number },
    private readonly trustProxy: boolean,
  ) {
    this.failures = new KeyedLimiter({ requests: limit.failures, per: limit.per });
    this.keys = apiKey === undefined ? [] : typeof apiKey === 'string' ? [apiKey] : Object.values(apiKey);
  }

  /**
   * Authenticate `req` before anything is read from it. `disabled` is the 404's message when the
   * server has no key (the endpoint is off).
   */
  check(req: IncomingMessage, disabled: string): KeyHolder {
    if (this.apiKey === undefined) throw new HttpError(404, 'not_found', disabled);
    const ip = limitKey(clientIp(req, this.trustProxy));
    const wait = this.failures.peek(ip);
    if (wait > 0) throw new HttpError(429, 'rate_limited', 'too many failed authentications from this address', { retryAfter: wait });
    const refuse = (message: string): never => {
      this.failures.take(ip);
      throw new HttpError(401, 'unauthorized', message);
    };
    const key = bearer(req);
    if (!key) return refuse('missing "Authorization: Bearer <apiKey>"');
    // Every key compared, so the time taken says nothing about which one came close.
    if (!this.keys.reduce((hit, k) => sameSecret(key, k) || hit, false)) refuse('wrong API key');
    return { key, refuse };
  }

  /**
   * The apps a checked key is the per-app key of, or `null` for the one server-wide key (every
   * app). Every entry compared, as in {@link check}.
   */
  appsOf(key: string): Set<string> | null {
    const byApp = this.apiKey;
    if (byApp === undefined || typeof byApp === 'string') return null;
    const apps = new Set<string>();
    for (const [app, k] of Object.entries(byApp)) if (sameSecret(key, k)) apps.add(app);
    return apps;
  }
}
