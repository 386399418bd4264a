import { afterAll, beforeAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedisServer } from '../../scripts/local-cluster.mjs';

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

/**
 * Start `redis-server` on a free port. `persist: true` keeps an RDB file (written by SAVE) across
 * `kill()`/`start()`, so a restart reloads data under a new run id, like a failover would.
 */
export async function startRedis(options: { persist?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'sdkrt-redis-'));
  // No automatic snapshots either way; with `persist`, a SAVE the test sends is loaded on start.
  const dbfilename = options.persist ? 'dump.rdb' : 'never-saved.rdb';
  let running: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  const start = async () => {
    running = await startRedisServer({ port, dir, dbfilename });
  };
  const kill = async () => {
    const r = running;
    running = undefined;
    await r?.kill();
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

/** One `redis-server` for the whole test file: started before its tests, stopped after them. */
export function redisForFile(): () => TestRedis {
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return () => {
    if (!redis) throw new Error('redis-server is not started (redisForFile() runs in beforeAll)');
    return redis;
  };
}
