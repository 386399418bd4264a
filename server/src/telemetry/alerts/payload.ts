import { createHmac } from 'node:crypto';
import type { Webhook } from './rules';

/** What a notification says, before it is shaped for one webhook format. */
export interface Notice {
  /** `firing` (a new or repeated alert) or `resolved`. */
  kind: 'firing' | 'resolved';
  alertId: string;
  ruleId: string;
  app: string;
  env?: string;
  metric: string;
  value: number | null;
  threshold: number;
  op: string;
  /** ms since the epoch. */
  at: number;
  /** One human line, e.g. `error_rate 3.1% > 2% over 5 min (app shop, production)`. */
  text: string;
}

/** One HTTP request to make: where, and the JSON body. */
export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

const hmac = (key: string, message: string): Buffer => createHmac('sha256', key).update(message).digest();

/**
 * Shape a notice for `hook.format`, signing when the hook has a secret:
 *
 * - `slack`: `{ text, blocks }` (incoming webhook; `text` is the notification's fallback);
 * - `feishu`: `{ msg_type: 'text', content: { text } }`, signed with `timestamp` (seconds) and
 *   `sign` = base64(HMAC-SHA256 with key `timestamp + "\n" + secret` over an empty message);
 * - `dingtalk`: `{ msgtype: 'text', text: { content } }`, signed with `&timestamp=<ms>&sign=` in the
 *   URL, sign = urlencode(base64(HMAC-SHA256 with key `secret` over `timestamp + "\n" + secret`));
 * - `json`: the notice itself; with a secret, header `x-signature: sha256=<hex HMAC of the body>`
 *   and `x-signature-timestamp` (ms), the HMAC over `timestamp + "." + body`.
 */
export function webhookRequest(hook: Webhook, notice: Notice, now: number): WebhookRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  switch (hook.format) {
    case 'slack':
      return {
        url: hook.url,
        headers,
        body: JSON.stringify({
          text: notice.text,
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${notice.kind === 'firing' ? ':rotating_light:' : ':white_check_mark:'} ${notice.text}` } }],
        }),
      };
    case 'feishu': {
      const body: Record<string, unknown> = { msg_type: 'text', content: { text: notice.text } };
      if (hook.secret) {
        const timestamp = String(Math.floor(now / 1000));
        body.timestamp = timestamp;
        body.sign = hmac(`${timestamp}\n${hook.secret}`, '').toString('base64');
      }
      return { url: hook.url, headers, body: JSON.stringify(body) };
    }
    case 'dingtalk': {
      let url = hook.url;
      if (hook.secret) {
        const timestamp = String(now);
        const sign = encodeURIComponent(hmac(hook.secret, `${timestamp}\n${hook.secret}`).toString('base64'));
        url += `${url.includes('?') ? '&' : '?'}timestamp=${timestamp}&sign=${sign}`;
      }
      return { url, headers, body: JSON.stringify({ msgtype: 'text', text: { content: notice.text } }) };
    }
    case 'json': {
      const body = JSON.stringify({ type: 'alert', ...notice });
      if (hook.secret) {
        const timestamp = String(now);
        headers['x-signature-timestamp'] = timestamp;
        headers['x-signature'] = 'sha256=' + hmac(hook.secret, `${timestamp}.${body}`).toString('hex');
      }
      return { url: hook.url, headers, body };
    }
  }
}
