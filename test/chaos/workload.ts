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
