import { afterEach, describe, expect, it } from 'vitest';
import { Raw, cleanup, sleep, startServer } from './helpers';

afterEach(cleanup);

describe('presence', () => {
  it('answers watch with the current count and pushes changes, throttled, ending on the final value', async () => {
    const server = await startServer({ presenceInterval: 150 });
    const a1 = (await Raw.connected(server, 'a')).raw;
    await a1.request({ t: 'sub', topic: 'room' });
    const watcher = (await Raw.connected(server, 'host')).raw;
    expect((await watcher.request({ t: 'watch', topic: 'room' })).result).toEqual({ users: 1, connections: 1 });

    const a2 = (await Raw.connected(server, 'a')).raw;
    const b = (await Raw.connected(server, 'b')).raw;
    const started = Date.now();
    await a2.request({ t: 'sub', topic: 'room' });
    await b.request({ t: 'sub', topic: 'room' });
    const peak = await watcher.next((f) => f.t === 'count' && f.users === 2 && f.connections === 3, 2000);
    b.ws.close();
    const after = watcher.frames.indexOf(peak) + 1;
    await watcher.next((f) => f.t === 'count' && f.users === 1 && f.connections === 2, 2000, after);

    const counts = watcher.of('count');
    expect(counts.every((c) => c.topic === 'room')).toBe(true);
    // Four changes within a few ms: throttling merged them into at most three pushes.
    expect(counts.length).toBeLessThanOrEqual(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(counts.at(-1)).toEqual({ t: 'count', topic: 'room', users: 1, connections: 2 });
  });

  it('spaces pushes at least presenceInterval apart', async () => {
    const server = await startServer({ presenceInterval: 100 });
    const watcher = (await Raw.connected(server, 'w')).raw;
    await watcher.request({ t: 'watch', topic: 'room' });
    const times: number[] = [];
    watcher.ws.on('message', (d) => {
      if (JSON.parse(String(d)).t === 'count') times.push(Date.now());
    });
    const members = await Promise.all([1, 2, 3, 4, 5].map((i) => Raw.connected(server, `m${i}`)));
    for (const m of members) {
      await m.raw.request({ t: 'sub', topic: 'room' });
      await sleep(20);
    }
    await watcher.next((f) => f.t === 'count' && f.connections === 5, 2000);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(90);
  });

  it('counts per app and stops pushing after unwatch', async () => {
    const server = await startServer({ presenceInterval: 0 });
    const other = (await Raw.connected(server, 'x', { app: 'forum' })).raw;
    await other.request({ t: 'sub', topic: 'room' });
    const watcher = (await Raw.connected(server, 'w')).raw;
    expect((await watcher.request({ t: 'watch', topic: 'room' })).result).toEqual({ users: 0, connections: 0 });
    const m = (await Raw.connected(server, 'm')).raw;
    await m.request({ t: 'sub', topic: 'room' });
    await watcher.next((f) => f.t === 'count' && f.connections === 1);
    const marker = (await Raw.connected(server, 'marker')).raw;
    await marker.request({ t: 'watch', topic: 'room' });
    expect((await watcher.request({ t: 'unwatch', topic: 'room' })).result).toEqual({});
    await m.request({ t: 'unsub', topic: 'room' });
    // The marker watcher got the change; a push to the unwatched one would have gone out with it.
    await marker.next((f) => f.t === 'count' && f.connections === 0);
    await watcher.request({ t: 'unwatch', topic: 'none' });
    expect(watcher.of('count')).toHaveLength(1);
  });
});
