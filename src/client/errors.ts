import type { ErrorCode, WireError } from '../protocol/frames';
import { RETRY_AFTER_BOUND, clamp } from './limits';

/**
 * Every error the client reports or rejects with. `code` is stable (the table in
 * docs/protocol.md); `message` is for humans and may change.
 */
export class RealtimeError extends Error {
  override readonly name = 'RealtimeError';
  /** Stable machine-readable code, one of {@link ErrorCode} (or a code a newer server sent). */
  readonly code: ErrorCode | (string & {});
  /** For `rate_limited`: wait at least this long before trying again, in ms. */
  readonly retryAfter?: number;

  /** `cause`: the underlying error (what a handler threw, the transport's error event, ...). */
  constructor(code: ErrorCode | (string & {}), message: string, cause?: unknown, retryAfter?: number) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/** The client-side error for a wire error (reply or `error` frame); `retryAfter` clamped to {@link RETRY_AFTER_BOUND}. */
export const fromWire = (e: WireError): RealtimeError =>
  new RealtimeError(e.code, e.message, undefined, e.retryAfter === undefined ? e.retryAfter : clamp(e.retryAfter, RETRY_AFTER_BOUND));
