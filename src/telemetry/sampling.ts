import { fnv1a } from './hash';

/**
 * Whether the session `sessionId` is in the sample at `rate` (0..1). Deterministic: a session is
 * kept or dropped as a whole, and raising the rate only ever adds sessions.
 */
export function inSample(sessionId: string, rate: number): boolean {
  return rate >= 1 || (rate > 0 && parseInt(fnv1a(sessionId), 16) / 0x100000000 < rate);
}
