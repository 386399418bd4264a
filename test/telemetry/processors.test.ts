import { describe, expect, it } from 'vitest';
import { effectiveConsent } from '../../src/telemetry/consent';
import { filterFields } from '../../src/telemetry/fields';
import { fnv1a } from '../../src/telemetry/hash';
import { inSample } from '../../src/telemetry/sampling';
import { scrub, scrubString } from '../../src/telemetry/scrub';

describe('fnv1a', () => {
  it('gives the reference FNV-1a 32-bit values as 8 hex digits', () => {
    expect(fnv1a('')).toBe('811c9dc5');
    expect(fnv1a('a')).toBe('e40c292c');
    expect(fnv1a('foobar')).toBe('bf9cf968');
  });
});

describe('sampling', () => {
  it('is deterministic per session and all-or-nothing at the bounds', () => {
    expect(inSample('s1', 1)).toBe(true);
    expect(inSample('s1', 0)).toBe(false);
    for (const id of ['a', 'b', 'session-42']) expect(inSample(id, 0.5)).toBe(inSample(id, 0.5));
  });

  it('keeps about `rate` of sessions, and raising the rate only adds sessions', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `session-${i}`);
    const at = (r: number) => ids.filter((id) => inSample(id, r));
    expect(at(0.25).length / ids.length).toBeGreaterThan(0.2);
    expect(at(0.25).length / ids.length).toBeLessThan(0.3);
    const half = new Set(at(0.5));
    expect(at(0.25).every((id) => half.has(id))).toBe(true);
  });
});

describe('consent', () => {
  it('Do-Not-Track and GPC deny when respected, whatever the app says', () => {
    expect(effectiveConsent('granted', { doNotTrack: true, gpc: false }, true)).toBe('denied');
    expect(effectiveConsent('granted', { doNotTrack: false, gpc: true }, true)).toBe('denied');
    expect(effectiveConsent('granted', { doNotTrack: true, gpc: true }, false)).toBe('granted');
    expect(effectiveConsent('pending', { doNotTrack: false, gpc: false }, true)).toBe('pending');
  });
});

describe('scrubbing', () => {
  it('hashes e-mails (case-insensitively) and phone numbers, cuts IPv4 to /24', () => {
    const out = scrubString('mail Alice.Smith+x@Example.co.uk from 203.0.113.77 tel +1 (555) 123-4567');
    expect(out).toBe(
      `mail email:${fnv1a('alice.smith+x@example.co.uk')} from 203.0.113.0 tel phone:${fnv1a('15551234567')}`,
    );
    expect(out).not.toMatch(/alice|\.77|4567/i);
  });

  it('leaves dates, short numbers and already scrubbed tokens alone', () => {
    for (const s of ['2024-01-15', 'order 12345', 'v1.2.3', 'email:1a2b3c4d', 'phone:12345678']) expect(scrubString(s)).toBe(s);
    expect(scrubString(scrubString('x@y.io 13800138000'))).toBe(scrubString('x@y.io 13800138000'));
  });

  it('walks objects and arrays, leaves non-strings as they are, cuts very deep values', () => {
    const deep: any = {};
    let cur = deep;
    for (let i = 0; i < 12; i++) cur = cur.n = {};
    const out = scrub({ a: ['x@y.io', 3, null, { b: '13800138000' }], n: 1, ok: true, deep }) as any;
    expect(out.a[0]).toMatch(/^email:/);
    expect(out.a.slice(1, 3)).toEqual([3, null]);
    expect(out.a[3].b).toMatch(/^phone:/);
    expect(out.n).toBe(1);
    expect(JSON.stringify(out.deep)).toContain('[deep]');
  });
});

describe('field lists', () => {
  it('allow keeps only listed top-level keys; deny removes keys at any depth', () => {
    const props = { a: 1, b: { password: 'x', c: 2 }, password: 'y', d: [{ token: 1, e: 2 }] };
    expect(filterFields(props, [], ['password', 'token'])).toEqual({ a: 1, b: { c: 2 }, d: [{ e: 2 }] });
    expect(filterFields(props, ['a', 'b'], ['password'])).toEqual({ a: 1, b: { c: 2 } });
    expect(props.password).toBe('y');
  });

  it('matches deny lists case-insensitively and always removes credential-like keys', () => {
    const props = { Card: 1, CARD: 2, keep: 3, nested: { Password: 'x', accessToken: 't', 'X-Api-Key': 'k', SESSION_COOKIE: 'c', ok: 4 } };
    expect(filterFields(props, [], ['card'])).toEqual({ keep: 3, nested: { ok: 4 } });
  });

  it('scrubs personal data out of keys, keeping keys that scrub alike apart', () => {
    const out = scrub({ 'a@b.io': 1, 'A@b.io': 2, '13800138000': 3 }) as Record<string, number>;
    const mail = Object.keys(out).filter((k) => k.startsWith('email:')).sort();
    expect(mail).toHaveLength(2);
    expect(mail[1]).toBe(`${mail[0]}~1`);
    expect(Object.keys(out).some((k) => k.includes('@') || k.includes('13800138000'))).toBe(false);
  });
});
