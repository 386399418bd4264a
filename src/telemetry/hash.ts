/**
 * FNV-1a, 32 bit, over UTF-16 code units, as 8 hex digits. Not cryptographic: it pseudonymises
 * (the same e-mail always gives the same token, so counts per person still work) but a short or
 * guessable value can be found again by brute force. Use it to keep raw PII out of logs, not as a secret.
 */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
