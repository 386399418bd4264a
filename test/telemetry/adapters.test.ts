import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { realtimeSender } from '../../src/telemetry/senders/realtime';
import { wxSender, type WxRequestApi } from '../../src/telemetry/senders/wx';
import { indexedDbStorage } from '../../src/telemetry/storage/indexeddb';
import { webStorage } from '../../src/telemetry/storage/local';
import { wxStorage } from '../../src/telemetry/storage/wx';

describe('wx sender', () => {
  it('maps wx.request answers to statuses, reads Retry-After, aborts on the signal', async () => {
    const abort = vi.fn();
    let answer: (o: Parameters<WxRequestApi['request']>[0]) => void = () => {};
    const wx: WxRequestApi = { request: (o) => (answer(o), { abort }) };
    const s = wxSender(wx, 'https://rt.example/api/telemetry/batch');
    answer = (o) => o.success({ statusCode: 429, header: { 'Retry-After': '2' } });
    expect(await s.send('{}', new AbortController().signal)).toEqual({ status: 429, retryAfter: 2000 });
    answer = (o) => o.fail({ errMsg: 'request:fail' });
    expect(await s.send('{}', new AbortController().signal)).toEqual({ status: 0 });
    const ctl = new AbortController();
    answer = () => {};
    void s.send('{}', ctl.signal);
    ctl.abort();
    expect(abort).toHaveBeenCalled();
    expect(s.unload).toBeUndefined();
  });
});

describe('realtime sender', () => {
  it('sends the batch as telemetry.batch params and maps error codes', async () => {
    const request = vi.fn(async () => ({ accepted: 1 }));
    const s = realtimeSender({ request } as any);
    expect(await s.send('{"v":1,"events":[]}', new AbortController().signal)).toEqual({ status: 200 });
    expect(request).toHaveBeenCalledWith('telemetry.batch', { v: 1, events: [] });
    for (const [code, status] of [['rate_limited', 429], ['too_large', 413], ['bad_request', 400], ['timeout', 0]] as const) {
      const r = realtimeSender({ request: async () => Promise.reject(Object.assign(new Error(code), { code, retryAfter: 5 })) } as any);
      expect((await r.send('{}', new AbortController().signal)).status).toBe(status);
    }
  });
});

describe('storage adapters', () => {
  it('wx storage reads, writes and removes, treating "" as missing and failures as no-ops', async () => {
    const map = new Map<string, string>();
    const s = wxStorage({
      getStorageSync: (k) => map.get(k) ?? '',
      setStorageSync: (k, v) => {
        if (v.length > 10) throw new Error('quota');
        map.set(k, v);
      },
      removeStorageSync: (k) => map.delete(k),
    });
    expect(await s.get('a')).toBeUndefined();
    await s.set('a', '1');
    expect(await s.get('a')).toBe('1');
    await s.set('b', 'x'.repeat(20));
    expect(await s.get('b')).toBeUndefined();
    await s.remove('a');
    expect(await s.get('a')).toBeUndefined();
  });

  it('web storage wraps a Storage area, and is undefined without one', async () => {
    const data = new Map<string, string>();
    const area = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => data.set(k, v), removeItem: (k: string) => data.delete(k) };
    const s = webStorage(area as any)!;
    await s.set('k', 'v');
    expect(await s.get('k')).toBe('v');
    await s.remove('k');
    expect(await s.get('k')).toBeUndefined();
    if (typeof (globalThis as any).localStorage === 'undefined') expect(webStorage()).toBeUndefined();
  });

  it('IndexedDB storage persists through idb-keyval', async () => {
    const s = indexedDbStorage('test-db', 'test-store');
    await s.set('q', '[1]');
    expect(await indexedDbStorage('test-db', 'test-store').get('q')).toBe('[1]');
    await s.remove('q');
    expect(await s.get('q')).toBeUndefined();
  });
});
