import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeServerFrame, type Decoded } from '../../src/protocol/codec';
import { CLIENT_TYPES, DECODE_CODES, SERVER_TYPES, oddValue, rawClientFrame, rawServerFrame } from './arbitraries';

const RUNS = { numRuns: 500, interruptAfterTimeLimit: 4000, markInterruptAsFailure: false };

/** Decoding never throws; it is ok with a known `t`, or one of the documented codes. */
function checkDecoded(decode: (raw: unknown, max: number) => Decoded<{ t: string }>, types: readonly string[], raw: unknown, max: number) {
  const r = decode(raw, max);
  if (r.ok) {
    expect(typeof r.frame).toBe('object');
    expect(types).toContain(r.frame.t);
  } else {
    expect(DECODE_CODES).toContain(r.error.code);
    expect(typeof r.error.message).toBe('string');
  }
  return r;
}

describe('fuzz: decodeServerFrame', () => {
  it('never throws on random and malformed frames; answers ok or a documented code', () => {
    fc.assert(
      fc.property(rawServerFrame, fc.integer({ min: 8, max: 4096 }), (raw, max) => {
        checkDecoded(decodeServerFrame, SERVER_TYPES, raw, max);
      }),
      RUNS,
    );
  });

  it('never throws on non-string input (binary, objects, undefined)', () => {
    fc.assert(
      fc.property(fc.oneof(oddValue, fc.uint8Array(), fc.anything()), (raw) => {
        const r = checkDecoded(decodeServerFrame, SERVER_TYPES, raw, 1 << 20);
        expect(r.ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('refuses every frame over the limit with too_large, counting UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 300 }), (s, max) => {
        const raw = JSON.stringify({ t: 'msg', topic: 'a', id: 'm', offset: 1, epoch: 'e', ts: 1, data: s });
        const r = decodeServerFrame(raw, max);
        if (Buffer.byteLength(raw) > max) expect(r).toMatchObject({ ok: false, error: { code: 'too_large' } });
        else expect(r.ok).toBe(true);
      }),
      RUNS,
    );
  });

  it('accepts every well-formed msg frame', () => {
    const msg = fc.record({
      t: fc.constant('msg'),
      topic: fc.string({ minLength: 1 }),
      id: fc.string(),
      offset: fc.nat(),
      epoch: fc.string(),
      ts: fc.nat(),
      data: fc.jsonValue(),
    });
    fc.assert(
      fc.property(msg, (f) => {
        expect(decodeServerFrame(JSON.stringify(f), 1 << 20).ok).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('fuzz: decodeClientFrame', () => {
  it('never throws on random and malformed frames; answers ok or a documented code', () => {
    fc.assert(
      fc.property(rawClientFrame, fc.integer({ min: 8, max: 4096 }), (raw, max) => {
        checkDecoded(decodeClientFrame, CLIENT_TYPES, raw, max);
      }),
      RUNS,
    );
  });
});
