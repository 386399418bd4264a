import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { onCleanup, startServer, type TestServer } from '../support/harness';

type ServerOptions = Parameters<typeof startServer>[0];

/** The reference server with the socket.io bridge on (headers trusted unless told otherwise). */
export function startBridge(options: ServerOptions = {}): Promise<TestServer> {
  return startServer({ socketIo: { trustClientHeaders: true }, ...options });
}

/** A socket.io client of `app` on `server` (WebSocket only unless told), closed at cleanup. */
export function connectTo(
  server: { httpUrl: string },
  app: string,
  options: Partial<ManagerOptions & SocketOptions> = {},
): Socket {
  const s = io(`${server.httpUrl}/${app}`, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5000, ...options });
  onCleanup(() => s.close());
  return s;
}

/** A socket that trusts-headers identifies as `user` on `device`. */
export function legacy(server: { httpUrl: string }, app: string, user: string, device?: string, options: Partial<ManagerOptions & SocketOptions> = {}): Socket {
  const extraHeaders: Record<string, string> = { 'x-client-id': user };
  if (device !== undefined) extraHeaders['x-device-id'] = device;
  return connectTo(server, app, { extraHeaders, ...options });
}

/** Resolve once `s` is connected (reject with the `connect_error`). */
export function connected(s: Socket, timeoutMs = 5000): Promise<void> {
  if (s.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket.io connect timed out')), timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve();
    });
    s.once('connect_error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** The `connect_error` of `s` (rejects if it connects instead). */
export function refused(s: Socket, timeoutMs = 5000): Promise<Error & { data?: { code?: string } }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no connect_error in time')), timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      reject(new Error('connected, expected a refusal'));
    });
    s.once('connect_error', (e) => {
      clearTimeout(t);
      resolve(e as Error & { data?: { code?: string } });
    });
  });
}

/** Emit `event` with `args` and resolve with the acknowledgement. */
export function ask(s: Socket, event: string, ...args: unknown[]): Promise<any> {
  return s.timeout(5000).emitWithAck(event, ...args);
}

/** Every `dataUpdate` payload `s` receives, in order. */
export function inbox(s: Socket, event = 'dataUpdate'): unknown[] {
  const got: unknown[] = [];
  s.on(event, (payload: unknown) => got.push(payload));
  return got;
}

/** Poll until `predicate` holds (throws naming `what` after `timeoutMs`). */
export async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether `payload` is the marker `{ marker: name }`. */
export const isMarker = (name: string) => (payload: unknown) => typeof payload === 'object' && payload !== null && (payload as { marker?: unknown }).marker === name;
