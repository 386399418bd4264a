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
import { fileURLToPath } from 'node:url';
import { startBalancer, startRedisServer } from './local-cluster.mjs';

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));
const PORTS = [8081, 8082];
const FRONT = 8080;
const children = [];

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

process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());

let redisUrl = process.env.SDK_REALTIME_REDIS_URL;
if (!redisUrl) {
  const redis = await startRedisServer().catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
  children.push(redis.process);
  redisUrl = redis.url;
}
// One secret and one API key for every node: a token from one is valid on the other.
const secret = process.env.SDK_REALTIME_JWT_SECRET ?? 'local-cluster-secret-0123456789abcdef';
const nodes = PORTS.map((port, i) => {
  const args = [CLI, 'serve', '--dev', '--port', String(port), '--redis', redisUrl, '--jwt-secret', secret];
  const child = start(process.execPath, args, `node ${i + 1}`);
  return { port, child };
});
await Promise.all(nodes.map((n) => waitFor(n.child, 'listening')));
await startBalancer(() => PORTS, FRONT);
console.log(`
Two nodes on ${redisUrl}:
  node 1: http://127.0.0.1:${PORTS[0]}  (pid ${nodes[0].child.pid})
  node 2: http://127.0.0.1:${PORTS[1]}  (pid ${nodes[1].child.pid})
  balancer: http://127.0.0.1:${FRONT}  (demo page; WebSocket ws://127.0.0.1:${FRONT}/ws)
Try: POST /notify to one node, watch the page on the other; kill -9 a node's pid.
Ctrl-C stops everything.`);
