/**
 * A Transport moves opaque frames and reports open/close/error. It knows nothing about topics,
 * so the client core runs unchanged over a browser WebSocket, `ws` on Node, a mini-program
 * SocketTask or a host message channel.
 */

/** Callbacks a transport connection reports to. Each is called on the event loop, never re-entrantly from `send`. */
export interface TransportHandlers {
  onOpen(): void;
  onMessage(data: string | ArrayBuffer): void;
  /** Called exactly once per connection, also when opening failed. `code` follows WebSocket close codes (1006 when unknown). */
  onClose(code: number, reason: string): void;
  /** Informational; `onClose` always follows. */
  onError?(error: unknown): void;
}

/** One open (or opening) link. */
export interface TransportConnection {
  send(frame: string): void;
  /** Close the link; `onClose` is still called once. Idempotent. */
  close(code?: number, reason?: string): void;
}

/** Opens a connection to `url`. Must not throw for network failures: report them through `onClose`. */
export type Transport = (url: string, handlers: TransportHandlers) => TransportConnection;
