import type { Sender } from '../types';
import { parseRetryAfter } from './retry-after';

/** The part of a WeChat-family `wx` object the sender uses. */
export interface WxRequestApi {
  request(o: {
    url: string;
    method: 'POST';
    data: string;
    header: Record<string, string>;
    timeout?: number;
    success(res: { statusCode: number; header?: Record<string, string> }): void;
    fail(err: unknown): void;
  }): { abort?(): void } | void;
}

/** Upload with `wx.request` (mini-programs; `uni`/`my` with the same shape work too). No unload sending. */
export function wxSender(wx: WxRequestApi, url: string, headers: Record<string, string> = {}): Sender {
  return {
    send: (body, signal) =>
      new Promise((resolve) => {
        const task = wx.request({
          url,
          method: 'POST',
          data: body,
          header: { 'content-type': 'application/json', ...headers },
          success: (res) => {
            const h = res.header ?? {};
            resolve({ status: res.statusCode, retryAfter: parseRetryAfter(h['Retry-After'] ?? h['retry-after']) });
          },
          fail: () => resolve({ status: 0 }),
        });
        signal.addEventListener('abort', () => task?.abort?.());
      }),
  };
}
