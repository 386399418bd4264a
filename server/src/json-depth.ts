/** Deepest nesting of arrays and objects accepted in a JSON value from outside. */
export const MAX_JSON_DEPTH = 64;

/**
 * The path (`a.b.3…`) of the first value nested deeper than `max`, or `undefined` when none is.
 * The common case (nothing too deep) walks the value once, allocating nothing per value and
 * building no path; the path is only worked out for a value that fails.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH, base = ''): string | undefined {
  return nestsBeyond(value, max) ? pathTo(value, max, base) : undefined;
}

/**
 * Whether an object or array sits `levels` levels below `v`. Recursive, but never deeper than
 * `levels` (at most {@link MAX_JSON_DEPTH} frames), so a hostile 100,000-level document cannot
 * overflow the stack here.
 */
function nestsBeyond(v: unknown, levels: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (levels <= 0) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (nestsBeyond(v[i], levels - 1)) return true;
    return false;
  }
  const obj = v as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (nestsBeyond(obj[k], levels - 1)) return true;
  return false;
}

/** The same walk, keeping paths, for a value known to nest too deeply. */
function pathTo(value: unknown, max: number, base: string): string {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: base }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return shorten(path) || '(body)';
    for (const k of Object.keys(v)) {
      stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1, path: path ? `${path}.${k}` : k });
    }
  }
  return '(body)';
}

/** A path that names where the nesting starts, not all 64 levels of it. */
function shorten(path: string): string {
  const parts = path.split('.');
  return parts.length <= 4 ? path : `${parts.slice(0, 3).join('.')}…`;
}
