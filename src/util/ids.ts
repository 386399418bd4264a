/**
 * A random 128-bit id as 32 hex characters, used as the idempotency key of publishes. Uses
 * `crypto.getRandomValues` when the host has it (browsers, Node ≥ 19, mini-programs with a
 * polyfill) and falls back to `Math.random`, which is enough to tell one client's publishes apart.
 */
export function randomId(): string {
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto;
  const bytes = crypto && crypto.getRandomValues ? crypto.getRandomValues(new Uint8Array(16)) : undefined;
  let id = '';
  // `| 256` truncates the fallback's float and keeps a leading 1 so every byte gives two hex digits.
  for (let i = 0; i < 16; i++) id += ((bytes ? bytes[i]! : Math.random() * 256) | 256).toString(16).slice(1);
  return id;
}
