/**
 * The dashboard's browser script, served as `/dashboard/app.js` (an ES module). Plain JavaScript in
 * a string, like the demo page, so the package ships it without a browser build; written without
 * template literals so it nests in this one. Everything it reads from the server is put on the page
 * with `textContent` (error messages are written by whoever sends telemetry).
 */
export const dashboardScript = String.raw`
import { createClient } from '/dashboard/sdk-realtime.js';

const $ = (id) => document.getElementById(id);
const KEY = 'sdk-realtime-dashboard-key';
const RANGES = { '1h': [3600e3, 'minute'], '24h': [86400e3, 'hour'], '7d': [7 * 86400e3, 'hour'], '30d': [30 * 86400e3, 'day'] };
const config = await (await fetch('/dashboard/config.json', { cache: 'no-store' })).json();

const credential = () => sessionStorage.getItem(KEY) || '';
const isJwt = (s) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(s);
const authHeaders = () => (credential() ? { authorization: 'Bearer ' + credential() } : {});

// ---- The fetch layer: the one place that knows the aggregates API (GET <path>?app=&kind=&…). ----
export const aggregates = {
  path: config.aggregatesPath,
  requests: [],
  async get(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const url = this.path + '?' + q.toString();
    this.requests.push(url);
    if (this.requests.length > 50) this.requests.shift();
    const res = await fetch(url, { headers: authHeaders(), cache: 'no-store' });
    if (res.status === 401 || res.status === 403) throw Object.assign(new Error('the aggregates API wants an API key or token (HTTP ' + res.status + ')'), { auth: true });
    if (!res.ok) throw new Error('aggregates: HTTP ' + res.status);
    return res.json();
  },
  /** { apps, envs, releases } */
  dimensions(app) {
    return this.get({ kind: 'dimensions', app });
  },
  /** Rows of traffic | stay | api | errors | vitals | realtime. */
  async rows(kind, f) {
    return (await this.get({ kind, app: f.app, env: f.env, release: f.release, from: f.from, to: f.to, granularity: f.granularity })).rows || [];
  },
  /** WindowSummary (minute buckets: at most the last 24 h are asked for). */
  async summary(f) {
    return (await this.get({ kind: 'summary', app: f.app, env: f.env, release: f.release, from: Math.max(f.from, f.to - 86400e3), to: f.to })).summary;
  },
};
window.__dashboard = { aggregates, refreshes: 0 };

const status = (text, bad) => {
  $('status').textContent = text;
  $('status').className = bad ? 'bad' : '';
};

function filters() {
  const [span, granularity] = RANGES[$('range').value] || RANGES['24h'];
  const to = Date.now();
  return { app: $('app').value, env: $('env').value || undefined, release: $('release').value || undefined, from: to - span, to, granularity };
}

function fillSelect(el, values, keep, any) {
  const current = keep ? el.value : '';
  el.replaceChildren();
  if (any) el.append(new Option(any, ''));
  for (const v of values) el.append(new Option(v, v));
  if ([...el.options].some((o) => o.value === current)) el.value = current;
}

// ---- Charts (uPlot). ----
const charts = new Map();
const fmt = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Math.round(v * 100) / 100);

// The x axis spans the chosen range (seconds), not just the buckets that have data: one bucket
// alone would otherwise stretch the axis over years.
function chart(id, labels, columns, scales, range) {
  const el = $(id);
  charts.get(id)?.destroy();
  const colors = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c'];
  const opts = {
    width: Math.max(300, el.clientWidth - 8),
    height: 200,
    legend: { live: true },
    scales: { x: range ? { time: true, range: () => [range.from / 1000, range.to / 1000] } : { time: true } },
    axes: [{}, { size: 60 }].concat(scales && scales.right ? [{ side: 1, scale: 'right', grid: { show: false }, size: 60 }] : []),
    series: [{}].concat(labels.map((label, i) => ({ label, stroke: colors[i % colors.length], width: 2, scale: scales && scales.right && scales.right.includes(label) ? 'right' : 'y', points: { show: columns[0].length < 3 } }))),
  };
  const target = el.querySelector('.plot') || el.appendChild(document.createElement('div'));
  target.className = 'plot';
  target.replaceChildren();
  const plot = new uPlot(opts, columns, target);
  charts.set(id, plot);
  el.dataset.points = String(columns[0].length);
  el.dataset.series = labels.join(',');
  // The latest value of each series (uPlot's legend shows the cursor's).
  const latest = el.querySelector('.latest') || el.appendChild(document.createElement('div'));
  latest.className = 'latest';
  latest.textContent = labels.map((l, i) => l + ': ' + fmt(columns[i + 1][columns[i + 1].length - 1])).join('   ');
  if (columns[0].length === 0) latest.textContent = 'no data in this range';
}

/**
 * Rows merged per bucket: [[x (s)...], [column...]...]. A field is a row key or a function of the
 * row. Without "weight" the values are summed (counts); with it, averaged weighted by it
 * (percentiles of several routes or environments: an approximation, the histograms are not here).
 */
function byBucket(rows, fields, weight) {
  const m = new Map();
  for (const r of rows) {
    let acc = m.get(r.bucket);
    if (!acc) m.set(r.bucket, (acc = { n: 0, sums: fields.map(() => 0) }));
    const w = weight ? weight(r) : 1;
    acc.n += w;
    fields.forEach((f, i) => (acc.sums[i] += (typeof f === 'function' ? f(r) : r[f]) * w));
  }
  const xs = [...m.keys()].sort((a, b) => a - b);
  const column = (i) => xs.map((x) => { const a = m.get(x); return weight ? (a.n ? a.sums[i] / a.n : null) : a.sums[i]; });
  return [xs.map((x) => x / 1000)].concat(fields.map((_, i) => column(i)));
}

function table(id, head, rows) {
  const t = $(id);
  t.replaceChildren();
  const tr = t.createTHead().insertRow();
  for (const h of head) tr.appendChild(document.createElement('th')).textContent = h;
  const body = t.createTBody();
  for (const r of rows) {
    const row = body.insertRow();
    for (const cell of r) row.insertCell().textContent = cell === undefined || cell === null ? '' : String(cell);
  }
  if (rows.length === 0) body.insertRow().insertCell().textContent = 'none';
}

const time = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);

let newestRefresh = 0;
async function refresh() {
  const f = filters();
  if (!f.app) return;
  // Only the newest refresh draws: an older one answering late must not overwrite new filters.
  const mine = ++newestRefresh;
  window.__dashboard.refreshes++;
  status('loading…');
  try {
    const [traffic, api, errors, vitals, realtime, summary] = await Promise.all([
      aggregates.rows('traffic', f),
      aggregates.rows('api', f),
      aggregates.rows('errors', f),
      aggregates.rows('vitals', f),
      aggregates.rows('realtime', f),
      aggregates.summary(f),
    ]);
    if (mine !== newestRefresh) return;
    const views = byBucket(traffic, ['views', 'users', 'sessions']);
    chart('traffic', ['views', 'users', 'sessions'], views, undefined, f);
    chart('latency', ['p50 ms', 'p95 ms', 'p99 ms'], byBucket(api, ['p50', 'p95', 'p99'], (r) => r.count), undefined, f);
    const counts = byBucket(realtime, ['sessions', 'disconnects', 'reconnects', 'gaps']);
    const rtt = byBucket(realtime, [(r) => r.rtt.p95], (r) => r.rtt.count);
    chart('realtime', ['sessions', 'disconnects', 'reconnects', 'gaps', 'rtt p95 ms'], counts.concat([rtt[1]]), { right: ['rtt p95 ms'] }, f);
    table('errors', ['fingerprint', 'message', 'frame', 'count', 'users', 'first seen', 'last seen'],
      errors.map((e) => [e.fingerprint.slice(0, 12), e.message, e.frame, e.count, e.users, time(e.firstSeen), time(e.lastSeen)]));
    // p75 per page and metric, weighted by samples over the range.
    const names = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'];
    const pages = new Map();
    for (const v of vitals) {
      const p = pages.get(v.page) || pages.set(v.page, {}).get(v.page);
      const a = p[v.metric] || (p[v.metric] = { n: 0, s: 0 });
      a.n += v.count;
      a.s += v.p75 * v.count;
    }
    table('vitals', ['page'].concat(names.map((n) => n + ' p75')),
      [...pages].map(([page, p]) => [page].concat(names.map((n) => (p[n] && p[n].n ? fmt(p[n].s / p[n].n) : '')))));
    const s = summary || {};
    const rate = (a, b) => (b ? fmt((100 * a) / b) + '%' : '–');
    const tiles = [
      ['views', s.views], ['sessions', s.sessions], ['errors', s.errors], ['error rate', rate(s.errors, s.views)],
      ['API requests', s.apiRequests], ['API failures', rate(s.apiFailures, s.apiRequests)], ['API p95', s.apiLatency ? fmt(s.apiLatency.p95) + ' ms' : '–'],
      ['disconnect rate', rate(s.disconnects, s.sessions)],
    ];
    $('tiles').replaceChildren(...tiles.map(([k, v]) => {
      const d = document.createElement('div');
      d.className = 'tile';
      d.appendChild(document.createElement('b')).textContent = v === undefined ? '–' : String(v);
      d.appendChild(document.createElement('span')).textContent = k;
      return d;
    }));
    await refreshAlerts(f.app);
    status('updated ' + new Date().toLocaleTimeString());
  } catch (e) {
    if (mine !== newestRefresh) return;
    status(e.message, true);
    if (e.auth) $('key').focus();
  }
}

const unitOf = (metric) => (metric === 'api_p95' ? ' ms' : metric === 'new_error' ? '' : '%');

async function refreshAlerts(app) {
  const cred = credential();
  if (!cred || isJwt(cred)) return table('alerts', ['alerts'], [['enter the API key to see alerts']]);
  const res = await fetch(config.alertsPath + '/history?limit=10&app=' + encodeURIComponent(app), { headers: authHeaders(), cache: 'no-store' }).catch(() => null);
  if (!res || !res.ok) return table('alerts', ['alerts'], [[res && res.status === 404 ? 'alerts are not enabled' : 'alerts unavailable']]);
  const { alerts } = await res.json();
  table('alerts', ['rule', 'metric', 'value', 'state', 'fired'], alerts.map((a) => [a.ruleId, a.metric, fmt(a.value) + unitOf(a.metric), a.state, time(a.firedAt)]));
}

// Live messages are coalesced, and reload at most every 2 s: a burst (or a client publishing to
// the topic where canPublish lets it) costs the aggregates store one round of queries.
let pending;
let lastLive = 0;
function scheduleRefresh() {
  if (pending) return;
  const wait = Math.max(200, lastLive + 2000 - Date.now());
  pending = setTimeout(() => {
    pending = undefined;
    lastLive = Date.now();
    refresh();
  }, wait);
}

// ---- Live refresh over the realtime connection, polling as the fallback. ----
let client;
let live = 'off';
const setLive = (s) => {
  live = s;
  $('live').textContent = s === 'connected' ? 'live' : s === 'off' ? 'polling every ' + config.pollInterval / 1000 + ' s' : s;
};
function connectLive(app) {
  client?.close();
  client = undefined;
  const cred = credential();
  let token;
  if (config.dev) {
    token = async () => {
      const res = await fetch('/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ app, user: 'dashboard' }) });
      if (!res.ok) throw new Error('dev token: HTTP ' + res.status);
      return (await res.json()).token;
    };
  } else if (isJwt(cred)) token = cred;
  else if (cred) {
    // The API key buys a short-lived client token (the key travels in a header, never a URL).
    token = async () => {
      const res = await fetch('/dashboard/token', { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() }, body: JSON.stringify({ app }) });
      if (!res.ok) throw new Error('dashboard token: HTTP ' + res.status);
      return (await res.json()).token;
    };
  } else return setLive('off');
  client = createClient({ url: location.origin.replace(/^http/, 'ws') + '/ws', app, token });
  client.on('state', (s) => setLive(typeof s === 'string' ? s : s.state));
  client.subscribe(config.topic, (m) => {
    if (m.data && (m.data.type === 'aggregates' || m.data.type === 'alert')) scheduleRefresh();
  });
  client.connect();
}
setInterval(() => {
  if (live !== 'connected') refresh();
}, config.pollInterval);

// ---- Filters and the key. ----
async function loadDimensions(app) {
  const d = await aggregates.dimensions(app);
  if (!app) fillSelect($('app'), d.apps || [], true);
  fillSelect($('env'), d.envs || [], true, 'every environment');
  fillSelect($('release'), d.releases || [], true, 'every release');
  return d;
}

async function start() {
  try {
    const d = await loadDimensions(undefined);
    if (!$('app').value && d.apps && d.apps[0]) $('app').value = d.apps[0];
    if ($('app').value) await loadDimensions($('app').value);
    connectLive($('app').value);
    await refresh();
  } catch (e) {
    status(e.message, true);
    if (!client) setLive('off');
  }
}

$('app').onchange = async () => {
  await loadDimensions($('app').value).catch((e) => status(e.message, true));
  connectLive($('app').value);
  refresh();
};
for (const id of ['env', 'release', 'range']) $(id).onchange = refresh;
$('keyForm').onsubmit = (e) => {
  e.preventDefault();
  const v = $('key').value.trim();
  if (v) sessionStorage.setItem(KEY, v);
  else sessionStorage.removeItem(KEY);
  $('key').value = '';
  $('keyState').textContent = v ? 'key set for this tab' : 'no key';
  start();
};
$('keyState').textContent = credential() ? 'key set for this tab' : config.dev ? 'dev mode: open' : 'no key';
start();
`;
