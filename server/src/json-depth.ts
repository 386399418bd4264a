/** Deepest nesting of arrays and objects accepted in a JSON value from outside. */
export const MAX_JSON_DEPTH = 64;

/**
 * The path (`a.b.3…`) of the first value nested deeper than `max`, or `undefined` when none is.
 * Iterative, so a hostile 100,000-level document cannot overflow the stack here. The common case
 * (nothing too deep) walks the value once without building any path; the path is only worked out
 * for a value that fails.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH, base = ''): string | undefined {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return pathTo(value, max, base);
    for (const k of Object.keys(v)) stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1 });
  }
  return undefined;
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
