/* global wx, App, require */
/* eslint-disable @typescript-eslint/no-require-imports -- mini-programs load CommonJS */
// One realtime client for the whole mini-program (WeChat allows 5 sockets at once).
const { createWechatClient } = require('sdk-realtime/wechat');

// Development server: `npm start` in the repository root (or `npx sdk-realtime-server serve --port 8080 --dev`)
// mints tokens at POST /dev/token.
const SERVER = 'http://127.0.0.1:8080';
const WS_URL = 'ws://127.0.0.1:8080/ws';
const APP_ID = 'ecommerce-app';

function fetchToken() {
  return new Promise((resolve, reject) => {
    wx.request({
      url: `${SERVER}/dev/token`,
      method: 'POST',
      data: { user: 'user-567', app: APP_ID, device: 'mp-demo-001' },
      success: (res) => (res.statusCode === 200 ? resolve(res.data.token) : reject(new Error(`token: HTTP ${res.statusCode}`))),
      fail: (err) => reject(new Error(err.errMsg)),
    });
  });
}

App({
  onLaunch() {
    // Reconnects at once on app show / network back; no attempts while hidden or offline;
    // queued publishes persist in wx storage across restarts.
    this.realtime = createWechatClient({ url: WS_URL, app: APP_ID, token: fetchToken, deviceId: 'mp-demo-001' });
    this.realtime.on('error', (e) => console.warn('[realtime]', e.code, e.message));
    this.realtime.connect();
  },
});
