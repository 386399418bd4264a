import { describe, expect, it } from 'vitest';
import { flagDefinition, type FlagInput } from '../../../server/src/flags/definitions';
import { evaluate, evaluateAll, nextBoundary, type FlagContext, type StoredFlag } from '../../../server/src/flags/evaluate';
import { bucketOf, murmur3 } from '../../../server/src/flags/murmur3';

const flag = (input: Omit<FlagInput, 'key'> & { key?: string }, version = 1): StoredFlag => ({
  ...flagDefinition.parse({ key: 'f', ...input }),
  version,
});
const ctx = (over: Partial<FlagContext> = {}): FlagContext => ({ app: 'shop', user: 'u1', device: null, env: 'production', claims: {}, ...over });

describe('murmur3 (x86, 32-bit)', () => {
  // Published reference vectors of MurmurHash3_x86_32 (SMHasher; the Wikipedia test table).
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['test', 0, 0xba6bd213],
    ['Hello, world!', 0, 0xc0363e43],
    ['Hello, world!', 1234, 0xfaf6cdb3],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['ab', 0x9747b28c, 0x74875592],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['abcd', 0x9747b28c, 0xf0478627],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ])('murmur3(%j, %d) is the reference value', (text, seed, expected) => {
    expect(murmur3(text, seed)).toBe(expected);
  });

  it('buckets "salt:flagKey:id" mod 10000 (frozen vectors, docs/flags.md)', () => {
    expect(bucketOf('', 'new-checkout', 'user-1')).toBe(murmur3(':new-checkout:user-1') % 10000);
    const vectors = ['user-1', 'user-2', 'device-abc'].map((id) => bucketOf('', 'new-checkout', id));
    expect(vectors).toMatchInlineSnapshot(`
      [
        4582,
        3907,
        9367,
      ]
    `);
  });
});

describe('bucketing', () => {
  const ids = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);

  it('puts 10% ± 1% of 100,000 ids in a 10% rollout, and raising it to 20% only adds users', () => {
    const at = (p: number) => flag({ enabled: true, value: false, rules: [{ percentage: p, value: true }] });
    const ten = ids.filter((id) => evaluate(at(10), ctx({ user: id }), 0).value === true);
    const twenty = new Set(ids.filter((id) => evaluate(at(20), ctx({ user: id }), 0).value === true));
    expect(Math.abs(ten.length / ids.length - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(twenty.size / ids.length - 0.2)).toBeLessThan(0.01);
    for (const id of ten) expect(twenty.has(id)).toBe(true);
  });

  it('splits variants by weight within ±1%', () => {
    const f = flag({ enabled: true, variants: [{ name: 'a', value: 'A', weight: 30 }, { name: 'b', value: 'B', weight: 70 }] });
    let a = 0;
    for (const id of ids) if (evaluate(f, ctx({ user: id }), 0).variant === 'a') a++;
    expect(Math.abs(a / ids.length - 0.3)).toBeLessThan(0.01);
  });

  it('gives two flags independent populations (overlap ≈ 1% for two 10% rollouts)', () => {
    const on = (key: string) => flag({ key, enabled: true, value: false, rules: [{ percentage: 10, value: true }] });
    let both = 0;
    for (const id of ids) if (evaluate(on('x'), ctx({ user: id }), 0).value === true && evaluate(on('y'), ctx({ user: id }), 0).value === true) both++;
    expect(Math.abs(both / ids.length - 0.01)).toBeLessThan(0.003);
  });

  it('buckets an anonymous caller by device id, and a caller with neither is in no percentage', () => {
    const f = flag({ enabled: true, value: false, rules: [{ percentage: 100, value: true }] });
    expect(evaluate(f, ctx({ user: null, device: 'd1' }), 0)).toMatchObject({ value: true, reason: 'SPLIT' });
    expect(evaluate(f, ctx({ user: null, device: null }), 0)).toMatchObject({ value: false, reason: 'DEFAULT' });
    const half = flag({ enabled: true, value: false, rules: [{ percentage: 50, value: true }] });
    const byDevice = evaluate(half, ctx({ user: null, device: 'dev-7' }), 0).value;
    expect(bucketOf('', 'f', 'dev-7') < 5000).toBe(byDevice);
  });
});

