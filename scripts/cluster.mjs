#!/usr/bin/env node
// npm run start:cluster — a two-node cluster on this machine, for trying the Redis broker:
// a redis-server (started here on a free port unless SDK_REALTIME_REDIS_URL is set), two
// development-mode server processes on 8081 and 8082, and a round-robin TCP balancer on 8080 in
// front of them (no sticky sessions, like a real load balancer). Open http://127.0.0.1:8080, kill
// one node (its pid is printed) and watch the page reconnect to the other and recover.
//
// Loopback only. Ctrl-C stops everything. Needs `redis-server` on PATH (apt-get install redis-server)
// and a build (`npm run build`; `npm run start:cluster` builds first).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));
const PORTS = [8081, 8082];
const FRONT = 8080;
const children = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start(cmd, args, name) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  child.stdout.on('data', (d) => process.stdout.write(String(d).replace(/^(?=.)/gm, `[${name}] `)));
  child.on('error', (e) => {
    console.error(`[${name}] cannot start ${cmd}: ${e.message}`);
    stop(1);
  });
  return child;
}

function waitFor(child, text) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => (out += d).includes(text) && resolve());
    child.once('exit', (code) => reject(new Error(`exited with ${code} before "${text}"`)));
  });
}

function stop(code = 0) {
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
}

/** Each new connection goes to the next live node in turn. */
function balancer(ports) {
  let next = 0;
  return net.createServer((client) => {
    client.pause();
    const attempt = (tries) => {
      if (tries >= ports.length) return client.destroy();
      const port = ports[next++ % ports.length];
      const upstream = net.connect(port, '127.0.0.1');
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      upstream.on('error', () => (connected ? client.destroy() : attempt(tries + 1)));
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    attempt(0);
  });
}

process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());

let redisUrl = process.env.SDK_REALTIME_REDIS_URL;
if (!redisUrl) {
  const port = await freePort();
  const redis = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 'redis');
  await waitFor(redis, 'Ready to accept connections');
  redisUrl = `redis://127.0.0.1:${port}`;
}
// One secret and one API key for every node: a token from one is valid on the other.
const secret = process.env.SDK_REALTIME_JWT_SECRET ?? 'local-cluster-secret-0123456789abcdef';
const nodes = PORTS.map((port, i) => {
  const args = [CLI, 'serve', '--dev', '--port', String(port), '--redis', redisUrl, '--jwt-secret', secret];
  const child = start(process.execPath, args, `node ${i + 1}`);
  return { port, child };
});
await Promise.all(nodes.map((n) => waitFor(n.child, 'listening')));
await new Promise((resolve) => balancer(PORTS).listen(FRONT, '127.0.0.1', resolve));
console.log(`
Two nodes on ${redisUrl}:
  node 1: http://127.0.0.1:${PORTS[0]}  (pid ${nodes[0].child.pid})
  node 2: http://127.0.0.1:${PORTS[1]}  (pid ${nodes[1].child.pid})
  balancer: http://127.0.0.1:${FRONT}  (demo page; WebSocket ws://127.0.0.1:${FRONT}/ws)
Try: POST /notify to one node, watch the page on the other; kill -9 a node's pid.
Ctrl-C stops everything.`);
