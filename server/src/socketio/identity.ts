import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode } from 'sdk-realtime/protocol';
import { MAX_NAME_LENGTH } from '../connection/input';
import { Refusal, wireError as err } from '../connection/refusal';
import { identify, type SessionDeps } from '../connection/session';
import type { ConnectionContext } from '../options';

/** What identity needs from a socket.io handshake. */
export interface Handshake {
  headers: IncomingHttpHeaders;
  auth: Record<string, unknown>;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.length > 0 ? s : undefined;
};

/** The JWT of a handshake: `auth.token`, else `Authorization: Bearer <token>`. */
export function tokenOf(handshake: Handshake): string | undefined {
  const fromAuth = handshake.auth?.token;
  if (typeof fromAuth === 'string' && fromAuth.length > 0) return fromAuth;
  const authorization = header(handshake.headers, 'authorization');
  const m = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? m[1] : undefined;
}

/**
 * Who a socket.io handshake for `app` is. With a token (or without one, when `allowAnonymous`):
 * the native rules of connection/session.ts (`identify`), the device asked for through
 * `auth.device` or `x-device-id` granted only by the token or `deviceOf`. Without a token and with
 * `trusted` (`trustClientHeaders`): user `x-client-id`, device `x-device-id`, taken as they are.
 * Throws a {@link Refusal}; resolves `undefined` when the socket went away meanwhile.
 */
export async function identifyHandshake(
  app: string,
  handshake: Handshake,
  deps: SessionDeps,
  client: string,
  trusted: boolean,
  closed: () => boolean,
): Promise<ConnectionContext | undefined> {
  const token = tokenOf(handshake);
  const askedDevice = typeof handshake.auth?.device === 'string' && handshake.auth.device !== '' ? handshake.auth.device : header(handshake.headers, 'x-device-id');
  if (token === undefined && trusted) {
    if (deps.options.apps && !deps.options.apps.has(app)) throw new Refusal(err(ErrorCode.Forbidden, `app "${app}" is not allowed`));
    const user = header(handshake.headers, 'x-client-id') ?? null;
    const device = askedDevice ?? null;
    if (user === null && device === null && !deps.options.allowAnonymous) {
      throw new Refusal(err(ErrorCode.Unauthorized, 'no credentials: send a token (auth.token or Authorization: Bearer) or an x-client-id header'));
    }
    for (const [name, v] of [['x-client-id', user], ['x-device-id', device]] as const) {
      if (v !== null && v.length > MAX_NAME_LENGTH) throw new Refusal(err(ErrorCode.BadRequest, `${name} is longer than ${MAX_NAME_LENGTH}`));
    }
    return { app, user, device, client, claims: {} };
  }
  if (token === undefined && !deps.options.allowAnonymous) {
    throw new Refusal(err(ErrorCode.Unauthorized, 'token missing: send it as auth.token or an Authorization: Bearer header'));
  }
  if (askedDevice !== undefined && askedDevice.length > MAX_NAME_LENGTH) throw new Refusal(err(ErrorCode.BadRequest, `device is longer than ${MAX_NAME_LENGTH}`));
  return identify({ app, token, device: askedDevice }, deps, client, closed);
}
