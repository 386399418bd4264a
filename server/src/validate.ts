/**
 * Option validators shared by the server's option resolvers: each returns the value (or its
 * default) or throws a TypeError naming the option.
 */
export const bad = (name: string, what: string): TypeError =>
  new TypeError(`sdk-realtime server: option "${name}" must be ${what}`);

export function int(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(name, `an integer between ${min} and ${max}`);
  }
  return value;
}

export function str(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw bad(name, 'a non-empty string');
  return value;
}

export function bool(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw bad(name, 'a boolean');
  return value;
}

export function obj(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(name, 'an object');
  return value as Record<string, unknown>;
}

export function fn<F>(name: string, value: unknown, fallback: F): F {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw bad(name, 'a function');
  return value as F;
}

