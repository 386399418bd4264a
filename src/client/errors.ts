import type { ErrorCode, WireError } from '../protocol/frames';

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

  constructor(code: ErrorCode | (string & {}), message: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** The client-side error for a wire error (reply or `error` frame). */
export const fromWire = (e: WireError): RealtimeError =>
  new RealtimeError(e.code, e.message, e.retryAfter === undefined ? undefined : { retryAfter: e.retryAfter });
