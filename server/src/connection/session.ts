import { CloseCode, ErrorCode, PROTOCOL_VERSION, type ConnectFrame, type RefreshFrame } from 'sdk-realtime/protocol';
import type { TokenAuthority, TokenClaims } from '../auth';
import type { ConnectionContext, ResolvedOptions } from '../options';
import { MAX_NAME_LENGTH } from './input';
import { Refusal, wireError as err } from './refusal';

/** What identity checks need from the server. */
export interface SessionDeps {
  options: ResolvedOptions;
  auth: TokenAuthority;
}

const refuse = (code: string, message: string, close: number, reconnect = false) => new Refusal(err(code, message), { code: close, reconnect });

/**
 * Who a `connect` frame is: the protocol version, the app, the verified token and its bindings,
 * and the device stream the connection owns (only from the token's `device` claim or the
 * `deviceOf` hook; anonymous connections own none). Throws a {@link Refusal} that closes with the
 * documented code; resolves `undefined` if the socket closed while the token was being checked.
 */
export async function authenticate(frame: ConnectFrame, deps: SessionDeps, client: string, closed: () => boolean): Promise<ConnectionContext | undefined> {
  if (frame.v !== PROTOCOL_VERSION) {
    throw refuse(ErrorCode.BadRequest, `protocol version ${frame.v} not supported (server speaks ${PROTOCOL_VERSION})`, CloseCode.BadConnect);
  }
  return identify(frame, deps, client, closed);
}

/** Who asks to connect, whatever the protocol: the app, the token (if any), the device it asks for. */
export interface IdentityRequest {
  app: string;
  token?: string;
  device?: string;
}

/**
 * The identity rules of {@link authenticate} without the protocol version check, shared by native
 * connections and the socket.io bridge: the `apps` allow-list, the token (or `allowAnonymous`), its
 * `app`/`device` bindings and the `deviceOf` hook.
 */
export async function identify(frame: IdentityRequest, deps: SessionDeps, client: string, closed: () => boolean): Promise<ConnectionContext | undefined> {
  const { options, auth } = deps;
  if (options.apps && !options.apps.has(frame.app)) throw refuse(ErrorCode.Forbidden, `app "${frame.app}" is not allowed`, CloseCode.Forbidden);
  let claims: TokenClaims | undefined;
  if (frame.token === undefined || frame.token === '') {
    if (!options.allowAnonymous) throw refuse(ErrorCode.Unauthorized, 'token missing', CloseCode.Unauthorized);
  } else {
    const verified = await auth.verify(frame.token);
    if (closed()) return undefined;
    // An expired token is fixed by a fresh one; a badly signed or malformed one is not.
    if (!verified.ok) throw refuse(ErrorCode.Unauthorized, verified.message, CloseCode.Unauthorized, verified.expired);
    claims = verified.claims;
    checkBinding(claims, frame.app, frame.device, options.tokens.anyApp);
  }
  const ctx: ConnectionContext = { app: frame.app, user: claims?.sub ?? null, device: claims?.device ?? null, client, claims: claims ?? {} };
  // An unverified `device` in `connect` is ignored unless the deviceOf hook grants it.
  if (ctx.device === null && ctx.user !== null && frame.device !== undefined && options.deviceOf) {
    const granted = await options.deviceOf({ ...ctx }, frame.device);
    if (closed()) return undefined;
    if (granted !== null && (typeof granted !== 'string' || granted.length === 0 || granted.length > MAX_NAME_LENGTH)) {
      throw new TypeError('deviceOf must return a non-empty string or null');
    }
    ctx.device = granted;
  }
  return ctx;
}

/**
 * The claims of a `refresh` token, which must be the same user, app and device as the
 * connection's. Throws a {@link Refusal} (answered, the connection stays).
 */
export async function verifyRefresh(frame: RefreshFrame, ctx: ConnectionContext, deps: SessionDeps): Promise<TokenClaims> {
  const verified = await deps.auth.verify(frame.token);
  if (!verified.ok) throw new Refusal(err(ErrorCode.Unauthorized, verified.message));
  const claims = verified.claims;
  if (claims.sub !== ctx.user) throw new Refusal(err(ErrorCode.Unauthorized, 'token is for another user'));
  if (claims.app !== undefined && claims.app !== ctx.app) throw new Refusal(err(ErrorCode.Forbidden, 'token is bound to another app'));
  if (claims.app === undefined && !deps.options.tokens.anyApp) throw new Refusal(err(ErrorCode.Forbidden, 'token has no "app" claim'));
  if (claims.device !== undefined && claims.device !== ctx.device) throw new Refusal(err(ErrorCode.Unauthorized, 'token is bound to another device'));
  return claims;
}

/**
 * Token claims `app` and `device`, when present, must match the connection; a token without
 * `app` is accepted only with `tokens.anyApp` (or a single allowed app).
 */
function checkBinding(claims: TokenClaims, app: string, device: string | undefined, anyApp: boolean): void {
  if (claims.app !== undefined && claims.app !== app) throw refuse(ErrorCode.Forbidden, 'token is bound to another app', CloseCode.Forbidden);
  if (claims.app === undefined && !anyApp) {
    throw refuse(ErrorCode.Forbidden, 'token has no "app" claim (the server accepts those only with tokens.anyApp)', CloseCode.Forbidden);
  }
  if (claims.device !== undefined && device !== undefined && claims.device !== device) {
    throw refuse(ErrorCode.Unauthorized, 'token is bound to another device', CloseCode.Unauthorized);
  }
}