describe('rule evaluation', () => {
  const rules: FlagInput['rules'] = [
    { if: { users: ['vip'] }, value: 'vip' },
    { if: { role: 'admin', env: ['staging', 'production'] }, value: 'admin' },
    { if: { devices: 'kiosk-1' }, value: 'kiosk' },
    { if: { claims: { tenant: ['acme', 'globex'], plan: 'pro' } }, value: 'tenant' },
    { if: { env: 'development' }, value: 'dev' },
  ];
  const f = flag({ enabled: true, value: 'default', off: 'off', rules });
  it.each<[string, Partial<FlagContext>, unknown, string]>([
    ['a listed user', { user: 'vip' }, 'vip', 'TARGETING_MATCH'],
    ['the first matching rule wins', { user: 'vip', claims: { role: 'admin' } }, 'vip', 'TARGETING_MATCH'],
    ['a role from the `role` claim', { claims: { role: 'admin' } }, 'admin', 'TARGETING_MATCH'],
    ['a role from the `roles` claim', { claims: { roles: ['x', 'admin'] } }, 'admin', 'TARGETING_MATCH'],
    ['a role outside the rule env', { claims: { role: 'admin' }, env: 'test' }, 'default', 'DEFAULT'],
    ['a listed device', { device: 'kiosk-1' }, 'kiosk', 'TARGETING_MATCH'],
    ['all claims match', { claims: { tenant: 'globex', plan: 'pro' } }, 'tenant', 'TARGETING_MATCH'],
    ['one claim differs', { claims: { tenant: 'globex', plan: 'free' } }, 'default', 'DEFAULT'],
    ['the env', { env: 'development' }, 'dev', 'TARGETING_MATCH'],
    ['nothing matches', {}, 'default', 'DEFAULT'],
  ])('%s', (_name, over, value, reason) => {
    expect(evaluate(f, ctx(over), 0)).toEqual({ value, reason, version: 1 });
  });

  it('leaves out flags limited to other apps (apps), and keeps flags without apps everywhere', () => {
    const flags = [flag({ key: 'shop-only', enabled: true, apps: ['shop'] }), flag({ key: 'everywhere', enabled: true })];
    expect(Object.keys(evaluateAll(flags, ctx({ app: 'shop' }), 0))).toEqual(['shop-only', 'everywhere']);
    expect(Object.keys(evaluateAll(flags, ctx({ app: 'forum' }), 0))).toEqual(['everywhere']);
    expect(Object.keys(evaluateAll(flags, ctx({ app: null }), 0))).toEqual(['everywhere']);
  });

  it('serves `off` when disabled, and `false` without `off`', () => {
    expect(evaluate(flag({ enabled: false, value: 1, off: 0 }), ctx(), 0)).toMatchObject({ value: 0, reason: 'DISABLED' });
    expect(evaluate(flag({ enabled: false }), ctx(), 0)).toMatchObject({ value: false, reason: 'DISABLED' });
    expect(evaluate(flag({ enabled: true }), ctx(), 0)).toMatchObject({ value: true, reason: 'STATIC' });
  });

  it('serves the flag only inside startAt–endAt (start inclusive, end exclusive)', () => {
    const f = flag({ enabled: true, value: 'on', off: 'off', startAt: 1000, endAt: '1970-01-01T00:00:02.000Z' });
    expect([999, 1000, 1999, 2000].map((t) => evaluate(f, ctx(), t).value)).toEqual(['off', 'on', 'on', 'off']);
    expect(nextBoundary([f], 0)).toBe(1000);
    expect(nextBoundary([f], 1000)).toBe(2000);
    expect(nextBoundary([f], 2000)).toBeUndefined();
  });

  it.each([
    [{ key: 'bad key', enabled: true }, 'key'],
    [{ key: 'k' }, 'enabled'],
    [{ key: 'k', enabled: true, rules: [{ value: 1, percentage: 101 }] }, 'rules.0.percentage'],
    [{ key: 'k', enabled: true, rules: [{ if: { role: 5 }, value: 1 }] }, 'rules.0.if.role'],
    [{ key: 'k', enabled: true, rules: [{ if: { nope: 1 }, value: 1 }] }, 'rules.0.if'],
    [{ key: 'k', enabled: true, rules: [{}] }, 'rules.0.value'],
    [{ key: 'k', enabled: true, variants: [{ name: 'a', value: 1, weight: 60 }] }, 'variants'],
    [{ key: 'k', enabled: true, startAt: 'tomorrow' }, 'startAt'],
    [{ key: 'k', enabled: true, startAt: 2000, endAt: 1000 }, 'endAt'],
  ])('refuses %j naming %s', (input, field) => {
    const r = flagDefinition.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path.join('.')).toBe(field);
  });
});
