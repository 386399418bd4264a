import { afterAll, beforeAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/local-cluster.mjs';

/** A real PostgreSQL server on 127.0.0.1 for one test file (Debian's `postgresql`; .ci/run installs it). */
export interface TestPostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  url: string;
  stop(): Promise<void>;
}

/** The directory of `initdb` and `postgres`: `PG_BIN`, else the newest /usr/lib/postgresql/<v>/bin. */
export function findPostgres(): string | undefined {
  if (process.env.PG_BIN) return existsSync(join(process.env.PG_BIN, 'initdb')) ? process.env.PG_BIN : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return undefined;
}

/** Under CI a missing PostgreSQL fails the file; elsewhere its tests are skipped with a note. */
export function postgresRequired(): boolean {
  const ci = process.env.CI;
  return !!ci && ci !== '0' && ci !== 'false';
}

/**
 * PostgreSQL refuses to run as root: when we are root, the data dir is handed to the `postgres`
 * user and both `initdb` and the server run as that user (`runuser`).
 */
const asPostgres = (cmd: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];

export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgres();
  if (!bin) throw new Error('PostgreSQL not found (apt-get install postgresql, or set PG_BIN)');
  const dir = await mkdtemp(join(tmpdir(), 'sdkrt-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    await chmod(dir, 0o755);
    spawnSync('chown', ['postgres:postgres', dir]);
  }
  const [initCmd, initArgs] = asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const [cmd, args] = asPostgres(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`postgres did not start in 15 s:\n${log}`)), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`postgres exited with ${code}:\n${log}`));
    });
    const poll = setInterval(() => {
      if (/ready to accept connections/.test(log)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
  });
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        // SIGINT: "fast shutdown", no checkpoint wait beyond what is needed.
        child.kill('SIGINT');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One PostgreSQL server for the whole test file, or `undefined` from the getter when PostgreSQL is
 * not installed outside CI (the caller skips). Under CI, a missing PostgreSQL fails beforeAll.
 */
export function postgresForFile(): () => TestPostgres | undefined {
  let pg: TestPostgres | undefined;
  const available = findPostgres() !== undefined;
  beforeAll(async () => {
    if (!available && !postgresRequired()) return;
    pg = await startPostgres();
  }, 30_000);
  afterAll(async () => {
    await pg?.stop();
  });
  return () => pg;
}

export const postgresAvailable = (): boolean => findPostgres() !== undefined || postgresRequired();
