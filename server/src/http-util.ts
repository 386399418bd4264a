import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { MAX_JSON_DEPTH, tooDeep } from './json-depth';

/** An HTTP error answer: status and the `{ error: { code, message, field? } }` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { field?: string; retryAfter?: number } = {},
  ) {
    super(message);
  }
}

/** Answer with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/**
 * Answer an {@link HttpError} (with `Retry-After` in seconds when it carries `retryAfter` ms). When
 * the request body has not fully arrived (refused before reading it: 401, 413, 429), the answer
 * closes the connection, so the server never goes on reading a body it has refused.
 */
export function sendHttpError(res: ServerResponse, e: HttpError): void {
  const headers: Record<string, string> = {};
  if ((res.req as IncomingMessage | undefined)?.complete === false) headers.connection = 'close';
  if (e.extra.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.extra.retryAfter / 1000)));
  const error: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.extra.field !== undefined) error.field = e.extra.field;
  if (e.extra.retryAfter !== undefined) error.retryAfter = e.extra.retryAfter;
  sendJson(res, e.status, { error }, headers);
}

/**
 * Read a request body of at most `max` bytes and parse it as JSON: 413 when bigger, 400 when not
 * JSON or nested deeper than {@link MAX_JSON_DEPTH} (naming the field where the nesting starts).
 */
export async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw new HttpError(413, 'too_large', `body exceeds ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new HttpError(413, 'too_large', `body exceeds ${max} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'bad_request', 'body is not valid JSON', { field: '(body)' });
  }
  // Validation and fan-out recurse: a document nested 20,000 deep would overflow their stacks.
  const deep = tooDeep(value, MAX_JSON_DEPTH);
  if (deep !== undefined) throw new HttpError(400, 'bad_request', `${deep}: nested deeper than ${MAX_JSON_DEPTH} levels`, { field: deep });
  return value;
}

/** Errors of a client that went away mid-request: not the server's problem, nor an error to log. */
export function isAbort(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (
    code === 'ECONNRESET' ||
    code === 'ECONNABORTED' ||
    code === 'EPIPE' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    (e as Error | null)?.message === 'aborted'
  );
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m ? m[1] : undefined;
}

/**
 * The client's IP: the socket's peer address, or with `trustProxy` the first `X-Forwarded-For`
 * entry (only behind a proxy you run, which overwrites that header; anyone else can forge it).
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  // At most 64 characters (an IPv6 address with a zone fits): the value keys maps and limiters.
  const fwd = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]!.trim().slice(0, 64) : '';
  return fwd || req.socket.remoteAddress || 'unknown';
}

/**
 * The key a per-address limit counts `ip` under: an IPv4 address itself (also IPv4-mapped
 * `::ffff:1.2.3.4`), an IPv6 address by its /64 network. One host usually holds a whole /64, so
 * keying by the full IPv6 address would give it 2^64 fresh budgets.
 */
export function limitKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  const bare = ip.split('%')[0]!;
  if (!isIPv6(bare)) return ip;
  const [head = '', tail = ''] = bare.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = bare.includes('::') ? (tail ? tail.split(':') : []) : [];
  // An embedded IPv4 tail (`64:ff9b::1.2.3.4`) stands for two groups.
  const width = right.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = bare.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - width)).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

/**
 * Answer CORS for a browser-facing route: `origins` `'*'` allows any origin, a list only those
 * (with `Vary: Origin`); `headers` are the route's allow/expose headers. A preflight (`OPTIONS`)
 * is answered here (204, or 403 for an origin not allowed): returns `true` when the request is done.
 */
export function answerCors(req: IncomingMessage, res: ServerResponse, origins: '*' | string[], headers: Record<string, string>): boolean {
  const origin = req.headers.origin;
  const allowed = origins === '*' ? '*' : origin && origins.includes(origin) ? origin : undefined;
  if (origins !== '*') res.setHeader('vary', 'Origin');
  if (allowed) {
    res.setHeader('access-control-allow-origin', allowed);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  }
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(allowed ? 204 : 403).end();
  return true;
}
