import { afterEach, expect, it } from 'vitest';
import { cleanup, notify } from '../support/harness';
import { ask, connected, inbox, legacy, startBridge, until } from './helpers';

afterEach(cleanup);

it('smoke', async () => {
  const server = await startBridge();
  const s = legacy(server, 'shop', 'u1', 'd1');
  await connected(s);
  const got = inbox(s);
  expect(await ask(s, 'subscribe', ['order:1'])).toEqual({ ok: true, results: { 'order:1': { ok: true } } });
  expect((await notify(server, { appId: 'shop', users: ['u1'], devices: ['d1'], eventTopics: ['order:1'], data: { a: 1 } })).status).toBe(200);
  await until(() => got.length > 0, 'message');
  expect(got).toEqual([{ a: 1 }]);
});
