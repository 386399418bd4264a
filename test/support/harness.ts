import { SignJWT } from 'jose';
import { createServer } from '../../server/src/index';
import { createClient } from '../../src/index';

/** Shared secrets of the integration tests' servers. */
export const JWT_SECRET = 'integration-test-secret-0123456789abcdef';
export const API_KEY = 'integration-test-api-key';

type ServerOptions = Parameters<typeof createServer>[0];
type ClientOptions = Parameters<typeof createClient>[0];
export type TestServer = Awaited<ReturnType<typeof createServer>>;
export type TestClient = ReturnType<typeof createClient>;

const cleanups: Array<() => unknown> = [];

/** Run every registered cleanup (servers, clients, proxies), newest first. Call from `afterEach`. */
export async function cleanup(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch {
      // cleanup must not mask the test's own failure
    }
  }
}
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

/** Start the real reference server on 127.0.0.1 (random port unless given). */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const server = await createServer({
    port: 0,
    host: '127.0.0.1',
    jwtSecret: JWT_SECRET,
    apiKey: API_KEY,
    logger: false,
    ...options,
    // Most suites sign tokens without an `app` claim and use several apps; the default
    // (refusing such tokens) has its own tests in test/server/security.test.ts.
    tokens: { anyApp: true, ...options.tokens },
  } as ServerOptions);
  onCleanup(() => server.close());
  return server;
}

/** Sign an HS256 token for `user` with the test secret. */
export async function signToken(
  user: string,
  claims: { app?: string; device?: string; expiresInSeconds?: number; [claim: string]: unknown } = {},
): Promise<string> {
  const { expiresInSeconds = 3600, ...rest } = claims;
  return new SignJWT({ ...rest })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(new TextEncoder().encode(JWT_SECRET));
}

/** A client with fast reconnects, closed at cleanup. */
export function client(options: ClientOptions): TestClient {
  const c = createClient({ reconnect: { floor: 50, ceiling: 300 }, ...options } as ClientOptions);
  onCleanup(() => c.close());
  return c;
}

/** `POST /notify` with the test API key. */
export async function notify(
  server: { httpUrl: string },
  body: unknown,
  apiKey = API_KEY,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.httpUrl}/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** Poll `predicate` until it holds or `timeoutMs` passes (then throw with `what`, or what it returns then). */
export async function waitFor(predicate: () => boolean, what: string | (() => string), timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what == 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolve when the client reaches `state`. */
export function waitForState(c: TestClient, state: string, timeoutMs = 5000): Promise<void> {
  return waitFor(() => c.state === state, `client state "${state}" (now "${c.state}")`, timeoutMs);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
