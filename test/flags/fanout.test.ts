import { afterEach, describe, expect, it } from 'vitest';
import { createFlags } from '../../src/flags/index';
import { bucketOf } from '../../server/src/flags/murmur3';
import { API_KEY, cleanup, client, onCleanup, signToken, startServer, waitFor, type TestServer } from '../support/harness';

afterEach(cleanup);

const CLIENTS = 1000;
const WAVE = 100;

const put = (server: TestServer, key: string, body: unknown) =>
  fetch(`${server.httpUrl}/api/flags/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('live propagation to 1,000 real clients (127.0.0.1)', () => {
  it('patches exactly the clients a rule change affects; the others get nothing', async () => {
    const server = await startServer({
      maxConnectionsPerIp: CLIENTS + 10,
      // A rule from the start, so the unaffected keep reason DEFAULT (a reason change is a change too).
      flags: { definitions: [{ key: 'beta', enabled: true, value: false, rules: [{ if: { users: 'nobody' }, value: true }] }] },
    });
    const users = Array.from({ length: CLIENTS }, (_, i) => `user-${i}`);
    const changes = new Map<string, string[][]>();
    // The `$flags` patches each client received (what the server sent, before createFlags filters).
    const patches = new Map<string, string[][]>();
    const stores = new Map<string, ReturnType<typeof createFlags>>();
    for (let i = 0; i < CLIENTS; i += WAVE) {
      await Promise.all(
        users.slice(i, i + WAVE).map(async (sub) => {
          const c = client({ url: server.url, app: 'shop', token: await signToken(sub) });
          const flags = createFlags(c);
          onCleanup(() => flags.close());
          const got: string[][] = [];
          patches.set(sub, got);
          c.subscribe('$flags', (m) => {
            const d = m.data as { type: string; flags: Record<string, unknown> };
            if (d.type === 'patch') got.push(Object.keys(d.flags));
          });
          c.connect();
          await flags.ready;
          const seen: string[][] = [];
          flags.on('change', (keys) => seen.push(keys));
          changes.set(sub, seen);
          stores.set(sub, flags);
        }),
      );
    }
    expect(stores.size).toBe(CLIENTS);

    // Listed users, plus a 10 % rollout of everyone else: the affected set is known in advance.
    const listed = new Set(users.filter((_, i) => i % 50 === 7));
    const rolled = new Set(users.filter((u) => !listed.has(u) && bucketOf('', 'beta', u) < 1000));
    const affected = new Set([...listed, ...rolled]);
    expect(rolled.size).toBeGreaterThan(50); // ~10 % of 980: the split is real, not empty
    expect(affected.size).toBeLessThan(CLIENTS / 2);

    const started = Date.now();
    const res = await put(server, 'beta', {
      enabled: true,
      value: false,
      rules: [
        { if: { users: [...listed] }, value: true },
        { percentage: 10, value: true },
      ],
    });
    expect(res.status).toBe(200);
    await waitFor(() => [...affected].every((u) => stores.get(u)!.get('beta', false) === true), 'affected clients patched', 10_000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(3000);

    // A marker flag for everyone: patches on one connection arrive in order, so once a client has
    // the marker, any `beta` patch for it would already have been applied.
    expect((await put(server, 'marker', { enabled: true, value: 1 })).status).toBe(200);
    await waitFor(() => users.every((u) => stores.get(u)!.get('marker', 0) === 1), 'marker everywhere', 10_000);
    for (const u of users) {
      const expected = affected.has(u) ? [['beta'], ['marker']] : [['marker']];
      expect(patches.get(u), u).toEqual(expected);
      expect(changes.get(u), u).toEqual(expected);
      expect(stores.get(u)!.get('beta', null), u).toBe(affected.has(u));
    }
  }, 60_000);
});
