import { afterEach, describe, expect, it } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { API_KEY, cleanup, client, onCleanup, signToken, sleep, waitFor } from '../support/harness';
import { startBalancer, startNode, type ServerNode } from '../support/nodes';
import { redisForFile } from '../support/redis';
import { checkStream, prng, range, seedFrom } from './workload';

// Three real server processes on one real redis-server behind a round-robin balancer; a
// publisher at ~200 msg/s over 20 topics and personal streams; the node most clients are on is
// SIGKILLed mid-stream. Every client must get every message of its streams once, in order, and
// recover every time.
const redis = redisForFile();
afterEach(cleanup);

const TOPICS = 20;
const CLIENTS = 12;

describe('chaos: a node of a cluster on Redis is killed under traffic', () => {
  it('every client gets every message of its topics and its personal stream once, in order, recovered', async () => {
    const rnd = prng(seedFrom(21));
    const nodes: ServerNode[] = await Promise.all([0, 1, 2].map(() => startNode(redis().url)));
    for (const n of nodes) onCleanup(() => n.kill());
    const live = [...nodes];
    const lb = await startBalancer(() => live.map((n) => n.port));
    onCleanup(() => lb.close());

    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const user = `u${i}`;
        const c = client({ url: lb.url, app: 'chaos', token: await signToken(user) });
        const topics = [`t${i % TOPICS}`, `t${(i * 7 + 3) % TOPICS}`].filter((t, k, all) => all.indexOf(t) === k);
        const seqs = new Map<string, number[]>(topics.map((t) => [t, []]));
        const personal: number[] = [];
        const recoveries: boolean[] = [];
        for (const t of topics) c.subscribe(t, (m: Publication) => seqs.get(t)!.push((m.data as { n: number }).n), { onSubscribed: (r) => recoveries.push(r.recovered) });
        c.on('message', (m) => {
          if (m.topic === `user:${user}`) personal.push((m.data as { n: number }).n);
        });
        c.connect();
        return { c, user, topics, seqs, personal, recoveries };
      }),
    );
    await waitFor(() => clients.every((x) => x.recoveries.length === x.topics.length), 'all subscribed', 10_000);

    // The publisher numbers each stream's messages; every /notify has an Idempotency-Key and is
    // retried on another node when its node dies, so each is applied exactly once.
    const sent = new Map<string, number>();
    let key = 0;
    const post = async (body: { eventTopics?: string[]; users?: string[] }, stream: string) => {
      const n = (sent.get(stream) ?? 0) + 1;
      const idem = `k${++key}`;
      for (let attempt = 0; ; attempt++) {
        const node = live[(key + attempt) % live.length]!;
        const res = await fetch(`${node.httpUrl}/notify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, 'idempotency-key': idem },
          body: JSON.stringify({ appId: 'chaos', ...body, data: { n } }),
        }).catch(() => undefined);
        if (res?.status === 200) break;
        if (attempt > 20) throw new Error(`notify ${idem} kept failing (${res?.status})`);
        await sleep(20);
      }
      sent.set(stream, n);
    };
    const publishFor = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const tick = Date.now();
        if (rnd() < 0.7) {
          const t = `t${Math.floor(rnd() * TOPICS)}`;
          await post({ eventTopics: [t] }, t);
        } else {
          const u = `u${Math.floor(rnd() * CLIENTS)}`;
          await post({ users: [u] }, `user:${u}`);
        }
        await sleep(Math.max(0, 5 - (Date.now() - tick))); // ~200 msg/s
      }
    };

    await publishFor(1000);
    // Kill the first node (the balancer's first pick: a third of the clients are on it).
    live.splice(0, 1);
    await nodes[0]!.kill();
    await publishFor(2000);

    const expected = (stream: string) => range(1, sent.get(stream) ?? 0);
    await waitFor(
      () => clients.every((x) => x.topics.every((t) => x.seqs.get(t)!.length === expected(t).length) && x.personal.length === expected(`user:${x.user}`).length),
      'every message delivered',
      15_000,
    );
    for (const x of clients) {
      for (const t of x.topics) checkStream(x.seqs.get(t)!, expected(t), `${x.user} ${t}`);
      checkStream(x.personal, expected(`user:${x.user}`), `${x.user} personal`);
      expect(x.recoveries.every(Boolean), `${x.user} recoveries ${x.recoveries}`).toBe(true);
    }
    const moved = clients.filter((x) => x.recoveries.length > x.topics.length).length;
    expect(moved, 'clients that reconnected after the kill').toBeGreaterThan(0);
    console.log(`cluster chaos: ${key} notifies, ${moved}/${CLIENTS} clients moved to another node`);
  }, 60_000);
});
