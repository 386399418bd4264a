import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTaskQueue, type QueueEvent, type TaskQueueOptions, type TaskResult } from '../../src/telemetry/queue';

type Run = TaskQueueOptions<string>['run'];

function setup(run: Run, over: Partial<TaskQueueOptions<string>> = {}) {
  const events: QueueEvent<string>[] = [];
  const q = createTaskQueue<string>({
    concurrency: 2,
    spacing: 200,
    timeout: 10_000,
    retries: 2,
    backoff: { floor: 1000, ceiling: 8000 },
    random: () => 1,
    run,
    onEvent: (e) => events.push(e),
    ...over,
  });
  const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.data);
  return { q, events, of };
}

const ok = async (): Promise<TaskResult<string>> => ({ done: true });

describe('task queue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at most `concurrency` tasks at once and spaces their starts', async () => {
    const started: Array<[string, number]> = [];
    const release: Array<() => void> = [];
    const { q } = setup((d) => {
      started.push([d, Date.now()]);
      return new Promise((r) => release.push(() => r({ done: true })));
    });
    const t0 = Date.now();
    for (const d of ['a', 'b', 'c']) q.push(d);
    await vi.advanceTimersByTimeAsync(1000);
    expect(started.map(([d, t]) => [d, t - t0])).toEqual([
      ['a', 0],
      ['b', 200],
    ]);
    release.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(started.map(([d]) => d)).toEqual(['a', 'b', 'c']);
    expect(q.running).toBe(2);
  });

  it('runs higher priority first, FIFO within a priority', async () => {
    const order: string[] = [];
    const { q } = setup(async (d) => (order.push(d), { done: true }), { concurrency: 1, spacing: 0 });
    q.pause();
    q.push('low1');
    q.push('high', 1);
    q.push('low2');
    q.resume();
    await vi.advanceTimersByTimeAsync(10);
    expect(order).toEqual(['high', 'low1', 'low2']);
  });

  it('retries with exponential backoff and drops as failed after `retries`', async () => {
    const times: number[] = [];
    const t0 = Date.now();
    const { q, events } = setup(async () => (times.push(Date.now() - t0), { retry: true }), { spacing: 0 });
    q.push('x');
    await vi.advanceTimersByTimeAsync(60_000);
    // random() = 1: waits are the top of the window, 1000·2^1 then 1000·2^2.
    expect(times).toEqual([0, 2000, 6000]);
    expect(events.find((e) => e.type === 'drop')).toMatchObject({ data: 'x', reason: 'failed', attempts: 3 });
  });

  it('pauses the whole queue for Retry-After without spending a retry', async () => {
    const starts: Array<[string, number]> = [];
    const t0 = Date.now();
    let first = true;
    const { q, of } = setup(
      async (d) => {
        starts.push([d, Date.now() - t0]);
        if (first) {
          first = false;
          return { retry: true, after: 5000 };
        }
        return { done: true };
      },
      { concurrency: 1, spacing: 0, retries: 0 },
    );
    q.push('a');
    q.push('b');
    await vi.advanceTimersByTimeAsync(4999);
    expect(starts).toEqual([['a', 0]]);
    await vi.advanceTimersByTimeAsync(10);
    expect(starts).toEqual([
      ['a', 0],
      ['a', 5000],
      ['b', 5000],
    ]);
    expect(of('done')).toEqual(['a', 'b']);
  });

  it('replaces a task by its split parts, run in its place', async () => {
    const seen: string[] = [];
    const { q } = setup(
      async (d) => {
        seen.push(d);
        return d.length > 1 ? { split: [d.slice(0, d.length >> 1), d.slice(d.length >> 1)] } : { done: true };
      },
      { concurrency: 1, spacing: 0 },
    );
    q.push('abcd');
    q.push('z', -1);
    await vi.advanceTimersByTimeAsync(10);
    expect(seen).toEqual(['abcd', 'ab', 'cd', 'a', 'b', 'c', 'd', 'z']);
  });

  it('aborts a run at `timeout` and retries it', async () => {
    let signal: AbortSignal | undefined;
    let calls = 0;
    const { q, of } = setup(
      (_d, s) => {
        calls++;
        signal = s;
        return calls === 1 ? new Promise(() => {}) : ok();
      },
      { timeout: 3000 },
    );
    q.push('slow');
    await vi.advanceTimersByTimeAsync(2999);
    expect(signal!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signal!.aborted).toBe(true);
    expect(of('retry')).toEqual(['slow']);
    await vi.advanceTimersByTimeAsync(2000);
    expect(of('done')).toEqual(['slow']);
  });

  it('pause stops new starts, resume continues, stop returns what waits', async () => {
    const { q, of } = setup(ok, { spacing: 0, concurrency: 1 });
    q.pause();
    q.push('a');
    q.push('b');
    await vi.advanceTimersByTimeAsync(100);
    expect(of('done')).toEqual([]);
    q.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(of('done')).toEqual(['a', 'b']);
    q.pause();
    q.push('c');
    expect(q.stop()).toEqual(['c']);
    q.push('d');
    expect(q.size).toBe(0);
  });

  it('idle() resolves when nothing waits or runs', async () => {
    const { q } = setup(ok, { spacing: 100 });
    q.push('a');
    q.push('b');
    q.push('c');
    let idle = false;
    void q.idle().then(() => (idle = true));
    await vi.advanceTimersByTimeAsync(150);
    expect(idle).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(idle).toBe(true);
  });

  it('remove() takes a waiting task out', async () => {
    const { q, of } = setup(ok, { spacing: 0 });
    q.pause();
    q.push('a');
    q.push('b');
    expect(q.remove('a')).toBe(true);
    expect(q.remove('nope')).toBe(false);
    q.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(of('done')).toEqual(['b']);
  });
});
