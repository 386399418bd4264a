import { once } from 'node:events';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

// One set of test secrets, cleanups and server start-up for every suite (test/support/harness.ts).
export { API_KEY, JWT_SECRET as SECRET, cleanup, startServer } from '../support/harness';
import { API_KEY, JWT_SECRET as SECRET, onCleanup } from '../support/harness';

/** Sign an HS256 JWT for `sub`. `exp` in seconds from now (default 3600); negative makes it expired. */
export async function sign(
  sub: string,
  claims: { app?: string; device?: string; exp?: number; secret?: string } = {},
): Promise<string> {
  const { exp = 3600, secret = SECRET, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + exp)
    .sign(new TextEncoder().encode(secret));
}

 
export type Frame = Record<string, any>;

/** A raw WebSocket speaking the JSON protocol, recording every frame it receives. */
export class Raw {
  readonly frames: Frame[] = [];
  private nextId = 1;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      try {
        this.frames.push(JSON.parse(String(d)));
      } catch {
        this.frames.push({ t: '(unparsable)', raw: String(d) });
      }
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: String(reason) });
        this.wake();
      });
    });
    ws.on('error', () => {});
  }

  static async open(server: { url: string }): Promise<Raw> {
    const ws = new WebSocket(server.url);
    onCleanup(() => ws.terminate());
    const raw = new Raw(ws);
    await once(ws, 'open');
    return raw;
  }

  /** Open and complete `connect` (token for `user` unless given). Resolves with the connect reply. */
  static async connected(
    server: { url: string },
    user: string,
    extra: Frame = {},
  ): Promise<{ raw: Raw; reply: Frame }> {
    const raw = await Raw.open(server);
    // A device stream is owned only through the token's `device` claim: sign it in when asked for.
    const token = 'token' in extra ? extra.token : await sign(user, extra.device ? { device: extra.device } : {});
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', ...extra, token });
    if (reply.error) throw new Error(`connect failed: ${JSON.stringify(reply.error)}`);
    return { raw, reply };
  }

  send(frame: Frame | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Send a frame with a fresh `id` and wait for its reply. */
  async request(frame: Frame, timeout = 3000): Promise<Frame> {
    const id = this.nextId++;
    const start = this.frames.length;
    this.send({ ...frame, id });
    return this.next((f) => f.t === 'reply' && f.id === id, timeout, start);
  }

  /** Wait for the first frame (from index `from`) matching `pred`. */
  async next(pred: (f: Frame) => boolean, timeout = 3000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`no matching frame within ${timeout} ms; got ${JSON.stringify(this.frames).slice(0, 800)}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Frames of type `t` received so far. */
  of(t: string): Frame[] {
    return this.frames.filter((f) => f.t === t);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

/** POST /notify with the test key (or `key`). */
export async function notify(
  server: { httpUrl: string },
  body: unknown,
  key: string | null = API_KEY,
): Promise<{ status: number; body: Frame; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${server.httpUrl}/notify`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Frame;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Poll until `pred` holds, or throw after `timeout` ms. */
export async function waitFor(pred: () => boolean, what: string, timeout = 3000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
