import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RealtimeProvider } from 'sdk-realtime/react';
import { App } from './App';
import { APP, WS_URL, fetchToken } from './config';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {/* Created once, connected on mount, closed on unmount. A short backoff ceiling suits a live board. */}
    <RealtimeProvider options={{ url: WS_URL, app: APP, token: fetchToken, reconnect: { floor: 300, ceiling: 3000 } }}>
      <App />
    </RealtimeProvider>
  </StrictMode>,
);
