import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * A file beside the CommonJS entry of an installed package (`uplot`, `sdk-realtime`: dependencies of
 * this one), or `undefined` when missing. The ES module build makes a `require` from its own URL;
 * the CommonJS build has one.
 */
function besideMain(pkg: string, name: string): string | undefined {
  try {
    // `import.meta.url` is set in ES modules only (esbuild empties `import.meta` in CommonJS).
    const url = (import.meta as { url?: string }).url;
    const req = url ? createRequire(url) : require;
    const file = join(dirname(req.resolve(pkg)), name);
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

/** The files `/dashboard/…` serves from installed packages, by path; resolved once, on first use. */
let files: Record<string, string | undefined> | undefined;
export function dashboardFiles(): Readonly<Record<string, string | undefined>> {
  return (files ??= {
    // uPlot's browser build (an IIFE defining `uPlot`) and its stylesheet, beside dist/uPlot.cjs.js.
    '/dashboard/uplot.js': besideMain('uplot', 'uPlot.iife.min.js'),
    '/dashboard/uplot.css': besideMain('uplot', 'uPlot.min.css'),
    // The client module and its browser `#load-ws`, beside dist/index.cjs (as the demo page serves them).
    '/dashboard/sdk-realtime.js': besideMain('sdk-realtime', 'index.js'),
    '/dashboard/sdk-realtime-load-ws.js': besideMain('sdk-realtime', 'load-ws.browser.js'),
  });
}
