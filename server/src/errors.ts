import type { WireError } from 'sdk-realtime/protocol';

/**
 * Throw this from an RPC method (or a hook) to answer with a specific error code and message
 * instead of the generic `internal`. Any other thrown value becomes `internal` and is logged.
 * `retryAfter` (ms) tells the client how long to wait, e.g. with code `rate_limited`.
 */
export class RpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message };
    if (this.retryAfter !== undefined) wire.retryAfter = this.retryAfter;
    return wire;
  }
}
