// Bundle budgets (min+gzip), checked by `npm run size` in CI.
// Limits are in KiB (1024 bytes), the unit of the peer figures the budgets are set against.
// Each entry is bundled as an ES module for browsers, the way apps' bundlers (Vite, webpack,
// Rollup) consume this package: `#load-ws` resolves to its browser stub (package.json `imports`),
// so nothing about `ws` is ignored and the figure is what an app ships.
// `tsconfigRaw` keeps esbuild from applying this repository's tsconfig `paths` (which point tests
// at sources) to dist/: an app's bundler sees only the package.
const esm = (config) => ({ ...config, format: 'esm', tsconfigRaw: '{}' });

export default [
  {
    name: 'client core (createClient + WebSocket transport + JSON protocol)',
    path: 'dist/index.js',
    import: '{ createClient }',
    gzip: true,
    // 6 KiB until the hostile-server hardening (validated connect reply, clamped server numbers,
    // messages only for our own streams, bounded token refresh): +299 B min+gzip, measured from
    // source the way size-limit bundles it (6207 → 6506 B). Raised to the smallest tenth that fits.
    // 6.4 KiB until subscriptions that retry (temporary errors with jittered backoff honouring
    // retryAfter) and the batched resubscribe (`subs`) came in: +326 B (6524 → 6850 B).
    // 6.7 KiB until the first memory steps of client core v2 (emitter, requests and heartbeat as
    // classes, one environment and one default transport per page, presence made on first use):
    // +150 B (6850 → ~7000 B) for 2.5 KB less heap per idle client (10.5 → 7.9 KB unconnected).
    // Prototype methods cost bytes that closures do not (`this.`, method syntax), even with the
    // internal fields shortened (tsup mangleProps). The 6.5 KiB still stands: the saving
    // has to come from elsewhere (options validation and the frame validators are ~3.5 KB minified).
    // 6.9 KiB until `pause()`/`resume()` (the WeChat adapter's background hold, in the core): +90 B.
    // 7 KiB until per-handler payload schemas (Standard Schema, `subscribe(…, { schema })`): +130 B.
    // What the half KiB was for is now all in (retries, `subs`, pause, schemas: ~550 B);
    // the restructuring that was to pay for it has not yet (see the 6.7 KiB note).
    // 7.1 KiB until each subscription became one object with prototype getters (was an entry, a
    // handle and three closures): +70 B for 1.0 → 0.72 KB of heap per subscription.
    // 7.2 KiB until client core v2's restructuring: the client, subscriptions, presence and the
    // link became classes (state in fields, logic on prototypes; ~45 closures per client gone),
    // one operation lifecycle with one timer for every deadline (src/client/operations.ts, with
    // stream positions and publishes saved by src/client/saved-state.ts) and one set of
    // environment listeners per environment: 7.36 → 7.51 kB (+150 B) for 12.7 → 6.6 KB of heap
    // per idle connected client (bench/mem.mjs). The 6.5 KiB is not met; what is left to
    // cut is validation (options ~1.9 KB, frame validators ~2.2 KB minified) the hostile-server
    // and bad-input rules require.
    // 7.8 KiB until the idle client reached the 4 KB of heap (6.62 → 3.86-3.91 KB,
    // bench/mem.mjs): one heartbeat timer and scan for every client of a clock, no stability
    // timer (a time checked at the next loss), the connect request bounded by connectTimeout
    // alone (no deadline timer left armed), a closure-free WebSocket link (shared handlers, the
    // link under a symbol on the socket), maps and bound functions made on first use, shared
    // default reconnect policy and state snapshots: 7.51 → 7.95 kB (+440 B). The two goals pull
    // against each other; the 6.5 KiB one is not met.
    // 7.7 KiB after cuts with no change of behaviour (one option reader naming each option once,
    // `ws`'s own events behind the node-only `#load-ws`, every internal field mangled, one abort
    // path, `parse` folded into `decodeWith`): 7945 -> 7788 B. What is left is validation and the
    // features the issue asked for; 6.5 KiB would take making presence and saved state opt-in.
    limit: '7.7 KiB',
    modifyEsbuildConfig: esm,
  },
  {
    name: 'react adapter (on top of the core)',
    path: 'dist/react/index.js',
    import: '*',
    ignore: ['react', 'sdk-realtime'],
    gzip: true,
    // 1 KiB until `useFlag(key, fallback)` read the flags store from context (issue 14; was
    // `useFlag(flags, key, fallback)` only): +90 B (972 → 1060 B).
    limit: '1.1 KiB',
    modifyEsbuildConfig: esm,
  },
  {
    name: 'vue adapter (on top of the core)',
    path: 'dist/vue/index.js',
    import: '*',
    ignore: ['vue', 'sdk-realtime'],
    gzip: true,
    // 1 KiB until `useFlag(key, fallback)` read the flags store from context (issue 14; was
    // `useFlag(flags, key, fallback)` only): +70 B (~1000 → 1070 B).
    limit: '1.1 KiB',
    modifyEsbuildConfig: esm,
  },
  {
    name: 'wechat adapter (createWechatClient: connectSocket transport, storage, life cycle; on top of the core)',
    path: 'dist/wechat/index.js',
    import: '{ createWechatClient }',
    ignore: ['sdk-realtime'],
    gzip: true,
    limit: '2.5 KiB',
    modifyEsbuildConfig: esm,
  },
  {
    name: 'channel transport (page side of a WebView/Worker bridge; on top of the core)',
    path: 'dist/channel/index.js',
    import: '{ channelTransport, messagePort, textPort }',
    ignore: ['sdk-realtime'],
    gzip: true,
    limit: '1 KiB',
    modifyEsbuildConfig: esm,
  },
  {
    name: 'shared tabs (leader tab + multiplexer + host; on top of the core)',
    path: 'dist/channel/index.js',
    import: '{ sharedTabs }',
    ignore: ['sdk-realtime'],
    gzip: true,
    limit: '3.5 KiB',
    modifyEsbuildConfig: esm,
  },
  {
    name: 'telemetry core (createTelemetry: processors, batcher, task queue, persistence, fetch/beacon sender)',
    path: 'dist/telemetry/index.js',
    import: '{ createTelemetry }',
    ignore: ['web-vitals', 'idb-keyval', 'sdk-realtime'],
    gzip: true,
    limit: '5 KiB',
    modifyEsbuildConfig: esm,
  },
  {
    name: 'flags client (createFlags: $flags stream or HTTP polling, cache, storage; on top of the core)',
    path: 'dist/flags/index.js',
    import: '{ createFlags }',
    ignore: ['sdk-realtime'],
    gzip: true,
    limit: '1.5 KiB',
    modifyEsbuildConfig: esm,
  },
  {
    name: 'flags OpenFeature provider (RealtimeFlagsProvider; on top of createFlags and @openfeature/web-sdk)',
    path: 'dist/flags/openfeature.js',
    import: '{ RealtimeFlagsProvider }',
    ignore: ['sdk-realtime', '@openfeature/web-sdk'],
    gzip: true,
    // No peer figure: our own first budget, the measured 1.03 kB rounded up.
    limit: '1.1 KiB',
    modifyEsbuildConfig: esm,
  },
];
