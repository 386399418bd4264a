import { besideMain } from './package-file';

/**
 * The demo's browser files, from the installed `sdk-realtime` package (a dependency of this
 * one): the client module, what its `#load-ws` import is in browsers (mapped by the page's
 * import map), and the telemetry module (the page reports its own page views).
 */
export const demoFiles: Readonly<Record<string, string>> = {
  '/sdk-realtime.js': 'index.js',
  '/sdk-realtime-load-ws.js': 'load-ws.browser.js',
  '/sdk-realtime-telemetry.js': 'telemetry/index.js',
};

/** Path of one built client file (see {@link demoFiles}); `undefined` when not installed or not built. */
export function clientBundlePath(file = 'index.js'): string | undefined {
  // Beside the package's CommonJS entry (dist/index.cjs) sits the ES module.
  return besideMain('sdk-realtime', file);
}

/** The demo page served at `/` with `demo: true` (CLI `--dev`). Plain HTML + one module script. */
export const demoHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sdk-realtime demo</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 980px; padding: 16px; color: #222; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .warn { background: #fff3cd; border: 1px solid #e0c36a; padding: 6px 10px; border-radius: 4px; margin-bottom: 12px; }
  section { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; margin-bottom: 12px; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  label { display: inline-block; margin: 0 10px 6px 0; }
  input, textarea { font: inherit; padding: 3px 5px; }
  textarea { width: 100%; box-sizing: border-box; height: 60px; font-family: ui-monospace, monospace; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
  #state { font-weight: bold; }
  #log { height: 260px; overflow: auto; background: #111; color: #dfd; font: 12px/1.4 ui-monospace, monospace; padding: 6px; }
  #topics li { margin: 2px 0; }
  .count { font-size: 22px; font-weight: bold; }
  pre { white-space: pre-wrap; margin: 6px 0 0; font-size: 12px; }
</style>
</head>
<body>
<h1>sdk-realtime demo</h1>
<div class="warn">Development server: tokens come from <code>POST /dev/token</code>, which must never be enabled in production.</div>

<section>
  <h2>Connection: <span id="state">idle</span></h2>
  <label>App <input id="app" value="demo" size="10"></label>
  <label>User <input id="user" size="12"></label>
  <label>Device <input id="device" placeholder="optional" size="12"></label>
  <button id="connect">Connect</button>
  <button id="disconnect" disabled>Disconnect</button>
</section>

<div class="grid">
  <section>
    <h2>Topics</h2>
    <form id="subForm"><input id="topic" value="lobby" size="20"> <button>Subscribe</button></form>
    <ul id="topics"></ul>
    <div>Online in <b id="countTopic">-</b>: <span class="count" id="count">-</span></div>
  </section>
  <section>
    <h2>POST /notify</h2>
    <form id="notifyForm">
      <label>App <input id="nApp" value="demo" size="8"></label>
      <label>API key <input id="nKey" value="dev-api-key" size="12"></label><br>
      <label>Users <input id="nUsers" placeholder="u1, u2" size="12"></label>
      <label>Devices <input id="nDevices" size="10"></label>
      <label>Topics <input id="nTopics" value="lobby" size="12"></label>
      <textarea id="nData">{"type":"hello","text":"hi there"}</textarea>
      <button>Send</button>
    </form>
    <pre id="nResult"></pre>
  </section>
</div>

<section>
  <h2>Messages</h2>
  <div id="log"></div>
</section>

<!-- The client's package-private '#load-ws' import, resolved the way a bundler would for browsers. -->
<script type="importmap">{ "imports": { "#load-ws": "/sdk-realtime-load-ws.js" } }</script>
<script type="module">
import { createClient } from '/sdk-realtime.js';

const $ = (id) => document.getElementById(id);
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
$('user').value = 'user-' + Math.random().toString(36).slice(2, 7);

let client = null;
const subs = new Map();
let stopCount = null;

function log(text) {
  const line = document.createElement('div');
  line.textContent = new Date().toLocaleTimeString() + '  ' + text;
  $('log').prepend(line);
}

function watch(topic) {
  if (stopCount) stopCount();
  stopCount = null;
  $('countTopic').textContent = topic || '-';
  $('count').textContent = '-';
  if (!client || !topic) return;
  stopCount = client.onlineCount(topic, (c) => {
    $('count').textContent = c.users + ' users / ' + c.connections + ' connections';
  });
}

function renderTopics() {
  const ul = $('topics');
  ul.replaceChildren();
  for (const topic of subs.keys()) {
    const li = document.createElement('li');
    const name = document.createElement('a');
    name.href = '#';
    name.textContent = topic;
    name.onclick = (e) => { e.preventDefault(); watch(topic); };
    const rm = document.createElement('button');
    rm.textContent = 'remove';
    rm.onclick = () => {
      subs.get(topic).unsubscribe();
      subs.delete(topic);
      if ($('countTopic').textContent === topic) watch([...subs.keys()][0]);
      renderTopics();
    };
    li.append(name, ' ', rm);
    ul.append(li);
  }
}

function subscribe(topic) {
  if (!client || subs.has(topic)) return;
  subs.set(topic, client.subscribe(topic, (m) => log('[' + m.topic + ' #' + m.offset + '] ' + JSON.stringify(m.data))));
  renderTopics();
  watch(topic);
}

$('connect').onclick = () => {
  const app = $('app').value.trim();
  const user = $('user').value.trim();
  const device = $('device').value.trim() || undefined;
  const token = async () => {
    const res = await fetch('/dev/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app, user, device }),
    });
    if (!res.ok) throw new Error('dev token: HTTP ' + res.status);
    return (await res.json()).token;
  };
  const url = location.origin.replace(/^http/, 'ws') + '/ws';
  client = createClient({ url, app, token, deviceId: device });
  client.on('state', (s) => { $('state').textContent = typeof s === 'string' ? s : s.state; });
  client.on('message', (m) => {
    if (!subs.has(m.topic)) log('[' + m.topic + ' #' + m.offset + '] ' + JSON.stringify(m.data));
  });
  client.on('error', (e) => log('error ' + (e.code || '') + ': ' + (e.message || e)));
  client.connect();
  $('connect').disabled = true;
  $('disconnect').disabled = false;
  $('nApp').value = app;
  $('nUsers').value = user;
  subscribe($('topic').value.trim() || 'lobby');
};

$('disconnect').onclick = () => {
  if (stopCount) stopCount();
  stopCount = null;
  subs.clear();
  renderTopics();
  if (client) client.close();
  client = null;
  $('state').textContent = 'closed';
  $('connect').disabled = false;
  $('disconnect').disabled = true;
};

$('subForm').onsubmit = (e) => {
  e.preventDefault();
  const topic = $('topic').value.trim();
  if (topic) subscribe(topic);
};

$('notifyForm').onsubmit = async (e) => {
  e.preventDefault();
  let data;
  try {
    data = JSON.parse($('nData').value);
  } catch {
    $('nResult').textContent = 'data is not valid JSON';
    return;
  }
  const body = { appId: $('nApp').value.trim(), data };
  const users = list($('nUsers').value), devices = list($('nDevices').value), topics = list($('nTopics').value);
  if (users.length) body.users = users;
  if (devices.length) body.devices = devices;
  if (topics.length) body.eventTopics = topics;
  const res = await fetch('/notify', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ' + $('nKey').value.trim() },
    body: JSON.stringify(body),
  });
  $('nResult').textContent = res.status + ' ' + (await res.text());
};

// The page's own telemetry (npm start keeps it in ./.sdk-realtime/telemetry.db): this page view
// shows in GET /api/telemetry/aggregates?app=demo&kind=traffic within seconds. Without telemetry
// on the server the uploads get 404 and are dropped.
import('/sdk-realtime-telemetry.js').then(({ createTelemetry, routesPlugin, errorsPlugin }) => {
  createTelemetry({ endpoint: location.origin, app: $('app').value.trim() || 'demo', env: 'development', flushInterval: 2000, plugins: [routesPlugin(), errorsPlugin()] });
}).catch(() => {});
</script>
</body>
</html>
`;
