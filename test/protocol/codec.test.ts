import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeServerFrame, encodeFrame, utf8Length } from '../../src/protocol/codec';

const MAX = 1024;
const server = (v: unknown) => decodeServerFrame(typeof v === 'string' ? v : JSON.stringify(v), MAX);
const client = (v: unknown) => decodeClientFrame(typeof v === 'string' ? v : JSON.stringify(v), MAX);
const code = (d: { ok: boolean; error?: { code: string } }) => (d.ok ? 'ok' : d.error!.code);

describe('decodeServerFrame', () => {
  it('accepts every valid server frame type', () => {
    const valid = [
      { t: 'reply', id: 1, result: { a: 1 } },
      { t: 'reply', id: 2, error: { code: 'forbidden', message: 'no' } },
      { t: 'msg', topic: 'a', id: 'm', offset: 1, epoch: 'e', ts: 1, data: null, also: { 'user:u': 3 } },
      { t: 'count', topic: 'a', users: 1, connections: 2 },
      { t: 'error', error: { code: 'bad_frame', message: 'x' } },
      { t: 'close', code: 4004, reason: 'bye', reconnect: true, retryAfter: 100 },
      { t: 'expired', grace: 10_000 },
      { t: 'ping' },
      { t: 'pong' },
    ];
    for (const f of valid) expect(server(f)).toEqual({ ok: true, frame: f });
  });

  it('refuses non-JSON, non-objects and frames without a string t as bad_frame', () => {
    expect(code(server('{oops'))).toBe('bad_frame');
    expect(code(server('[1,2]'))).toBe('bad_frame');
    expect(code(server('null'))).toBe('bad_frame');
    expect(code(server({ t: 5 }))).toBe('bad_frame');
  });

  it('refuses binary frames as bad_frame', () => {
    expect(code(decodeServerFrame(new ArrayBuffer(2), MAX))).toBe('bad_frame');
  });

  it('refuses an unknown t as unknown_type, including prototype names', () => {
    expect(code(server({ t: 'teleport' }))).toBe('unknown_type');
    expect(code(server({ t: 'toString' }))).toBe('unknown_type');
    expect(code(server({ t: 'connect', id: 1, v: 1, app: 'a' }))).toBe('unknown_type'); // a client frame
  });

  it('refuses missing or mistyped fields as bad_frame naming the field', () => {
    const d = server({ t: 'msg', topic: 'a', id: 'm', epoch: 'e', ts: 1 });
    // The parsed frame comes along (unvalidated), so a malformed reply can still end its request.
    expect(d).toEqual({
      ok: false,
      error: { code: 'bad_frame', message: 'msg: "offset" must be a non-negative integer' },
      raw: { t: 'msg', topic: 'a', id: 'm', epoch: 'e', ts: 1 },
    });
    expect(code(server({ t: 'close', code: 4000, reason: 5, reconnect: true }))).toBe('bad_frame');
    expect(code(server({ t: 'reply', id: -1 }))).toBe('bad_frame');
    expect(code(server({ t: 'reply', id: 1, error: 'x' }))).toBe('bad_frame');
    expect(code(server({ t: 'close', code: 4000 }))).toBe('bad_frame');
    expect(code(server({ t: 'count', topic: '', users: 1, connections: 1 }))).toBe('bad_frame');
  });

  it('refuses frames over the byte limit as too_large, counting UTF-8 bytes', () => {
    expect(code(server({ t: 'error', error: { code: 'x', message: 'a'.repeat(MAX) } }))).toBe('too_large');
    // 400 three-byte characters: 400 UTF-16 units but 1200 bytes
    expect(code(server({ t: 'error', error: { code: 'x', message: '€'.repeat(400) } }))).toBe('too_large');
    expect(code(server({ t: 'error', error: { code: 'x', message: '€'.repeat(300) } }))).toBe('ok');
  });
});

describe('decodeClientFrame', () => {
  it('accepts every valid client frame type', () => {
    const valid = [
      { t: 'connect', id: 1, v: 1, app: 'shop', token: 'jwt', device: 'd', streams: { 'user:u': { epoch: 'e', offset: 3 } } },
      { t: 'sub', id: 2, topic: 'a', since: { epoch: 'e', offset: 0 } },
      { t: 'unsub', id: 3, topic: 'a' },
      { t: 'pub', id: 4, topic: 'a', data: 1, key: 'k' },
      { t: 'rpc', id: 5, method: 'm', params: [1] },
      { t: 'watch', id: 6, topic: 'a' },
      { t: 'unwatch', id: 7, topic: 'a' },
      { t: 'refresh', id: 8, token: 'jwt' },
      { t: 'ping' },
      { t: 'pong' },
    ];
    for (const f of valid) expect(client(f)).toEqual({ ok: true, frame: f });
  });

  it('refuses invalid client frames with the documented codes', () => {
    expect(code(client('not json'))).toBe('bad_frame');
    expect(code(client({ t: 'msg' }))).toBe('unknown_type');
    expect(code(client({ t: 'sub', id: 1 }))).toBe('bad_frame');
    expect(code(client({ t: 'pub', id: 1, topic: 'a', data: 1 }))).toBe('bad_frame'); // no key
    expect(code(client({ t: 'sub', id: 1, topic: 'a', since: { epoch: 'e' } }))).toBe('bad_frame');
    expect(code(client({ t: 'connect', id: 1, v: 1, app: 'a', streams: { x: 1 } }))).toBe('bad_frame');
    expect(code(client({ t: 'pub', id: 1, topic: 'a', key: 'k', data: 'x'.repeat(MAX) }))).toBe('too_large');
  });
});

describe('encodeFrame and utf8Length', () => {
  it('encodes to JSON that decodes back to the same frame', () => {
    const f = { t: 'pub', id: 9, topic: 'a', data: { x: [1, 'é'] }, key: 'k' } as const;
    expect(client(encodeFrame(f))).toEqual({ ok: true, frame: f });
  });

  it('counts UTF-8 bytes of ASCII, 2-, 3- and 4-byte characters', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
  });
});
