import type { ErrorCode, ClientFrame, Publication, ServerFrame, WireError } from './frames';

/**
 * Result of decoding one inbound frame: the frame, or the documented error explaining the drop.
 * A frame that parsed but failed its type's check comes with it as `raw` (unvalidated), so the
 * receiver can still tell which request a malformed `reply` answers.
 */
export type Decoded<F> = { ok: true; frame: F } | { ok: false; error: WireError; raw?: Record<string, unknown> };

/** Encode a frame for the wire. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

const fail = (code: ErrorCode, message: string): { ok: false; error: WireError } => ({
  ok: false,
  error: { code, message },
});

type Obj = Record<string, unknown>;
/** A non-null object, not an array. */
export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isNonEmptyStr = (v: unknown): v is string => isStr(v) && v.length > 0;
// `Number.isSafeInteger` is false for anything not a number.
export const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** An `{epoch, offset}` position (also the head of a `sub` result). */
export const isPosition = (v: unknown): boolean => isObj(v) && isStr(v.epoch) && isInt(v.offset);

/** Whether `s` takes more than `maxBytes` in UTF-8, counting the bytes only when it could. */
export function isOver(s: string, maxBytes: number): boolean {
  // UTF-16 length is a lower bound on UTF-8 bytes and 3× an upper bound: exact only when close.
  return s.length > maxBytes || (s.length * 3 > maxBytes && utf8Length(s) > maxBytes);
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

/**
 * One check per frame type, reading fields by name (monomorphic property loads: this runs for
 * every inbound frame). Returns the first problem found, or `undefined`.
 */
type Check = (f: Obj) => string | undefined;
/** `"field" must be what`, unless `ok`. */
const must = (ok: boolean, field: string, what: string) => (ok ? undefined : `"${field}" must be ${what}`);

const NNI = 'a non-negative integer';
const NES = 'a non-empty string';
const STR = 'a string';
const ERR = 'an {code, message} error';
const OBJ = 'an object';
const isError = (v: unknown): boolean => isObj(v) && isStr(v.code) && isStr(v.message);
const none: Check = () => undefined;
/** `id` then `topic`, the shape of most client requests. */
const idTopic: Check = (f) => must(isInt(f.id), 'id', NNI) ?? must(isNonEmptyStr(f.topic), 'topic', NES);

/** By frame type; `null` only for the prototype entry. */
type Checks = Record<string, Check | null>;

// Null prototypes: a frame's `t` never finds an inherited name (`toString`, `__proto__`).
const clientChecks: Checks = {
  __proto__: null,
  connect: (f) =>
    must(isInt(f.id), 'id', NNI) ??
    must(isInt(f.v), 'v', 'the protocol version') ??
    must(isNonEmptyStr(f.app), 'app', NES) ??
    must(f.token === undefined || isStr(f.token), 'token', STR) ??
    must(f.device === undefined || isNonEmptyStr(f.device), 'device', NES) ??
    must(f.streams === undefined || (isObj(f.streams) && Object.values(f.streams).every(isPosition)), 'streams', 'a map of {epoch, offset}'),
  sub: (f) => idTopic(f) ?? must(f.since === undefined || isPosition(f.since), 'since', 'an {epoch, offset} position'),
  subs: (f) =>
    must(isInt(f.id), 'id', NNI) ??
    must(
      Array.isArray(f.subs) && f.subs.length > 0 && f.subs.every((s) => isObj(s) && isNonEmptyStr(s.topic) && (s.since === undefined || isPosition(s.since))),
      'subs',
      'a non-empty list of {topic, since?}',
    ),
  unsub: idTopic,
  pub: (f) => idTopic(f) ?? must(isNonEmptyStr(f.key), 'key', NES),
  rpc: (f) => must(isInt(f.id), 'id', NNI) ?? must(isNonEmptyStr(f.method), 'method', NES),
  watch: idTopic,
  unwatch: idTopic,
  refresh: (f) => must(isInt(f.id), 'id', NNI) ?? must(isNonEmptyStr(f.token), 'token', NES),
  ping: none,
  pong: none,
};

/** A publication (a `msg` frame, or one replayed in a `sub`/`connect` result). */
const pubCheck: Check = (f) =>
  must(isNonEmptyStr(f.topic), 'topic', NES) ??
  must(isStr(f.id), 'id', STR) ??
  must(isInt(f.offset), 'offset', NNI) ??
  must(isStr(f.epoch), 'epoch', STR) ??
  must(isInt(f.ts), 'ts', NNI) ??
  must(f.also === undefined || isObj(f.also), 'also', OBJ);

/** Whether `v` is a well-formed publication (`also` offsets are checked where they are used). */
export const isPublication = (v: unknown): v is Publication => isObj(v) && !pubCheck(v);

// Server frames are only read by the client: terse descriptions keep its bundle small.
const serverChecks: Checks = {
  __proto__: null,
  reply: (f) => must(isInt(f.id), 'id', NNI) ?? must(f.error === undefined || isError(f.error), 'error', ERR),
  msg: pubCheck,
  count: (f) => must(isNonEmptyStr(f.topic), 'topic', NES) ?? must(isInt(f.users), 'users', NNI) ?? must(isInt(f.connections), 'connections', NNI),
  error: (f) => must(isError(f.error), 'error', ERR),
  close: (f) =>
    must(isInt(f.code), 'code', NNI) ?? must(isStr(f.reason), 'reason', STR) ?? must(typeof f.reconnect === 'boolean', 'reconnect', 'a boolean'),
  expired: (f) => must(isInt(f.grace), 'grace', NNI),
  ping: none,
  pong: none,
};

/**
 * Parse and validate one raw frame: the size bound is enforced before parsing; binary frames are
 * not part of the native protocol and are refused; then it must be an object with a known string
 * `t` whose fields pass that type's check.
 */
function decodeWith<F>(checks: Checks, raw: unknown, maxBytes: number): Decoded<F> {
  if (!isStr(raw)) return fail('bad_frame', 'binary frames are not supported');
  if (isOver(raw, maxBytes)) return fail('too_large', `frame exceeds ${maxBytes} bytes`);
  let frame: unknown;
  try {
    frame = JSON.parse(raw);
  } catch {
    return fail('bad_frame', 'frame is not valid JSON');
  }
  if (!isObj(frame) || !isStr(frame.t)) return fail('bad_frame', 'frame must be an object with a string "t"');
  const check = checks[frame.t];
  if (!check) return fail('unknown_type', `unknown frame type "${frame.t.slice(0, 32)}"`);
  const problem = check(frame);
  return problem ? { ...fail('bad_frame', `${frame.t}: ${problem}`), raw: frame } : { ok: true, frame: frame as F };
}

/** Decode and validate a frame sent by a client (used by the server). */
export function decodeClientFrame(raw: unknown, maxBytes: number): Decoded<ClientFrame> {
  return decodeWith<ClientFrame>(clientChecks, raw, maxBytes);
}

/** Decode and validate a frame sent by the server (used by the client). */
export function decodeServerFrame(raw: unknown, maxBytes: number): Decoded<ServerFrame> {
  return decodeWith<ServerFrame>(serverChecks, raw, maxBytes);
}
