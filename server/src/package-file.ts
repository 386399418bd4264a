import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * A file beside the CommonJS entry of an installed package (`uplot`, `sdk-realtime`: dependencies
 * of this one), or `undefined` when the package or the file is missing. The ES module build makes
 * a `require` from its own URL; the CommonJS build has one (esbuild empties `import.meta` there).
 */
export function besideMain(pkg: string, name: string): string | undefined {
  try {
    const url = (import.meta as { url?: string }).url;
    const req = url ? createRequire(url) : require;
    const file = join(dirname(req.resolve(pkg)), name);
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}
