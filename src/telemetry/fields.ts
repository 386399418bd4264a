/**
 * Apply field lists to `props`: with a non-empty `allow`, only those top-level keys stay; keys in
 * `deny` are removed at any depth. Returns a new object; `props` is not changed.
 */
export function filterFields(props: Record<string, unknown>, allow: readonly string[] = [], deny: readonly string[] = []): Record<string, unknown> {
  const walk = (v: unknown, top: boolean): unknown => {
    if (typeof v != 'object' || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    const out: Record<string, unknown> = {};
    for (const k in v) {
      if (deny.includes(k) || (top && allow.length && !allow.includes(k))) continue;
      out[k] = walk((v as Record<string, unknown>)[k], false);
    }
    return out;
  };
  return walk(props, true) as Record<string, unknown>;
}
