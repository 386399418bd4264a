import type { Storage } from '../storage/types';
import type { RemoteConfig } from './types';

/** Only the fields of `raw` that have the right type; anything else is ignored. */
export function readConfig(raw: unknown): RemoteConfig {
  const r = (raw && typeof raw == 'object' ? raw : {}) as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x == 'string') ? (v as string[]) : undefined);
  const c: RemoteConfig = {};
  if (typeof r.enabled == 'boolean') c.enabled = r.enabled;
  if (typeof r.sampleRate == 'number' && r.sampleRate >= 0 && r.sampleRate <= 1) c.sampleRate = r.sampleRate;
  if (list(r.allow)) c.allow = list(r.allow);
  if (list(r.deny)) c.deny = list(r.deny);
  if (list(r.plugins)) c.plugins = list(r.plugins);
  return c;
}

/**
 * Load the remote config: fresh from `load` (cached in `storage` under `key`), else the cached copy,
 * else `{}` (the options' defaults apply). Never rejects.
 */
export async function loadRemoteConfig(load: () => Promise<unknown>, storage: Storage, key: string): Promise<RemoteConfig> {
  try {
    const c = readConfig(await load());
    await storage.set(key, JSON.stringify(c));
    return c;
  } catch {
    try {
      return readConfig(JSON.parse((await storage.get(key)) ?? '{}'));
    } catch {
      return {};
    }
  }
}

/** A loader that GETs `url` with `fetch`, giving up after `timeout` ms. */
export const fetchConfig = (url: string, timeout: number, f: typeof fetch = fetch) => async (): Promise<unknown> => {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), timeout);
  try {
    const res = await f(url, { signal: ctl.signal, credentials: 'omit' });
    if (!res.ok) throw new Error(String(res.status));
    return await res.json();
  } finally {
    clearTimeout(t);
  }
};
