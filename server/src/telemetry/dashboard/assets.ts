import { besideMain } from '../../package-file';

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
