import { sameSecret } from '../../api-key';

/** The apps an API key may administer: every app for the one server key, else those it is the key of. */
export interface KeyScope {
  all: boolean;
  apps: ReadonlySet<string>;
}

/** The scope of `key` (already checked by the ApiKeyGate) under the server's `apiKey` option. */
export function scopeOf(apiKey: string | Record<string, string> | undefined, key: string): KeyScope {
  if (typeof apiKey !== 'object') return { all: true, apps: new Set() };
  const apps = new Set<string>();
  for (const [app, k] of Object.entries(apiKey)) if (sameSecret(key, k)) apps.add(app);
  return { all: false, apps };
}

export const inScope = (s: KeyScope, app: string | undefined): boolean => s.all || (app !== undefined && s.apps.has(app));
