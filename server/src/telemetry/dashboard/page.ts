import { createHash } from 'node:crypto';

/** The client's package-private `#load-ws` import, resolved the way a bundler would for browsers. */
const IMPORT_MAP = '{ "imports": { "#load-ws": "/dashboard/sdk-realtime-load-ws.js" } }';

/** The Content-Security-Policy of the page: its own files only, the import map by hash, no frames. */
export const dashboardCsp = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** `GET /dashboard`: the shell only (no data: that comes from the aggregates API with the key). */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sdk-realtime telemetry</title>
<link rel="stylesheet" href="/dashboard/uplot.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 12px 16px; color: #1f2937; background: #f8fafc; }
  h1 { font-size: 19px; margin: 0 8px 0 0; display: inline-block; }
  header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 14px; margin-bottom: 10px; }
  label { font-size: 13px; color: #475569; }
  select, input, button { font: inherit; padding: 2px 6px; }
  #status { font-size: 12px; color: #475569; }
  #status.bad { color: #b91c1c; font-weight: 600; }
  #live { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #e2e8f0; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; }
  section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 8px 10px; min-width: 0; }
  h2 { font-size: 14px; margin: 0 0 6px; }
  .latest { font-size: 12px; color: #334155; margin-top: 4px; }
  #tiles { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; }
  .tile { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 6px 12px; min-width: 110px; }
  .tile b { display: block; font-size: 18px; }
  .tile span { font-size: 12px; color: #64748b; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #f1f5f9; overflow-wrap: anywhere; }
  th { color: #475569; font-weight: 600; }
  .wide { grid-column: 1 / -1; }
</style>
</head>
<body>
<header>
  <h1>Telemetry</h1>
  <label>App <select id="app"></select></label>
  <label>Environment <select id="env"></select></label>
  <label>Release <select id="release"></select></label>
  <label>Range <select id="range">
    <option value="1h">last hour</option>
    <option value="24h" selected>last 24 hours</option>
    <option value="7d">last 7 days</option>
    <option value="30d">last 30 days</option>
  </select></label>
  <span id="live">connecting…</span>
  <span id="status"></span>
  <form id="keyForm" autocomplete="off">
    <input id="key" type="password" placeholder="API key or token" size="18" aria-label="API key or token">
    <button>Use</button> <span id="keyState"></span>
  </form>
</header>
<div id="tiles"></div>
<div class="grid">
  <section id="traffic"><h2>Views and users</h2></section>
  <section id="latency"><h2>API latency (percentiles, weighted by requests)</h2></section>
  <section id="realtime"><h2>Realtime health</h2></section>
  <section><h2>Recent alerts</h2><table id="alerts"></table></section>
  <section class="wide"><h2>Top errors</h2><table id="errors"></table></section>
  <section class="wide"><h2>Web Vitals (p75 per page)</h2><table id="vitals"></table></section>
</div>
<script src="/dashboard/uplot.js"></script>
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>
`;
