import type { WireError } from '../protocol/frames';

/**
 * Throw this from an RPC method (or a hook) to answer with a specific error code and message
 * instead of the generic `internal`. Any other thrown value becomes `internal` and is logged.
 */
export class RpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}
