import type { ErrorCode, ClientFrame, ServerFrame, WireError } from './frames';

/** Result of decoding one inbound frame: the frame, or the documented error explaining the drop. */
export type Decoded<F> = { ok: true; frame: F } | { ok: false; error: WireError };

/** Encode a frame for the wire. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

const fail = (code: ErrorCode, message: string): { ok: false; error: WireError } => ({
  ok: false,
  error: { code, message },
});

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNonEmptyStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPosition = (v: unknown): boolean => isObj(v) && isStr(v.epoch) && isInt(v.offset);

/**
 * Parse a raw frame into an object with a string `t`, enforcing the size bound before parsing.
 * Binary frames are not part of the native protocol and are refused.
 */
function parse(raw: unknown, maxBytes: number): Decoded<Obj> {
  if (!isStr(raw)) return fail('bad_frame', 'binary frames are not supported');
  // UTF-16 length is a lower bound on UTF-8 bytes and 3× an upper bound: exact only when close.
  if (raw.length > maxBytes || (raw.length * 3 > maxBytes && utf8Length(raw) > maxBytes)) {
    return fail('too_large', `frame exceeds ${maxBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail('bad_frame', 'frame is not valid JSON');
  }
  if (!isObj(value) || !isStr(value.t)) return fail('bad_frame', 'frame must be an object with a string "t"');
  return { ok: true, frame: value };
}

/** Number of bytes `s` takes in UTF-8. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

type Check = (f: Obj) => string | undefined;
const need = (field: string, ok: (v: unknown) => boolean, what: string): Check => (f) =>
  ok(f[field]) ? undefined : `"${field}" must be ${what}`;
const opt = (field: string, ok: (v: unknown) => boolean, what: string): Check => (f) =>
  f[field] === undefined || ok(f[field]) ? undefined : `"${field}" must be ${what}`;

const ID = /* @__PURE__ */ need('id', isInt, 'a non-negative integer');
const TOPIC = /* @__PURE__ */ need('topic', isNonEmptyStr, 'a non-empty string');

const clientChecks: Record<string, Check[]> = {
  connect: [
    ID,
    /* @__PURE__ */ need('v', isInt, 'the protocol version'),
    /* @__PURE__ */ need('app', isNonEmptyStr, 'a non-empty string'),
    /* @__PURE__ */ opt('token', isStr, 'a string'),
    /* @__PURE__ */ opt('device', isNonEmptyStr, 'a non-empty string'),
    /* @__PURE__ */ opt('streams', (v) => isObj(v) && Object.values(v).every(isPosition), 'a map of {epoch, offset}'),
  ],
  sub: [ID, TOPIC, /* @__PURE__ */ opt('since', isPosition, 'an {epoch, offset} position')],
  unsub: [ID, TOPIC],
  pub: [ID, TOPIC, /* @__PURE__ */ need('key', isNonEmptyStr, 'a non-empty string')],
  rpc: [ID, /* @__PURE__ */ need('method', isNonEmptyStr, 'a non-empty string')],
  watch: [ID, TOPIC],
  unwatch: [ID, TOPIC],
  refresh: [ID, /* @__PURE__ */ need('token', isNonEmptyStr, 'a non-empty string')],
  ping: [],
  pong: [],
};

const isError = (v: unknown): boolean => isObj(v) && isStr(v.code) && isStr(v.message);
const serverChecks: Record<string, Check[]> = {
  reply: [ID, /* @__PURE__ */ opt('error', isError, 'an {code, message} error')],
  msg: [
    TOPIC,
    /* @__PURE__ */ need('id', isStr, 'a string'),
    /* @__PURE__ */ need('offset', isInt, 'a non-negative integer'),
    /* @__PURE__ */ need('epoch', isStr, 'a string'),
    /* @__PURE__ */ need('ts', isInt, 'a timestamp'),
    /* @__PURE__ */ opt('also', isObj, 'a map of stream offsets'),
  ],
  count: [TOPIC, /* @__PURE__ */ need('users', isInt, 'a count'), /* @__PURE__ */ need('connections', isInt, 'a count')],
  error: [need('error', isError, 'an {code, message} error')],
  close: [need('code', isInt, 'a close code'), /* @__PURE__ */ need('reconnect', (v) => typeof v === 'boolean', 'a boolean')],
  expired: [need('grace', isInt, 'a duration in ms')],
  ping: [],
  pong: [],
};

function decodeWith<F>(checks: Record<string, Check[]>, raw: unknown, maxBytes: number): Decoded<F> {
  const parsed = parse(raw, maxBytes);
  if (!parsed.ok) return parsed;
  const frame = parsed.frame;
  const list = checks[frame.t as string];
  if (!list || !Object.prototype.hasOwnProperty.call(checks, frame.t as string)) {
    return fail('unknown_type', `unknown frame type "${String(frame.t).slice(0, 32)}"`);
  }
  for (const check of list) {
    const problem = check(frame);
    if (problem) return fail('bad_frame', `${frame.t}: ${problem}`);
  }
  return parsed as Decoded<F>; // the same {ok, frame}: no second allocation per frame
}

/** Decode and validate a frame sent by a client (used by the server). */
export function decodeClientFrame(raw: unknown, maxBytes: number): Decoded<ClientFrame> {
  return decodeWith<ClientFrame>(clientChecks, raw, maxBytes);
}

/** Decode and validate a frame sent by the server (used by the client). */
export function decodeServerFrame(raw: unknown, maxBytes: number): Decoded<ServerFrame> {
  return decodeWith<ServerFrame>(serverChecks, raw, maxBytes);
}
