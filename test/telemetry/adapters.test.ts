import { describe, expect, it, vi } from 'vitest';
import { realtimeSender } from '../../src/telemetry/senders/realtime';
import { wxSender, type WxRequestApi } from '../../src/telemetry/senders/wx';

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
