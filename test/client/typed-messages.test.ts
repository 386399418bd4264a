import { describe, expect, expectTypeOf, it } from 'vitest';
import { createClient, type PayloadOf, type Publication } from '../../src';
import { fakeTransport, msg, tick } from './fake-transport';

type Order = { status: 'paid' | 'shipped' };
type ChatLine = { from: string; text: string };
type Topics = { [order: `order:${string}`]: Order; 'chat:general': ChatLine };

// Checked by `npm run typecheck` (tsc over test/): a wrong payload type fails CI there.
describe('typed messages', () => {
  it('takes payload types from the client’s topic map, by name or template pattern', () => {
    expectTypeOf<PayloadOf<Topics, 'order:12345'>>().toEqualTypeOf<Order>();
    expectTypeOf<PayloadOf<Topics, 'chat:general'>>().toEqualTypeOf<ChatLine>();
    expectTypeOf<PayloadOf<Topics, 'other'>>().toEqualTypeOf<unknown>();
    expectTypeOf<PayloadOf<Topics, string>>().toEqualTypeOf<unknown>();
  });

  it('types handlers of subscribe from the map, or from an explicit type argument', async () => {
    const fake = fakeTransport();
    const { transport } = fake;
    const client = createClient<Topics>({ url: 'ws://x/ws', app: 'a', transport, heartbeat: false });
    const statuses: string[] = [];
    client.subscribe('order:1', (m) => {
      expectTypeOf(m).toEqualTypeOf<Publication<Order>>();
      statuses.push(m.data.status);
    });
    client.subscribe('chat:general', (m) => expectTypeOf(m.data.text).toEqualTypeOf<string>());
    // @ts-expect-error: an Order has no `text`
    client.subscribe('order:2', (m) => m.data.text);
    client.subscribe('misc', (m) => expectTypeOf(m.data).toEqualTypeOf<unknown>());
    // An untyped client and an explicit payload type, as before.
    const plain = createClient({ url: 'ws://x/ws', app: 'a', transport, heartbeat: false });
    plain.subscribe<Order>('order:3', (m) => expectTypeOf(m.data.status).toEqualTypeOf<'paid' | 'shipped'>());
    plain.subscribe('order:4', (m) => expectTypeOf(m.data).toEqualTypeOf<unknown>());
    client.connect();
    await tick();
    fake.link.open();
    fake.link.accept();
    fake.link.subscribed('order:1');
    fake.link.push(msg('order:1', 1, { status: 'paid' }));
    expect(statuses).toEqual(['paid']);
    client.close();
    plain.close();
  });
});
