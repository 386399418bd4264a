// A throwaway PostgreSQL server on this machine, shared by the telemetry store tests
// (test/support/postgres.ts) and bench/telemetry-ingest.mjs: Debian's server binaries, a temp data
// dir, trust authentication on 127.0.0.1 only, fsync off. Loopback only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './local-cluster.mjs';

/** The directory of `initdb` and `postgres`: `PG_BIN`, else the newest /usr/lib/postgresql/<v>/bin. */
export function findPostgres() {
  if (process.env.PG_BIN) return existsSync(join(process.env.PG_BIN, 'initdb')) ? process.env.PG_BIN : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return undefined;
}

// PostgreSQL refuses to run as root: then the data dir belongs to the `postgres` user and both
// initdb and the server run as that user.
const asPostgres = (cmd, args) => (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);

/**
 * Start PostgreSQL on a free port; resolves once it accepts connections. `stop()` shuts it down
 * (fast shutdown, SIGKILL after 5 s) and deletes its data dir.
 */
export async function startPostgresServer({ settings = {} } = {}) {
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
  const conf = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', ...settings };
  const [cmd, args] = asPostgres(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir,
    ...Object.entries(conf).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d.toString()).slice(-4000)));
  await new Promise((resolve, reject) => {
    const fail = (why) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`${why}:\n${log}`));
    };
    const timer = setTimeout(() => fail('postgres did not start in 15 s'), 15_000);
    child.once('exit', (code) => fail(`postgres exited with ${code}`));
    const poll = setInterval(() => {
      if (!/ready to accept connections/.test(log)) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    }, 50);
  });
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
