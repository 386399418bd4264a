/**
 * A random 128-bit id as 32 hex characters, used as the idempotency key of publishes. Uses
 * `crypto.getRandomValues` when the host has it (browsers, Node ≥ 19, mini-programs with a
 * polyfill) and falls back to `Math.random`, which is enough to tell one client's publishes apart.
 */
export function randomId(): string {
  const bytes = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto;
  if (crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = (Math.random() * 256) | 0;
  let id = '';
  for (let i = 0; i < 16; i++) id += (bytes[i]! | 256).toString(16).slice(1);
  return id;
}
