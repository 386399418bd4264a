/**
 * Keys that name credentials, matched anywhere in a lower-cased key (`Authorization`,
 * `x-auth-token`, `session_cookie`, `dbPassword`, `x-api-key`): removed from props on the device and again on
 * the server, whatever the deny lists say.
 */
export const SENSITIVE_KEY = /passw|secret|token|authori|cookie|api.?key|credential|private.?key/;

/**
 * Apply field lists to `props`: with a non-empty `allow`, only those top-level keys stay; keys in
 * `deny` (compared case-insensitively) and keys matching {@link SENSITIVE_KEY} are removed at any
 * depth. Returns a new object; `props` is not changed. (Recursive: the server checks nesting depth
 * before it calls this on a client's props.)
 */
export function filterFields(props: Record<string, unknown>, allow: readonly string[] = [], deny: readonly string[] = []): Record<string, unknown> {
  const denied = deny.map((d) => d.toLowerCase());
  const walk = (v: unknown, top: boolean): unknown => {
    if (typeof v != 'object' || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    const out: Record<string, unknown> = {};
    for (const k in v) {
      const lower = k.toLowerCase();
      if (denied.includes(lower) || SENSITIVE_KEY.test(lower) || (top && allow.length && !allow.includes(k))) continue;
      out[k] = walk((v as Record<string, unknown>)[k], false);
    }
    return out;
  };
  return walk(props, true) as Record<string, unknown>;
}
