import { randomBytes } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { ResolvedTokenRules } from './options';

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
  private readonly verifyOptions: JWTVerifyOptions;

  constructor(options: { jwtSecret?: string; jwks?: string; dev?: boolean; rules: ResolvedTokenRules }) {
    if (options.jwks) this.jwks = createRemoteJWKSet(new URL(options.jwks));
    const secret = options.jwtSecret ?? (options.dev ? randomBytes(32).toString('base64url') : undefined);
    this.secret = secret === undefined ? undefined : new TextEncoder().encode(secret);
    const { audience, issuer, algorithms, requireExp, maxAge } = options.rules;
    this.verifyOptions = {
      algorithms,
      ...(audience ? { audience } : {}),
      ...(issuer ? { issuer } : {}),
      ...(requireExp ? { requiredClaims: ['exp'] } : {}),
      ...(maxAge !== undefined ? { maxTokenAge: maxAge } : {}),
    };
  }

  /**
   * Verify a client token: signature, algorithm list, `exp` (required unless `tokens.requireExp`
   * is off), `nbf`, audience, issuer and maximum age when configured, and a string `sub`.
   */
  async verify(token: string): Promise<VerifyResult> {
    try {
      const { payload } = this.jwks && !this.secret
        ? await jwtVerify(token, this.jwks, this.verifyOptions)
        : await jwtVerify(token, this.secret!, this.verifyOptions);
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
      if (error instanceof errors.JWTExpired) {
        // Too old by `tokens.maxAge` also reads as expired: a fresh token fixes it.
        return { ok: false, expired: true, message: error.claim === 'iat' ? 'token too old (tokens.maxAge)' : 'token expired' };
      }
      if (error instanceof errors.JWTClaimValidationFailed) {
        return { ok: false, expired: false, message: `invalid token (claim "${error.claim}" ${error.reason === 'missing' ? 'missing' : 'not accepted'})` };
      }
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
