import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { z } from 'zod';
import type { StandardSchemaV1 } from '../../src';
import { msg, tick } from './fake-transport';
import { setup } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

const Order = z.object({ status: z.enum(['paid', 'shipped']), amount: z.coerce.number() });

describe('payload schemas (Standard Schema)', () => {
  it('hands the validated value to the handler and turns an invalid payload into an error event, never a call', async () => {
    const { client, fake, connect, events } = setup();
    await connect();
    const got: unknown[] = [];
    client.subscribe(
      'order:1',
      (m) => {
        expectTypeOf(m.data).toEqualTypeOf<{ status: 'paid' | 'shipped'; amount: number }>();
        got.push(m.data);
      },
      { schema: Order },
    );
    const plain: unknown[] = [];
    client.subscribe('order:1', (m) => plain.push(m.data)); // no schema: every payload as sent
    fake.link.subscribed('order:1');
    fake.link.push(msg('order:1', 1, { status: 'paid', amount: '12.5' }));
    fake.link.push(msg('order:1', 2, { status: 'lost' }));
    fake.link.push(msg('order:1', 3, { status: 'shipped', amount: 3 }));
    expect(got).toEqual([]); // validated handlers run a microtask later
    await tick();
    expect(got).toEqual([
      { status: 'paid', amount: 12.5 }, // coerced by the schema
      { status: 'shipped', amount: 3 },
    ]);
    expect(plain).toHaveLength(3);
    const errors = events.error as { code: string; message: string; cause: unknown }[];
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('invalid_payload');
    expect(errors[0]!.message).toBe('order:1: invalid payload');
    expect(Array.isArray(errors[0]!.cause)).toBe(true);
    // Still subscribed: a bad payload is not a refusal.
    fake.link.push(msg('order:1', 4, { status: 'paid', amount: 1 }));
    await tick();
    expect(got).toHaveLength(3);
  });

  it('keeps messages in order through an asynchronous validator, and reports one that throws', async () => {
    const { client, fake, connect, events } = setup();
    await connect();
    let delay = 30;
    const slowFirst: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (v) => {
          if (v === 'boom') throw new Error('validator bug');
          const wait = (delay -= 10);
          return new Promise((r) => setTimeout(() => r(typeof v == 'number' ? { value: v } : { issues: [{ message: 'not a number' }] }), wait));
        },
      },
    };
    const got: number[] = [];
    client.subscribe('n', (m) => got.push(m.data), { schema: slowFirst });
    fake.link.subscribed('n');
    fake.link.push(msg('n', 1, 1)); // resolves after 20 ms
    fake.link.push(msg('n', 2, 'x')); // after 10 ms: invalid
    fake.link.push(msg('n', 3, 3)); // after 0 ms
    fake.link.push(msg('n', 4, 'boom'));
    await vi.advanceTimersByTimeAsync(50);
    expect(got).toEqual([1, 3]);
    const errors = events.error as { code: string; cause: unknown }[];
    expect(errors.map((e) => e.code)).toEqual(['invalid_payload', 'invalid_payload']);
    expect(errors[0]!.cause).toEqual([{ message: 'not a number' }]);
    expect((errors[1]!.cause as Error).message).toBe('validator bug');
  });

  it('drops what is still being validated once the handler unsubscribed', async () => {
    const { client, fake, connect } = setup();
    await connect();
    const later: StandardSchemaV1<unknown, unknown> = {
      '~standard': { version: 1, vendor: 'test', validate: (v) => new Promise((r) => setTimeout(() => r({ value: v }), 10)) },
    };
    const handler = vi.fn();
    const sub = client.subscribe('t', handler, { schema: later });
    fake.link.subscribed('t');
    fake.link.push(msg('t', 1));
    sub.unsubscribe();
    await vi.advanceTimersByTimeAsync(20);
    expect(handler).not.toHaveBeenCalled();
  });

  it('holds at most 1000 payloads in validation per handler; beyond, each is an invalid_payload error, and room comes back as they settle', async () => {
    const { client, fake, connect, events } = setup();
    await connect();
    const pending: Array<() => void> = [];
    const stuck: StandardSchemaV1<unknown, unknown> = {
      '~standard': { version: 1, vendor: 'test', validate: (v) => new Promise((r) => pending.push(() => r({ value: v }))) },
    };
    const got: unknown[] = [];
    client.subscribe('t', (m) => got.push(m.data), { schema: stuck });
    fake.link.subscribed('t');
    for (let i = 1; i <= 1002; i++) fake.link.push(msg('t', i));
    await tick();
    const errors = events.error as { code: string; cause: unknown }[];
    expect(errors.map((e) => [e.code, e.cause])).toEqual([
      ['invalid_payload', 'validation backlog'],
      ['invalid_payload', 'validation backlog'],
    ]);
    // Validations run one after another: settle them as they start.
    while (got.length < 1000) {
      pending.shift()?.();
      await tick();
    }
    expect(got[999]).toBe(1000);
    fake.link.push(msg('t', 1003));
    await tick();
    pending.shift()?.();
    await tick();
    expect(got.at(-1)).toBe(1003);
    expect(errors).toHaveLength(2);
  });
});

