/* global wx, getApp, Page */
const app = getApp();
const STATE_TEXT = { idle: 'idle', connecting: 'connecting…', connected: 'live', reconnecting: 'reconnecting…', closed: 'closed' };

Page({
  data: { state: 'idle', stateText: STATE_TEXT.idle, online: null, items: [] },

  onLoad() {
    const rt = app.realtime;
    const off = [];
    const setState = () => this.setData({ state: rt.state, stateText: STATE_TEXT[rt.state] });
    setState();
    off.push(rt.subscribeState(setState));
    // Personal notifications (user-567 and this device) arrive without subscribing.
    off.push(rt.on('message', (m) => this.add(m)));
    // An order's status topic, recovered after every reconnect; refetch on a gap.
    const sub = rt.subscribe('order:12345:status', () => {}, { onGap: () => wx.showToast({ title: 'Refreshing…', icon: 'none' }) });
    off.push(() => sub.unsubscribe());
    off.push(rt.onlineCount('order:12345:status', (c) => this.setData({ online: c.users })));
    this.off = off;
  },

  onUnload() {
    for (const f of this.off || []) f();
  },

  add(m) {
    const d = m.data || {};
    const item = {
      id: m.id,
      topic: m.topic,
      title: d.type ? `${d.type}: ${d.status || ''}` : JSON.stringify(d),
      time: new Date(m.ts).toLocaleTimeString(),
      latency: Math.max(0, Date.now() - m.ts),
    };
    this.setData({ items: [item, ...this.data.items].slice(0, 50) });
  },

  publish() {
    app.realtime
      .publish('order:12345:status', { type: 'note', status: 'hello from the mini-program' })
      .catch((e) => wx.showToast({ title: e.code, icon: 'none' }));
  },
});
