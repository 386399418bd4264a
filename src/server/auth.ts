import { randomBytes } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

/** Claims the server reads from a verified token. */
export interface TokenClaims extends JWTPayload {
  sub: string;
  /** Binds the token to one app. */
  app?: string;
  /** Binds the token to one device. */
  device?: string;
}

export type VerifyResult =
  | { ok: true; claims: TokenClaims }
  | { ok: false; expired: boolean; message: string };

/**
 * Verifies client JWTs (HS256 with a shared secret, or a remote JWKS) and, in dev mode, mints them.
 */
export class TokenAuthority {
  private readonly secret: Uint8Array | undefined;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(options: { jwtSecret?: string; jwks?: string; dev?: boolean }) {
    if (options.jwks) this.jwks = createRemoteJWKSet(new URL(options.jwks));
    const secret = options.jwtSecret ?? (options.dev ? randomBytes(32).toString('base64url') : undefined);
    this.secret = secret === undefined ? undefined : new TextEncoder().encode(secret);
  }

  async verify(token: string): Promise<VerifyResult> {
    try {
      const { payload } = this.jwks && !this.secret
        ? await jwtVerify(token, this.jwks)
        : await jwtVerify(token, this.secret!, { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
        return { ok: false, expired: false, message: 'token has no "sub" claim' };
      }
      if (payload.app !== undefined && typeof payload.app !== 'string') {
        return { ok: false, expired: false, message: 'token "app" claim must be a string' };
      }
      if (payload.device !== undefined && typeof payload.device !== 'string') {
        return { ok: false, expired: false, message: 'token "device" claim must be a string' };
      }
      return { ok: true, claims: payload as TokenClaims };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, expired: true, message: 'token expired' };
      const message = error instanceof errors.JOSEError ? `invalid token (${error.code})` : 'invalid token';
      return { ok: false, expired: false, message };
    }
  }

  /** Mint an HS256 token (dev mode and tests). `ttl` in seconds. */
  async sign(claims: { sub: string; app?: string; device?: string }, ttl: number): Promise<string> {
    if (!this.secret) throw new Error('no HS256 secret to sign with');
    const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(
      Math.floor(Date.now() / 1000) + ttl,
    );
    return jwt.sign(this.secret);
  }
}
