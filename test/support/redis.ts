import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real `redis-server` on 127.0.0.1 for one test file (apt-get install redis-server; .ci/run does). */
export interface TestRedis {
  port: number;
  url: string;
  /** Stop it (SIGKILL: what a crash looks like to clients). */
  kill(): Promise<void>;
  /** Start it again on the same port, with whatever its data dir holds (nothing unless `persist`). */
  start(): Promise<void>;
  /** Stop for good and delete its data dir. */
  stop(): Promise<void>;
}

const REDIS = process.env.REDIS_SERVER ?? 'redis-server';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start `redis-server` on a free port. `persist: true` keeps an RDB file (written by SAVE) across
 * `kill()`/`start()`, so a restart reloads data under a new run id, like a failover would.
 */
export async function startRedis(options: { persist?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'sdkrt-redis-'));
  let proc: ChildProcess | undefined;
  const start = async () => {
    // No automatic snapshots either way; with `persist`, a SAVE the test sends is loaded on start.
    const dbfile = options.persist ? 'dump.rdb' : 'never-saved.rdb';
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', dbfile];
    const child = spawn(REDIS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${REDIS} (apt-get install redis-server): ${e.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`));
      });
    });
  };
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
