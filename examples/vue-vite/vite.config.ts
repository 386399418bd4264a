import vue from '@vitejs/plugin-vue';
import { createServer } from 'sdk-realtime-server';
import { defineConfig, type Plugin } from 'vite';

/**
 * The realtime server the page talks to, through Vite's proxy (same origin for `/ws`, `/dev/token`
 * and `/notify`). `RT_URL` (e.g. `RT_URL=http://127.0.0.1:8080`, the root's `npm start`): that
 * server, started by you; without it `npm run dev` starts a reference server in dev mode on
 * `RT_PORT` (default 8787) next to Vite, and stops it with Vite.
 */
const RT_URL = process.env.RT_URL;
if (RT_URL !== undefined && !/^https?:\/\/[^/]+/.test(RT_URL)) {
  throw new TypeError(`RT_URL must be the realtime server's http(s) base URL, e.g. http://127.0.0.1:8080; got "${RT_URL}"`);
}
const RT_PORT = Number(process.env.RT_PORT ?? 8787);
/** `/notify` API key of the started server: `curl -H 'authorization: Bearer dev-api-key' ...`. */
const API_KEY = process.env.RT_API_KEY ?? 'dev-api-key';
const target = RT_URL ?? `http://127.0.0.1:${RT_PORT}`;

/** Start the reference server (dev mode: `POST /dev/token` mints tokens) with the Vite dev server, and say where it is. */
function referenceServer(): Plugin {
  return {
    name: 'sdk-realtime-reference-server',
    apply: 'serve',
    async configureServer(vite) {
      const log = (line: string) => vite.config.logger.info(line);
      if (RT_URL) {
        log(`  sdk-realtime: proxying /ws, /dev/token and /notify to ${RT_URL} (RT_URL)`);
        return;
      }
      const rt = await createServer({ port: RT_PORT, dev: true, apiKey: API_KEY, presenceInterval: 250 });
      vite.httpServer?.once('close', () => void rt.close());
      log(`  sdk-realtime reference server (dev mode, stops with Vite): ${rt.url}, POST ${rt.httpUrl}/notify (API key ${API_KEY})`);
      log(`  The page reaches it through this server's /ws, /dev/token and /notify.`);
    },
  };
}

export default defineConfig({
  plugins: [vue(), referenceServer()],
  // `sdk-realtime` is linked from ../..: make it use this app's Vue, not a second copy.
  resolve: { dedupe: ['vue', 'pinia'] },
  server: {
    // Same origin for the page: WebSocket, dev tokens and /notify go to the reference server.
    proxy: {
      '/ws': { target, ws: true },
      '/dev/token': target,
      '/notify': target,
    },
  },
});
