import fc from 'fast-check';

/** Shared fast-check generators for wire-level fuzzing (server frames, client frames, /notify bodies). */

export const SERVER_TYPES = ['reply', 'msg', 'count', 'error', 'close', 'expired', 'ping', 'pong'] as const;
export const CLIENT_TYPES = ['connect', 'sub', 'unsub', 'pub', 'rpc', 'watch', 'unwatch', 'refresh', 'ping', 'pong'] as const;
/** Codes decodeServerFrame / decodeClientFrame may return (docs/protocol.md). */
export const DECODE_CODES = ['bad_frame', 'unknown_type', 'too_large'];
/** Every documented error code (docs/protocol.md, "Error codes"). */
export const ERROR_CODES = [
  'bad_frame', 'unknown_type', 'too_large', 'bad_request', 'unauthorized', 'token_expired', 'forbidden',
  'rate_limited', 'too_many_subscriptions', 'method_not_found', 'internal', 'timeout', 'outbox_full',
  'not_connected', 'closed', 'transport', 'handler',
];
/** Every documented close code (docs/protocol.md, "Close codes"). */
export const CLOSE_CODES = [1000, 1001, 1005, 1006, 1009, 4000, 4001, 4002, 4003, 4004, 4005, 4100, 4101, 4102];

/** A value of any JSON-ish or odd shape, used where a field should have a specific type. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(-1, 0.5, 1e21, Number.MAX_SAFE_INTEGER + 2, NaN, Infinity),
  fc.string({ maxLength: 12 }),
  fc.constant(''),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

/** A field value that is usually valid for `kind`, sometimes not. */
const fieldFor = (kind: 'int' | 'str' | 'topic' | 'epoch' | 'any' | 'bool' | 'error' | 'pos') => {
  const valid: fc.Arbitrary<unknown> = {
    int: fc.nat({ max: 50 }),
    str: fc.string({ minLength: 1, maxLength: 8 }),
    topic: fc.constantFrom('a', 'b', 'order:1', 'user:u1', 'device:d1'),
    epoch: fc.constantFrom('e1', 'e2'),
    any: fc.jsonValue({ maxDepth: 2 }),
    bool: fc.boolean(),
    error: fc.record({ code: fc.constantFrom(...ERROR_CODES, 'weird'), message: fc.string({ maxLength: 10 }) }),
    pos: fc.record({ epoch: fc.constantFrom('e1', 'e2'), offset: fc.nat({ max: 20 }) }),
  }[kind];
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: oddValue });
};

const SERVER_FIELDS: Record<string, Record<string, Parameters<typeof fieldFor>[0]>> = {
  reply: { id: 'int', result: 'any', error: 'error' },
  msg: { topic: 'topic', id: 'str', offset: 'int', epoch: 'epoch', ts: 'int', data: 'any' },
  count: { topic: 'topic', users: 'int', connections: 'int' },
  error: { error: 'error' },
  close: { code: 'int', reason: 'str', reconnect: 'bool', retryAfter: 'int' },
  expired: { grace: 'int' },
  ping: {},
  pong: {},
};
const CLIENT_FIELDS: Record<string, Record<string, Parameters<typeof fieldFor>[0]>> = {
  connect: { id: 'int', v: 'int', app: 'str', token: 'str', device: 'str' },
  sub: { id: 'int', topic: 'topic', since: 'pos' },
  unsub: { id: 'int', topic: 'topic' },
  pub: { id: 'int', topic: 'topic', data: 'any', key: 'str' },
  rpc: { id: 'int', method: 'str', params: 'any' },
  watch: { id: 'int', topic: 'topic' },
  unwatch: { id: 'int', topic: 'topic' },
  refresh: { id: 'int', token: 'str' },
  ping: {},
  pong: {},
};

/** A frame object of a known type whose fields are mostly right, sometimes wrong or missing. */
function shapedFrame(fields: Record<string, Record<string, Parameters<typeof fieldFor>[0]>>): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    ...Object.entries(fields).map(([t, spec]) =>
      fc
        .record(Object.fromEntries(Object.entries(spec).map(([k, kind]) => [k, fieldFor(kind)])), { requiredKeys: [] })
        .map((f) => ({ t, ...f })),
    ),
  );
}

/** Raw text frames: garbage, JSON that is no frame, frames of unknown types, near-valid frames. */
function rawFrames(shaped: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.record({ t: oddValue, id: oddValue }).map((f) => JSON.stringify(f) ?? '{}'),
    fc.constantFrom('{"t":"toString"}', '{"t":"__proto__"}', '{"t":"constructor","id":1}', '{"__proto__":{"t":"msg"}}', '{"t":"msg"', '[]', '""', '{}'),
    { weight: 4, arbitrary: shaped.map((f) => JSON.stringify(f)) },
    shaped.map((f) => JSON.stringify(f).slice(0, -1)), // truncated
  );
}

export const serverFrameObject = shapedFrame(SERVER_FIELDS);
export const clientFrameObject = shapedFrame(CLIENT_FIELDS);
export const rawServerFrame = rawFrames(serverFrameObject);
export const rawClientFrame = rawFrames(clientFrameObject);
