import { expect } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import type { TestClient } from '../support/harness';

/** Helpers shared by the fault-injection suites: seeded randomness, numbered workloads, invariants. */

/** A small seeded PRNG (mulberry32): the same seed replays the same fault schedule. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seed from `CHAOS_SEED` (to replay a failure) or the given default. Printed by the suites. */
export const seedFrom = (fallback: number) => (process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : fallback);

/** The numbers a subscriber saw on one topic, in delivery order, and the gaps it was told about. */
export interface Tracked {
  seqs: number[];
  gaps: number;
  recoveries: boolean[];
}

/** Subscribe `c` to `topic`; every message's `data.n` is recorded in delivery order. */
export function track(c: TestClient, topic: string): Tracked {
  const t: Tracked = { seqs: [], gaps: 0, recoveries: [] };
  c.subscribe(topic, (m: Publication) => t.seqs.push((m.data as { n: number }).n), {
    onSubscribed: (r) => t.recoveries.push(r.recovered),
    onGap: () => t.gaps++,
  });
  return t;
}

/**
 * Invariants for one subscriber of one topic: no duplicate, order kept (strictly increasing
 * numbers: the publisher numbers its messages in publish order) and, when `expected` is given,
 * nothing lost (exactly those numbers).
 */
export function checkStream(seqs: number[], expected?: number[], who = 'subscriber') {
  const dupes = seqs.filter((n, i) => seqs.indexOf(n) !== i);
  expect(dupes, `${who}: duplicates`).toEqual([]);
  const outOfOrder = seqs.filter((n, i) => i > 0 && n <= seqs[i - 1]!);
  expect(outOfOrder, `${who}: out of order`).toEqual([]);
  if (expected) {
    const got = new Set(seqs);
    expect(expected.filter((n) => !got.has(n)), `${who}: lost`).toEqual([]);
    expect(seqs.length, `${who}: count`).toBe(expected.length);
  }
}

/** Checks every `disconnected` event's backoff against the ceiling; records reconnect timings. */
export function watchReconnects(c: TestClient, ceiling: number) {
  const w = { disconnects: 0, reconnects: 0, overCeiling: [] as number[], downSince: 0, downtimes: [] as number[] };
  c.on('disconnected', (d) => {
    w.disconnects++;
    if (d.willReconnect && (d.delay ?? 0) > ceiling) w.overCeiling.push(d.delay!);
    if (!w.downSince) w.downSince = Date.now();
  });
  c.on('connected', (i) => {
    if (i.reconnected) w.reconnects++;
    if (w.downSince) w.downtimes.push(Date.now() - w.downSince);
    w.downSince = 0;
  });
  return w;
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The faults a random schedule draws from (test/support/proxy.ts). */
export const FAULTS = ['drop', 'blackhole', 'blackhole-down', 'blackhole-up', 'delay', 'stall', 'outage'] as const;
export type Fault = (typeof FAULTS)[number];

interface ProxyLike {
  blackhole(direction?: 'both' | 'down' | 'up'): void;
  pass(): void;
  stall(): void;
  drop(): void;
  setDelay(ms: number): void;
  refuse(): void;
  accept(): void;
}

export function applyFault(proxy: ProxyLike, fault: Fault, rnd: () => number): void {
  if (fault === 'drop') proxy.drop();
  else if (fault === 'blackhole') proxy.blackhole('both');
  else if (fault === 'blackhole-down') proxy.blackhole('down');
  else if (fault === 'blackhole-up') proxy.blackhole('up');
  else if (fault === 'delay') proxy.setDelay(20 + Math.floor(rnd() * 200));
  else if (fault === 'stall') proxy.stall();
  else {
    proxy.refuse();
    proxy.drop();
  }
}

/**
 * End a fault. A blackholed connection is reset first: the proxy swallowed its bytes, and a TCP
 * stream that silently lost bytes and then carried on is not a fault real networks have (TCP
 * retransmits; a NAT or a dead peer kills the connection for good). New connections work again.
 */
export function heal(proxy: ProxyLike, fault?: Fault): void {
  if (fault?.startsWith('blackhole')) proxy.drop();
  proxy.setDelay(0);
  proxy.accept();
  proxy.pass();
}

/**
 * A seeded random schedule of faults on `proxy` until `stop()` holds: wait 100–800 ms, apply a
 * fault, keep it 100–1500 ms, heal. Returns the log ("+850ms blackhole-down 420ms"). Bounded by
 * the caller's stop condition; always ends healed.
 */
export async function faultSchedule(proxy: ProxyLike, rnd: () => number, stop: () => boolean, log: string[] = []): Promise<string[]> {
  const t0 = Date.now();
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  while (!stop()) {
    await pause(100 + Math.floor(rnd() * 700));
    if (stop()) break;
    const fault = FAULTS[Math.floor(rnd() * FAULTS.length)]!;
    const hold = 100 + Math.floor(rnd() * 1400);
    log.push(`+${Date.now() - t0}ms ${fault} ${hold}ms`);
    applyFault(proxy, fault, rnd);
    await pause(hold);
    heal(proxy, fault);
  }
  heal(proxy);
  return log;
}
