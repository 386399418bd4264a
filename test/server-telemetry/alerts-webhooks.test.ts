import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../server/src/logger';
import { webhookRequest, type Notice } from '../../server/src/telemetry/alerts/payload';
import { WebhookSender, type Delivery, type SenderOptions } from '../../server/src/telemetry/alerts/sender';
import { defaultLookup, isPrivateAddress, resolveTarget } from '../../server/src/telemetry/alerts/target';

interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/** A real HTTP receiver on 127.0.0.1: `answer` decides each request's reply (by its 1-based number). */
async function receiver(answer: (n: number, res: ServerResponse) => void = (_n, res) => res.end('ok')) {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      answer(got.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-token?x=1`, got };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

function logs() {
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push('info ' + m), warn: (m) => lines.push('warn ' + m), error: (m) => lines.push('error ' + m) };
  return { lines, logger };
}

const notice: Notice = {
  kind: 'firing', alertId: 'a1', ruleId: 'errors', app: 'shop', metric: 'error_rate', value: 5, threshold: 2, op: '>', at: 1_700_000_000_000,
  text: '[FIRING] errors: error_rate 5% > 2% over 5 min (app shop)',
};

function sender(over: Partial<SenderOptions> = {}, world: Partial<ConstructorParameters<typeof WebhookSender>[1]> = {}) {
  const { lines, logger } = logs();
  const deliveries: Delivery[] = [];
  const s = new WebhookSender(
    { maxPending: 10, concurrency: 2, attempts: 5, baseDelay: 20, maxDelay: 1000, timeout: 2000, allowPrivateTargets: true, ...over },
    { now: Date.now, random: () => 0, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout), lookup: defaultLookup, ...world },
    logger,
    (d) => deliveries.push(d),
  );
  senders.push(s);
  return { s, lines, deliveries };
}
const senders: WebhookSender[] = [];
afterEach(() => {
  for (const s of senders.splice(0)) s.close();
});

describe('webhook sends against a real local receiver', () => {
  it('retries a 503 with exponential backoff and jitter, logging every attempt, until delivered', async () => {
    const r = await receiver((n, res) => {
      res.statusCode = n <= 2 ? 503 : 200;
      res.end();
    });
    const { s, lines, deliveries } = sender();
    expect(s.send({ url: r.url, format: 'slack' }, notice)).toBe(true);
    await s.idle();
    expect(r.got).toHaveLength(3);
    // random() = 0: half the exponential wait (20 ms × 2^(n-1) × 0.5).
    expect(lines).toEqual([
      `warn alert webhook slack http://${new URL(r.url).host} (alert a1): attempt 1/5: 503, retrying in 10 ms`,
      `warn alert webhook slack http://${new URL(r.url).host} (alert a1): attempt 2/5: 503, retrying in 20 ms`,
      `info alert webhook slack http://${new URL(r.url).host} (alert a1): attempt 3/5: 200, delivered`,
    ]);
    expect(lines.join('\n')).not.toContain('secret-token'); // the path is a credential: never logged
    // The waits really happened (timers never fire early; a busy machine only makes them longer).
    expect(r.got[1]!.at - r.got[0]!.at).toBeGreaterThanOrEqual(9);
    expect(r.got[2]!.at - r.got[1]!.at).toBeGreaterThanOrEqual(19);
    expect(deliveries).toEqual([{ alertId: 'a1', format: 'slack', target: `http://${new URL(r.url).host}`, ok: true, attempts: 3, status: 200 }]);
    expect(JSON.parse(r.got[0]!.body)).toMatchObject({ text: notice.text, blocks: [{ type: 'section' }] });
  });

  it('gives up after `attempts`; a 4xx other than 408/429 is final at once', async () => {
    const r = await receiver((_n, res) => {
      res.statusCode = 500;
      res.end();
    });
    const { s, deliveries, lines } = sender({ attempts: 3 });
    s.send({ url: r.url, format: 'json' }, notice);
    await s.idle();
    expect(r.got).toHaveLength(3);
    expect(deliveries[0]).toMatchObject({ ok: false, attempts: 3, status: 500 });
    expect(lines.at(-1)).toMatch(/attempt 3\/3: 500, giving up$/);

    const bad = await receiver((_n, res) => {
      res.statusCode = 404;
      res.end();
    });
    s.send({ url: bad.url, format: 'json' }, notice);
    await s.idle();
    expect(bad.got).toHaveLength(1);
    expect(deliveries[1]).toMatchObject({ ok: false, attempts: 1, status: 404 });
  });

  it('aborts an attempt that takes longer than `timeout` and retries it', async () => {
    const r = await receiver((n, res) => {
      if (n === 1) return; // never answered
      res.end('ok');
    });
    const { s, deliveries, lines } = sender({ timeout: 150 });
    const started = Date.now();
    s.send({ url: r.url, format: 'json' }, notice);
    await s.idle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(lines[0]).toMatch(/attempt 1\/5: timed out after 150 ms, retrying in 10 ms$/);
    expect(deliveries[0]).toMatchObject({ ok: true, attempts: 2 });
  });

  it('honours Retry-After on 429, capped at maxDelay', async () => {
    const r = await receiver((n, res) => {
      if (n === 1) {
        res.writeHead(429, { 'retry-after': '30' });
        return res.end();
      }
      res.end();
    });
    const { s, lines } = sender({ maxDelay: 200 });
    s.send({ url: r.url, format: 'json' }, notice);
    await s.idle();
    expect(lines[0]).toMatch(/attempt 1\/5: 429, retrying in 200 ms$/);
    expect(r.got[1]!.at - r.got[0]!.at).toBeGreaterThanOrEqual(190);
  });

  it('a Feishu or DingTalk error code in a 200 answer is a failure, not retried', async () => {
    const r = await receiver((_n, res) => res.end(JSON.stringify({ code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' })));
    const { s, deliveries } = sender();
    s.send({ url: r.url, format: 'feishu', secret: 's' }, notice);
    await s.idle();
    expect(r.got).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ ok: false, status: 200, error: expect.stringContaining('feishu error 19021') });
  });

  it('holds at most maxPending sends (queued + in flight); one more is dropped and logged', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const r = await receiver((_n, res) => void gate.then(() => res.end()));
    const { s, lines } = sender({ maxPending: 3, concurrency: 1 });
    expect([1, 2, 3, 4].map(() => s.send({ url: r.url, format: 'json' }, notice))).toEqual([true, true, true, false]);
    expect(s.pending).toBe(3);
    expect(lines.at(-1)).toMatch(/dropped \(3 sends pending\)$/);
    release();
    await s.idle();
    expect(r.got).toHaveLength(3);
  });
});

