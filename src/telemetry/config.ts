import type { Storage } from '../storage/types';
import type { RemoteConfig } from './types';

const list = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x == 'string') ? (v as string[]) : undefined);

/** Only the fields of `raw` that have the right type (lists: arrays of strings; sampleRate: 0..1); the rest is ignored. */
export function readConfig(raw: unknown): RemoteConfig {
  const r = (raw ?? {}) as Record<string, unknown>;
  const rate = r.sampleRate as number;
  return {
    enabled: r.enabled === false ? false : undefined,
    sampleRate: typeof rate == 'number' && rate >= 0 && rate <= 1 ? rate : undefined,
    allow: list(r.allow),
    deny: list(r.deny),
    plugins: list(r.plugins),
  };
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

/** A loader that GETs `url` with `fetch`, giving up after `timeout` ms (the request is left to finish on its own). */
export const fetchConfig = (url: string, timeout: number) => (): Promise<unknown> =>
  Promise.race([
    fetch(url).then((r) => (r.ok ? r.json() : Promise.reject(r.status))),
    new Promise((_, reject) => setTimeout(reject, timeout)),
  ]);
