import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { onCleanup } from '../support/harness';
import { limitKey } from '../../server/src/http-util';
import { API_KEY, cleanup, notify, sleep, startServer } from './helpers';

afterEach(cleanup);

/** Send raw bytes over TCP and collect the answer until the server closes (or `ms` pass: then hang up). */
async function rawHttp(port: number, text: string, ms = 3000): Promise<{ text: string; closed: boolean }> {
  const socket: Socket = tcpConnect(port, '127.0.0.1');
  onCleanup(() => socket.destroy());
  let got = '';
  socket.on('data', (d) => (got += d.toString('latin1')));
  socket.write(text);
  const closed = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => {
      resolve(false);
      socket.destroy();
    }, ms);
    socket.on('close', () => {
      clearTimeout(t);
      resolve(true);
    });
    socket.on('error', () => {});
  });
  return { text: got, closed };
}

/** A logger that records every line, by level. */
function recordingLogger() {
  const lines: Array<{ level: string; text: string }> = [];
  const at = (level: string) => (m: string, ...rest: unknown[]) => lines.push({ level, text: [m, ...rest.map(String)].join(' ') });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('/notify input', () => {
  it('refuses data nested 20,000 levels deep with 400 naming the field, never 500', async () => {
    const { lines, logger } = recordingLogger();
    const server = await startServer({ logger });
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const res = await notify(server, `{"appId":"shop","eventTopics":["t"],"data":${deep}}`);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toMatch(/^data\.0\.0/);
    const ok = await notify(server, { appId: 'shop', eventTopics: ['t'], data: { a: [[1]] } });
    expect(ok.status).toBe(200);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('answers a wrong per-app key with 401 before reading the body, even while the body stalls', async () => {
    const server = await startServer({ apiKey: { shop: 'shop-key', forum: 'forum-key' } });
    const { text } = await rawHttp(
      server.port,
      'POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\n' +
        'Content-Length: 1000000\r\n\r\n{"appId":"shop",',
      1000,
    );
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    // The key of another app is known but not the key of the body's app.
    const cross = await notify(server, { appId: 'shop', eventTopics: ['t'], data: 1 }, 'forum-key');
    expect(cross.status).toBe(401);
    expect((await notify(server, { appId: 'shop', eventTopics: ['t'], data: 1 }, 'shop-key')).status).toBe(200);
  });

  it('rate-limits failed authentication per address with 429 and Retry-After, checked before the key', async () => {
    const server = await startServer({ authFailureLimit: { failures: 3, per: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await notify(server, { appId: 'shop', eventTopics: ['t'], data: 1 }, 'guess' + i)).status).toBe(401);
    const limited = await notify(server, { appId: 'shop', eventTopics: ['t'], data: 1 }, API_KEY);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error.code).toBe('rate_limited');
  });
});

describe('logging', () => {
  it('logs the path without its query string, and a client abort not as an error', async () => {
    const { lines, logger } = recordingLogger();
    const server = await startServer({ logger, methods: {} });
    // A body that stops mid-way, then the client goes away.
    await rawHttp(
      server.port,
      'POST /notify?token=SECRET-TOKEN HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' + API_KEY + '\r\nContent-Length: 100\r\n\r\n{"a"',
      300,
    );
    await sleep(100);
    expect(lines.map((l) => l.text).join('\n')).not.toContain('SECRET-TOKEN');
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe('request targets and timeouts', () => {
  it('answers an invalid request target with 400, not 500', async () => {
    const { lines, logger } = recordingLogger();
    const server = await startServer({ logger });
    const { text } = await rawHttp(server.port, 'GET http://[::1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 400/);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('closes a connection whose headers do not arrive within httpTimeouts.headers', async () => {
    const server = await startServer({ httpTimeouts: { headers: 200, request: 400 } });
    const started = Date.now();
    const { closed, text } = await rawHttp(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 5000);
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 408|^$/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('names a bad httpTimeouts option', async () => {
    await expect(startServer({ httpTimeouts: { headers: 5000, request: 1000 } })).rejects.toThrow(/httpTimeouts\.headers/);
  });
});

describe('static files', () => {
  it('never serves dotfiles, dot-folders or links out of the root', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rt-static-'));
    const outside = mkdtempSync(join(tmpdir(), 'rt-outside-'));
    writeFileSync(join(root, 'index.html'), 'home');
    writeFileSync(join(root, '.env'), 'SECRET=1');
    mkdirSync(join(root, '.git'));
    writeFileSync(join(root, '.git', 'config'), 'secret');
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'assets', 'app.js'), 'ok');
    writeFileSync(join(outside, 'passwd'), 'secret');
    symlinkSync(join(outside, 'passwd'), join(root, 'assets', 'link.txt'));
    symlinkSync(join(root, '.env'), join(root, 'assets', 'env.txt'));
    const server = await startServer({ serveStatic: root });
    const get = async (path: string) => (await rawHttp(server.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).text;
    expect(await get('/')).toMatch(/^HTTP\/1\.1 200[^]*home$/);
    expect(await get('/assets/app.js')).toMatch(/^HTTP\/1\.1 200/);
    for (const path of ['/.env', '/.git/config', '/%2eenv', '/%2Egit/config', '/assets/..%2f.env', '/assets/%2e%2e/.env', '/assets/link.txt', '/assets/env.txt', '/assets%5c..%5c.env']) {
      const answer = await get(path);
      expect(answer, path).toMatch(/^HTTP\/1\.1 404/);
      expect(answer, path).not.toContain('SECRET');
      expect(answer, path).not.toContain('secret');
    }
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/notify`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });

  it('sends no CORS headers on /notify outside dev mode unless origins are configured', async () => {
    const server = await startServer();
    const res = await preflight(server.httpUrl, 'http://evil.test');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-headers')).toBeNull();
    const post = await fetch(`${server.httpUrl}/notify`, { method: 'POST', headers: { origin: 'http://evil.test' }, body: '{}' });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('echoes only a configured origin, with Vary: Origin', async () => {
    const server = await startServer({ corsOrigins: ['https://admin.example'] });
    const ok = await preflight(server.httpUrl, 'https://admin.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://admin.example');
    expect(ok.headers.get('vary')).toMatch(/Origin/);
    const other = await preflight(server.httpUrl, 'https://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('hostile HTTP input', () => {
  const raw = (port: number, text: string, ms?: number) => rawHttp(port, text, ms);

  it('bounds nesting in every JSON body, /dev/token included', async () => {
    const server = await startServer({ dev: true });
    const deep = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    const res = await fetch(`${server.httpUrl}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"app":"shop","user":"u","x":${deep}}` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toMatch(/^x\.a\.a/);
  });

  it('closes the connection instead of reading the rest of a body it refused', async () => {
    const server = await startServer();
    const started = Date.now();
    const { text, closed } = await raw(
      server.port,
      'POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 1000000\r\n\r\n{"appId":',
      2000,
    );
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
    // Same for a chunked body bigger than maxBodyBytes.
    const small = await startServer({ maxBodyBytes: 100 });
    const chunk = 'x'.repeat(200);
    const big = await raw(
      small.port,
      `POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`,
      2000,
    );
    expect(big.text).toMatch(/^HTTP\/1\.1 413/);
    expect(big.closed).toBe(true);
  });

  it('does not count a client that went away as a 500, nor log it as an error', async () => {
    const { lines, logger } = recordingLogger();
    const server = await startServer({ logger });
    await raw(server.port, `POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Length: 100\r\n\r\n{"a"`, 200);
    await sleep(100);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/status="500"/);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('refuses huge headers and very long URLs with 431, never 500', async () => {
    const { lines, logger } = recordingLogger();
    const server = await startServer({ logger });
    const header = await raw(server.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect(header.text).toMatch(/^HTTP\/1\.1 431/);
    const url = await raw(server.port, `GET /healthz?${'a'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(url.text).toMatch(/^HTTP\/1\.1 431/);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('uses the first of repeated Authorization headers, never a later one', async () => {
    const server = await startServer();
    const body = JSON.stringify({ appId: 'shop', eventTopics: ['t'], data: 1 });
    const send = (first: string, second: string) =>
      raw(
        server.port,
        `POST /notify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${first}\r\nAuthorization: Bearer ${second}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    expect((await send('wrong', API_KEY)).text).toMatch(/^HTTP\/1\.1 401/);
    expect((await send(API_KEY, 'wrong')).text).toMatch(/^HTTP\/1\.1 200/);
  });

  it('answers other methods with 405 and Allow, HEAD without a body', async () => {
    const server = await startServer();
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${server.httpUrl}/notify`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow'), method).toBe('POST');
    }
    const head = await raw(server.port, 'HEAD /notify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head.text).toMatch(/^HTTP\/1\.1 405/);
    expect(head.text.split('\r\n\r\n')[1]).toBe('');
    const healthz = await raw(server.port, 'HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(healthz.text).toMatch(/^HTTP\/1\.1 200/);
    expect(healthz.text.split('\r\n\r\n')[1]).toBe('');
  });

  it('ignores a body on GET and keeps serving the connection', async () => {
    const server = await startServer();
    const { text } = await raw(
      server.port,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' + 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
  });

  it('does not take a leading // of the path for a host name', async () => {
    const server = await startServer();
    // `new URL('//evil/metrics', base)` is `/metrics` of host `evil`: a proxy rule for /metrics would miss it.
    const { text } = await raw(server.port, 'GET //evil/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 404/);
  });

  it('marks JSON answers nosniff', async () => {
    const server = await startServer();
    const res = await fetch(`${server.httpUrl}/nothing`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('has no /dev/token, nor CORS for it, outside dev mode', async () => {
    const server = await startServer({ corsOrigins: ['https://admin.example'] });
    const pre = await fetch(`${server.httpUrl}/dev/token`, {
      method: 'OPTIONS',
      headers: { origin: 'https://admin.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.status).toBe(404);
    const post = await fetch(`${server.httpUrl}/dev/token`, { method: 'POST', body: '{"app":"shop","user":"u"}' });
    expect(post.status).toBe(404);
  });

  it('keeps WebSocket connections open past httpTimeouts.request', async () => {
    const server = await startServer({ httpTimeouts: { headers: 100, request: 200, keepAlive: 100 } });
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(server.url);
    onCleanup(() => ws.terminate());
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    let closed = false;
    ws.on('close', () => (closed = true));
    await sleep(800);
    expect(closed).toBe(false);
  });
});

describe('per-address limits', () => {
  it('count an IPv6 host by its /64 and an IPv4-mapped address as IPv4', () => {
    expect(limitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(limitKey('2001:0db8:0000:0000:ffff:1:2:3')).toBe('2001:db8:0:0::/64');
    expect(limitKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(limitKey('::1')).toBe('0:0:0:0::/64');
    expect(limitKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(limitKey('64:ff9b::1.2.3.4')).toBe('64:ff9b:0:0::/64');
    expect(limitKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(limitKey('10.0.0.1')).toBe('10.0.0.1');
    expect(limitKey('unknown')).toBe('unknown');
  });

  it('share the /notify failure budget across one IPv6 /64', async () => {
    const server = await startServer({ trustProxy: true, authFailureLimit: { failures: 2, per: 60_000 } });
    const attempt = async (ip: string, key = 'guess') => {
      const res = await fetch(`${server.httpUrl}/notify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': ip, 'content-type': 'application/json' },
        body: JSON.stringify({ appId: 'shop', eventTopics: ['t'], data: 1 }),
      });
      await res.text();
      return res.status;
    };
    expect(await attempt('2001:db8::1')).toBe(401);
    expect(await attempt('2001:db8::2')).toBe(401);
    expect(await attempt('2001:db8::ffff:3', API_KEY)).toBe(429);
    expect(await attempt('2001:db8:0:1::1', API_KEY)).toBe(200);
    // A forged header of 16 KiB is cut to 64 characters before it keys anything.
    expect(await attempt('x'.repeat(16_000))).toBe(401);
  });
});

describe('slow clients', () => {
  /** Write `text` a few bytes at a time, every `gap` ms; resolves whether the server closed the socket. */
  async function trickle(port: number, text: string, gap: number, ms: number): Promise<{ closed: boolean; after: number; got: string }> {
    const socket: Socket = tcpConnect(port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    const started = Date.now();
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', () => {});
    let i = 0;
    const timer = setInterval(() => {
      if (i < text.length && !socket.destroyed) socket.write(text.slice(i, (i += 2)));
    }, gap);
    onCleanup(() => clearInterval(timer));
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      socket.on('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    clearInterval(timer);
    return { closed, after: Date.now() - started, got };
  }

  it('closes a client that trickles its headers past httpTimeouts.headers, though every byte is on time', async () => {
    const server = await startServer({ httpTimeouts: { headers: 300, request: 600 } });
    const headers = 'GET /healthz HTTP/1.1\r\nHost: x\r\n' + 'X-Pad: ' + 'a'.repeat(400) + '\r\n\r\n';
    const { closed, after, got } = await trickle(server.port, headers, 20, 4000);
    expect(closed).toBe(true);
    expect(after).toBeLessThan(3000);
    expect(got).not.toMatch(/200 OK/);
  });

  it('closes a client that trickles its body past httpTimeouts.request', async () => {
    const server = await startServer({ httpTimeouts: { headers: 200, request: 500 } });
    const head = `POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Length: 2000\r\n\r\n`;
    const { closed, after } = await trickle(server.port, head + '{"appId":' + ' '.repeat(1990), 5, 5000);
    expect(closed).toBe(true);
    expect(after).toBeLessThan(4000);
  });
});
