/** `Retry-After` (seconds or an HTTP date) as ms from `now`; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  const ms = value ? (isNaN(+value) ? Date.parse(value) - now : +value * 1000) : NaN;
  return ms == ms ? Math.max(0, ms) : undefined;
}
