import { fnv1a } from './hash';

// The local part is bounded (64, its RFC 5321 maximum): unbounded, a long run of word characters
// with no `@` (base64, a minified stack) costs quadratic time: 40,000 of them, a second.
const EMAIL = /[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+/g;
const IPV4 = /\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\b/g;
// Digit runs with phone-like separators; kept only if they hold 9..15 digits (so dates stay).
const PHONE = /\+?\(?\d[\d ()-]{7,}\d/g;

/**
 * Scrub personal data out of one string: e-mail addresses become `email:<fnv1a>`, phone numbers
 * (9 to 15 digits, optional `+`, spaces, dashes, parentheses) `phone:<fnv1a>`, and IPv4 addresses
 * are cut to their /24 (`203.0.113.7` → `203.0.113.0`). The same rules run again on the server.
 */
export function scrubString(s: string): string {
  return s
    .replace(EMAIL, (m) => 'email:' + fnv1a(m.toLowerCase()))
    .replace(IPV4, '$1.0')
    .replace(PHONE, (m) => {
      const digits = m.replace(/\D/g, '');
      return digits.length < 9 || digits.length > 15 ? m : 'phone:' + fnv1a(digits);
    });
}

/**
 * {@link scrubString} applied to every string in `value`, object keys included (objects and arrays,
 * up to 8 deep; deeper is cut). Two keys that scrub to the same one are both kept, the second with
 * a `~<n>` suffix.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value == 'string') return scrubString(value);
  if (typeof value != 'object' || value === null) return value;
  if (depth > 8) return '[deep]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const k in value) {
    const key = scrubString(k);
    out[key in out ? key + '~' + ++n : key] = scrub((value as Record<string, unknown>)[k], depth + 1);
  }
  return out;
}
