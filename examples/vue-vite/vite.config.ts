import vue from '@vitejs/plugin-vue';
import { createServer } from 'sdk-realtime-server';
import { defineConfig, type Plugin } from 'vite';

/** Port of the reference server that `npm run dev` starts next to Vite (`RT_PORT` overrides). */
const RT_PORT = Number(process.env.RT_PORT ?? 8787);
/** `/notify` API key of that server: `curl -H 'authorization: Bearer dev-api-key' ...`. */
const API_KEY = process.env.RT_API_KEY ?? 'dev-api-key';

/** Start the reference server (dev mode: `POST /dev/token` mints tokens) with the Vite dev server. */
function referenceServer(): Plugin {
  return {
    name: 'sdk-realtime-reference-server',
    apply: 'serve',
    async configureServer(vite) {
      const rt = await createServer({ port: RT_PORT, dev: true, apiKey: API_KEY, presenceInterval: 250 });
      vite.httpServer?.once('close', () => void rt.close());
    },
  };
}

const target = `http://127.0.0.1:${RT_PORT}`;

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
