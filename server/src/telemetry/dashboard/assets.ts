import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { clientBundlePath } from '../../demo';

/** A file of the installed uPlot package (a dependency of this one), or `undefined` when missing. */
function uplotFile(name: string): string | undefined {
  try {
    // `require` resolves uPlot's CommonJS entry (dist/uPlot.cjs.js); the browser builds sit beside it.
    const file = join(dirname(createRequire(import.meta.url).resolve('uplot')), name);
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

/** The files `/dashboard/…` serves from installed packages, by path; resolved once, on first use. */
let files: Record<string, string | undefined> | undefined;
export function dashboardFiles(): Readonly<Record<string, string | undefined>> {
  return (files ??= {
    '/dashboard/uplot.js': uplotFile('uPlot.iife.min.js'),
    '/dashboard/uplot.css': uplotFile('uPlot.min.css'),
    '/dashboard/sdk-realtime.js': clientBundlePath('index.js'),
    '/dashboard/sdk-realtime-load-ws.js': clientBundlePath('load-ws.browser.js'),
  });
}
