import { SENSITIVE_KEY, scrubString } from 'sdk-realtime/protocol';

/** Nesting kept in stored props, as on the device (`scrub`): deeper values become `'[deep]'`. */
const MAX_PROPS_DEPTH = 8;

/**
 * The server's pass over a client's `props`, the same rules as the device's `filterFields` +
 * `scrub` (which the server cannot trust to have run), written for hostile input:
 *
 * - with a non-empty `allow`, only those top-level keys stay (exact match);
 * - keys in `deny` (exact, case-insensitive) and keys that name credentials ({@link SENSITIVE_KEY},
 *   anywhere in the lower-cased key: `accessToken`, `x-api-key`, `SESSION_COOKIE`) go, at any depth;
 * - personal data is scrubbed out of string values and out of keys; keys that scrub alike are all
 *   kept, the later ones with a `~<n>` suffix no other key of the object holds;
 * - only own keys count (a key `constructor` or `toString` is an ordinary key) and `__proto__` is
 *   dropped, so nothing here touches a prototype.
 *
 * Recursive, but only MAX_PROPS_DEPTH deep: the caller has bounded nesting before this runs anyway.
 */
export function scrubProps(props: Record<string, unknown>, allow: readonly string[], deny: readonly string[]): Record<string, unknown> {
  const denied = new Set(deny.map((d) => d.toLowerCase()));
  const allowed = new Set(allow);
  const walk = (v: unknown, depth: number, top: boolean): unknown => {
    if (typeof v === 'string') return scrubString(v);
    if (typeof v !== 'object' || v === null) return v;
    if (depth > MAX_PROPS_DEPTH) return '[deep]';
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1, false));
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const k of Object.keys(v)) {
      const lower = k.toLowerCase();
      if (k === '__proto__' || denied.has(lower) || SENSITIVE_KEY.test(lower) || (top && allowed.size > 0 && !allowed.has(k))) continue;
      const base = scrubString(k);
      let key = base;
      while (Object.hasOwn(out, key)) key = `${base}~${++n}`;
      out[key] = walk((v as Record<string, unknown>)[k], depth + 1, false);
    }
    return out;
  };
  return walk(props, 0, true) as Record<string, unknown>;
}
