// npm run bench: every benchmark in bench/, one after another (each bounded, loopback only).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
for (const script of ['recv.mjs']) {
  const { status } = spawnSync(process.execPath, [here(script)], { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}
