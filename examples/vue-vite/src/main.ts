import { createPinia } from 'pinia';
import { createRealtime } from 'sdk-realtime/vue';
import { createApp } from 'vue';
import App from './App.vue';
import { APP, WS_URL, fetchToken } from './config';

createApp(App)
  // Created now, connected on install, closed when the app unmounts. A short backoff ceiling suits a live board.
  .use(createRealtime({ options: { url: WS_URL, app: APP, token: fetchToken, reconnect: { floor: 300, ceiling: 3000 } } }))
  .use(createPinia())
  .mount('#app');
