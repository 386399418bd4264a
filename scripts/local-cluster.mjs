// Pieces of a cluster on this machine, shared by `npm run start:cluster`, the benchmarks and the
// multi-node tests: a throwaway redis-server and a round-robin TCP balancer. Loopback only.
import { spawn } from 'node:child_process';
import net from 'node:net';

/** A free TCP port on 127.0.0.1 (free when asked; bind soon after). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start `redis-server` on a free port (or `port`), no automatic snapshots, no AOF; `dir` and
 * `dbfilename` say where a SAVE goes (and what a restart loads). Resolves once it accepts
 * connections; `kill()` is SIGKILL (a crash) and resolves when the process is gone.
 */
export async function startRedisServer({ port, dir, dbfilename = 'never-saved.rdb', bin = process.env.REDIS_SERVER ?? 'redis-server' } = {}) {
  const p = port ?? (await freePort());
  const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dbfilename', dbfilename];
  if (dir) args.push('--dir', dir);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${bin} (apt-get install redis-server): ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`));
    });
  });
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    process: child,
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/**
 * A TCP balancer: each new connection goes to the next of `ports()` in turn, skipping ones that
 * refuse it. No stickiness, as a cluster needs none. Listening on `port` (0: any) of 127.0.0.1.
 */
export async function startBalancer(ports, port = 0) {
  let next = 0;
  const sockets = new Set();
  const track = (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    track(client);
    client.pause();
    const targets = ports();
    const attempt = (tries) => {
      if (tries >= targets.length) return client.destroy();
      const upstream = net.connect(targets[next++ % targets.length], '127.0.0.1');
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        track(upstream);
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
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = server.address().port;
  return {
    port: bound,
    url: `ws://127.0.0.1:${bound}/ws`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
