import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Content type for a file name (by extension). */
export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Stream one file; resolves `false` when it does not exist (or is not a file). */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<boolean> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) return false;
    size = s.size;
  } catch {
    return false;
  }
  res.writeHead(200, {
    'content-type': contentType(file),
    'content-length': String(size),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).on('error', () => res.destroy()).pipe(res);
  return true;
}

/**
 * Serve `GET`/`HEAD` requests from the directory `root` (`/` → `index.html`). Paths are confined to
 * `root` (after resolving symbolic links), and nothing whose path has a segment starting with `.`
 * is ever served (`.env`, `.git/config`, also when percent-encoded). Resolves `false` when no file
 * matched, so the caller can answer 404.
 */
export async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  if (rel.includes('\0') || rel.includes('\\')) return false;
  if (rel.split('/').some((segment) => segment.startsWith('.'))) return false;
  let base: string;
  try {
    base = await realpath(resolve(root));
  } catch {
    return false;
  }
  let file = resolve(join(base, rel));
  if (file !== base && !file.startsWith(base + sep)) return false;
  if (rel.endsWith('/')) file = join(file, 'index.html');
  for (const candidate of [file, join(file, 'index.html')]) {
    const real = await realpath(candidate).catch(() => undefined);
    // A symbolic link inside the root must not lead out of it, nor to a dotfile inside it.
    if (real === undefined || (real !== base && !real.startsWith(base + sep))) continue;
    if (relative(base, real).split(sep).some((segment) => segment.startsWith('.'))) continue;
    if (await sendFile(req, res, real)) return true;
  }
  return false;
}
