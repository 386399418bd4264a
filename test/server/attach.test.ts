import { afterEach, describe, expect, it } from 'vitest';
import type { StreamPosition } from '../../src/protocol/frames';
import { MemoryBroker } from '../../server/src/brokers/memory';
import type { Broker } from '../../server/src/brokers/types';
import { MAX_HELD } from '../../server/src/connection/attach';
import { Raw, cleanup, startServer } from './helpers';

afterEach(cleanup);

/**
 * A broker whose history answers are held back until `release()`: it reads the history at once
 * (so the answer is the state at subscribe time) and replies later, the way a slow network store
 * does. Live messages published meanwhile must wait in the connection and follow the reply.
 */
function slowHistoryBroker(): { broker: Broker; setSlow: (on: boolean) => void; release: () => void; waiting: () => number } {
  const inner = new MemoryBroker({ history: { size: 100_000, ttl: 60_000, streams: 1000 } });
  let gates: Array<() => void> = [];
  let slow = false;
  const broker: Broker = {
    publish: (...a) => inner.publish(...a),
    subscribe: (...a) => inner.subscribe(...a),
    unsubscribe: (...a) => inner.unsubscribe(...a),
    close: () => inner.close(),
    async history(app: string, stream: string, since?: StreamPosition) {
      const answer = await inner.history(app, stream, since);
      if (slow) await new Promise<void>((r) => gates.push(r));
      return answer;
    },
  };
  return {
    broker,
    setSlow: (on) => void (slow = on),
    release: () => {
      const g = gates;
      gates = [];
      for (const r of g) r();
    },
    waiting: () => gates.length,
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a subscribe whose history is slow', () => {
  it('holds live messages until the reply, then sends them in order, once', async () => {
    const slow = slowHistoryBroker();
    const server = await startServer({ broker: slow.broker });
    const { raw } = await Raw.connected(server, 'u1');
    await server.publish('shop', { eventTopics: ['t'], data: 0 });
    slow.setSlow(true);
    const reply = raw.request({ t: 'sub', topic: 't' });
    await until(() => slow.waiting() === 1, 'the history read');
    for (let i = 1; i <= 5; i++) await server.publish('shop', { eventTopics: ['t'], data: i });
    slow.release();
    const r = await reply;
    expect(r.result).toMatchObject({ offset: 1, recovered: true });
    await until(() => raw.of('msg').length === 5, 'the held messages');
    expect(raw.of('msg').map((m) => [m.offset, m.data])).toEqual([1, 2, 3, 4, 5].map((i) => [i + 1, i]));
    // The reply came before every held message.
    const frames = raw.frames.filter((f: any) => f.t === 'reply' || f.t === 'msg');
    expect(frames.findIndex((f: any) => f.t === 'reply' && f.id === r.id)).toBeLessThan(frames.findIndex((f: any) => f.t === 'msg'));
  });

  it(`closes with 4005 (reconnect and recover) when more than ${MAX_HELD} messages wait`, async () => {
    const slow = slowHistoryBroker();
    const server = await startServer({ broker: slow.broker });
    const { raw } = await Raw.connected(server, 'u1');
    slow.setSlow(true);
    void raw.request({ t: 'sub', topic: 'flood' }).catch(() => undefined);
    await until(() => slow.waiting() === 1, 'the history read');
    for (let i = 0; i <= MAX_HELD; i++) await server.publish('shop', { eventTopics: ['flood'], data: i });
    const closed = await raw.closed;
    expect(closed.code).toBe(4005);
    expect(raw.of('close')[0]).toMatchObject({ code: 4005, reconnect: true });
    slow.release();
  });
});
