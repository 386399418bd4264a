import { describe, expect, it } from 'vitest';
import { Operations, type Op } from '../../src/client/operations';
import type { RealtimeError } from '../../src/client/errors';
import type { Timers } from '../../src/util/timers';

/** A manual clock whose timers can be counted: the point of one timer for all deadlines. */
function clock() {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => {
      pending.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimeout: (id: unknown) => void pending.delete(id as number),
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const next = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > end) break;
      pending.delete(next[0]);
      now = next[1].at;
      next[1].fn();
    }
    now = end;
  };
  return { timers, advance, armed: () => pending.size };
}

function op(log: string[], name: string, frame?: Op['frame_']): Op {
  return {
    frame_: frame,
    body_: frame && JSON.stringify({ ...frame, id: 0 }),
    resolve_: (r) => log.push(`${name} ok ${JSON.stringify(r)}`),
    reject_: (e: RealtimeError) => log.push(`${name} ${e.code}: ${e.message}`),
  };
}

const pub = (key: string): Op['frame_'] => ({ t: 'pub', topic: 'a', data: 1, key });
const rpc: Op['frame_'] = { t: 'rpc', method: 'm' };

const unsent = (ops: Operations) => [...(ops.app_ ?? [])].filter((o) => o.id === undefined);
const publishes = (ops: Operations) => [...(ops.app_ ?? [])].filter((o) => o.frame_?.t == 'pub');

function setup(size = 10) {
  const c = clock();
  let changed = 0;
  const ops = new Operations(c.timers, size, { publishesChanged_: () => changed++ });
  return { ...c, ops, changed: () => changed };
}

describe('Operations: one lifecycle, one timer', () => {
  it('holds one timer however many requests are in flight, and expires each at its own deadline', () => {
    const { ops, armed, advance } = setup();
    const log: string[] = [];
    for (let i = 0; i < 100; i++) ops.request_(op(log, `r${i}`), 1000);
    ops.request_(op(log, 'short'), 200);
    ops.add_(op(log, 'app', rpc), 500, true);
    expect(armed()).toBe(1);
    advance(199);
    expect(log).toEqual([]);
    advance(1);
    expect(log).toEqual(['short timeout: no reply within 200 ms']);
    advance(300);
    expect(log.at(-1)).toBe('app timeout: deadline passed');
    advance(499);
    expect(log).toHaveLength(2);
    advance(1);
    expect(log).toHaveLength(102);
    expect(armed()).toBe(0);
  });

  it('reuses its tables for back-to-back requests and drops them at the timer\'s next run: an idle client holds none', () => {
    const { ops, advance, armed } = setup();
    const log: string[] = [];
    const tables = () => {
      const o = ops as unknown as { sent_?: Map<number, Op>; lists_?: Map<number, Set<Op>> };
      return { sent: o.sent_, lists: o.lists_ };
    };
    // The connect request has no deadline: no timer, and its table goes with its reply.
    ops.settle_({ t: 'reply', id: ops.request_(op(log, 'connect'), Infinity), result: 0 });
    expect(tables()).toEqual({ sent: undefined, lists: undefined });
    ops.settle_({ t: 'reply', id: ops.request_(op(log, 'first'), 1000), result: 1 });
    const first = tables();
    expect(first.sent?.size).toBe(0);
    for (let i = 0; i < 3; i++) ops.settle_({ t: 'reply', id: ops.request_(op(log, `r${i}`), 1000), result: i });
    expect(tables().sent).toBe(first.sent);
    expect(tables().lists).toBe(first.lists);
    expect(armed()).toBe(1);
    advance(1000);
    expect(tables()).toEqual({ sent: undefined, lists: undefined });
    expect(armed()).toBe(0);
    expect(log).toHaveLength(5);
  });

  it('routes a reply by id once; a late reply after the deadline is ignored', () => {
    const { ops, advance } = setup();
    const log: string[] = [];
    const a = ops.request_(op(log, 'a'), 100);
    const b = ops.request_(op(log, 'b'), 100);
    expect(ops.settle_({ t: 'reply', id: a, result: 1 })).toBe(true);
    expect(ops.settle_({ t: 'reply', id: a, result: 2 })).toBe(false);
    advance(100);
    expect(ops.settle_({ t: 'reply', id: b, result: 3 })).toBe(false);
    expect(log).toEqual(['a ok 1', 'b timeout: no reply within 100 ms']);
  });

  it('a lost link: own requests end silently, an app request fails, a publish waits to be resent with a new id', () => {
    const { ops } = setup();
    const log: string[] = [];
    const own = ops.request_(op(log, 'own'), 1000);
    const p = op(log, 'pub', pub('k1'));
    const r = op(log, 'rpc', rpc);
    ops.add_(p, 5000, false);
    ops.add_(r, 5000, false);
    const first = JSON.parse(ops.wire_(p)).id;
    ops.wire_(r);
    expect(unsent(ops)).toEqual([]);
    ops.lost_({ code: 'transport', message: 'connection lost' } as RealtimeError);
    expect(log).toEqual(['rpc transport: connection lost']);
    expect(ops.settle_({ t: 'reply', id: own, result: 1 })).toBe(false);
    expect(unsent(ops)).toEqual([p]);
    const again = JSON.parse(ops.wire_(p));
    expect(again.key).toBe('k1');
    expect(again.id).toBeGreaterThan(first);
    ops.settle_({ t: 'reply', id: again.id, result: { id: 'x', offset: 1 } });
    expect(log.at(-1)).toBe('pub ok {"id":"x","offset":1}');
    expect(publishes(ops)).toEqual([]);
  });

  it('bounds operations waiting for a connection (outbox_full), not those sent at once', () => {
    const { ops } = setup(2);
    const log: string[] = [];
    expect(ops.add_(op(log, 'a', rpc), 1000, true)).toBeUndefined();
    expect(ops.add_(op(log, 'b', rpc), 1000, true)).toBeUndefined();
    expect(ops.add_(op(log, 'c', rpc), 1000, true)?.code).toBe('outbox_full');
    expect(ops.add_(op(log, 'd', rpc), 1000, false)).toBeUndefined();
    expect(unsent(ops)).toHaveLength(3);
  });

  it('reports every change of the publishes (to save them), none when closing', () => {
    const { ops, changed, advance } = setup();
    const log: string[] = [];
    ops.add_(op(log, 'p1', pub('k1')), 100, true);
    ops.add_(op(log, 'p2', pub('k2')), 1000, true);
    ops.add_(op(log, 'r', rpc), 1000, true);
    expect(changed()).toBe(2);
    advance(100);
    expect(changed()).toBe(3);
    expect(publishes(ops).map((o) => (o.frame_ as { key: string }).key)).toEqual(['k2']);
    ops.failAll_({ code: 'closed', message: 'client closed' } as RealtimeError);
    expect(changed()).toBe(3);
    expect(log).toEqual(['p1 timeout: deadline passed', 'p2 closed: client closed', 'r closed: client closed']);
  });

  it('an operation ended by another one\'s callback is not ended twice', () => {
    const { ops, advance } = setup();
    const log: string[] = [];
    const b = op(log, 'b', rpc);
    const a: Op = { ...op(log, 'a', rpc), reject_: (e) => (log.push(`a ${e.code}`), ops.failAll_({ code: 'closed', message: 'x' } as RealtimeError)) };
    ops.add_(a, 100, true);
    ops.add_(b, 100, true);
    advance(100);
    expect(log).toEqual(['a timeout', 'b closed: x']);
  });
});