describe('webhook targets (SSRF)', () => {
  it('refuses loopback and private targets unless allowPrivateTargets, before any request', async () => {
    const r = await receiver();
    const { s, deliveries, lines } = sender({ allowPrivateTargets: false });
    s.send({ url: r.url, format: 'json' }, notice);
    await s.idle();
    expect(r.got).toHaveLength(0);
    expect(deliveries[0]).toMatchObject({ ok: false, error: expect.stringContaining('private or loopback address (127.0.0.1)') });
    expect(lines).toHaveLength(1); // final: no retry
  });

  it('checks every address a host name resolves to, and connects to the checked one', async () => {
    const lookup = async (host: string) =>
      host === 'internal.example' ? [{ address: '93.184.216.34', family: 4 }, { address: '10.1.2.3', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    await expect(resolveTarget('https://internal.example/x', false, lookup)).rejects.toThrow('(10.1.2.3)');
    await expect(resolveTarget('http://user:pw@example.com/', false, lookup)).rejects.toThrow('must not carry credentials');
    await expect(resolveTarget('file:///etc/passwd', true, lookup)).rejects.toThrow('must be http(s)');
    // A name that resolves to loopback is pinned to that address: the request reaches the receiver.
    const r = await receiver();
    const { s, deliveries } = sender({ allowPrivateTargets: true }, { lookup });
    s.send({ url: r.url.replace('127.0.0.1', 'hooks.test'), format: 'json' }, notice);
    await s.idle();
    expect(deliveries[0]).toMatchObject({ ok: true });
    expect(r.got[0]!.headers.host).toMatch(/^hooks\.test:/);
  });

  it('isPrivateAddress: loopback, RFC 1918, link-local (metadata), CGNAT, IPv6 ULA and mapped IPv4', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::10.0.0.1', 'not-an-ip']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });
});

describe('webhook formats and signing', () => {
  const now = 1_700_000_000_123;

  it('feishu: msg_type text; with a secret, timestamp (s) and sign = base64(HMAC-SHA256(key "timestamp\\nsecret", ""))', () => {
    const req = webhookRequest({ url: 'https://open.feishu.cn/open-apis/bot/v2/hook/x', format: 'feishu', secret: 'sec' }, notice, now);
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({ msg_type: 'text', content: { text: notice.text }, timestamp: '1700000000' });
    expect(body.sign).toBe(createHmac('sha256', '1700000000\nsec').update('').digest('base64'));
    expect(JSON.parse(webhookRequest({ url: 'https://x/y', format: 'feishu' }, notice, now).body)).toEqual({ msg_type: 'text', content: { text: notice.text } });
  });

  it('dingtalk: msgtype text; with a secret, &timestamp=<ms>&sign=urlencode(base64(HMAC-SHA256(key secret, "timestamp\\nsecret")))', () => {
    const req = webhookRequest({ url: 'https://oapi.dingtalk.com/robot/send?access_token=t', format: 'dingtalk', secret: 'SECabc' }, notice, now);
    expect(JSON.parse(req.body)).toEqual({ msgtype: 'text', text: { content: notice.text } });
    const u = new URL(req.url);
    expect(u.searchParams.get('access_token')).toBe('t');
    expect(u.searchParams.get('timestamp')).toBe(String(now));
    expect(u.searchParams.get('sign')).toBe(createHmac('sha256', 'SECabc').update(`${now}\nSECabc`).digest('base64'));
    expect(req.url).toContain('&sign=' + encodeURIComponent(u.searchParams.get('sign')!));
  });

  it('json: the notice; with a secret, x-signature = sha256=<hex HMAC of "timestamp.body">', () => {
    const req = webhookRequest({ url: 'https://x/y', format: 'json', secret: 'k' }, notice, now);
    expect(JSON.parse(req.body)).toEqual({ type: 'alert', ...notice });
    expect(req.headers['x-signature-timestamp']).toBe(String(now));
    expect(req.headers['x-signature']).toBe('sha256=' + createHmac('sha256', 'k').update(`${now}.${req.body}`).digest('hex'));
  });

  it('a signed DingTalk send arrives with its timestamp and sign in the query', async () => {
    const r = await receiver((_n, res) => res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' })));
    const { s, deliveries } = sender();
    s.send({ url: r.url, format: 'dingtalk', secret: 'S' }, notice);
    await s.idle();
    const q = new URL(r.got[0]!.url, 'http://x').searchParams;
    expect(q.get('x')).toBe('1');
    expect(q.get('sign')).toBe(createHmac('sha256', 'S').update(`${q.get('timestamp')}\nS`).digest('base64'));
    expect(deliveries[0]).toMatchObject({ ok: true });
  });
});
