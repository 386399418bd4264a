import { WebSocket } from 'ws';

/**
 * A fake `wx` that behaves like the documented mini-program API, backed by the real `ws` library
 * so it drives the real reference server:
 * - `connectSocket` returns a SocketTask (onOpen/onMessage/onClose/onError/send/close); at most 5
 *   sockets at once (a 6th calls `fail` and its task never opens); close codes other than 1000 and
 *   3000–4999 fail like on a device;
 * - async `getStorage`/`setStorage`/`removeStorage`/`getStorageInfo`, 1 MB per key, 10 MB in all
 *   (sizes in KB like the real one), a missing key fails with "data not found";
 * - `onNetworkStatusChange`, `getNetworkType`, `onAppShow`/`onAppHide` and their `off…`;
 * - the legacy global socket API throws, so a test fails if anything uses it.
 */
export const MAX_SOCKETS = 5;
const KEY_LIMIT = 1024 * 1024;
const TOTAL_LIMIT_KB = 10 * 1024;

type Cb<T = any> = (res: T) => void;
const later = (fn: () => void) => void setTimeout(fn, 0);

export class FakeSocketTask {
  private handlers = { open: [] as Cb[], message: [] as Cb[], close: [] as Cb[], error: [] as Cb[] };
  ws?: WebSocket;
  readyState = 0; // CONNECTING, OPEN, CLOSING, CLOSED as in WeChat
  sent: string[] = [];
  constructor(readonly url: string, readonly options: any) {}
  onOpen(cb: Cb) {
    this.handlers.open.push(cb);
  }
  onMessage(cb: Cb) {
    this.handlers.message.push(cb);
  }
  onClose(cb: Cb) {
    this.handlers.close.push(cb);
  }
  onError(cb: Cb) {
    this.handlers.error.push(cb);
  }
  emit(type: keyof FakeSocketTask['handlers'], res: unknown) {
    for (const cb of this.handlers[type]) cb(res);
  }
  send({ data, success, fail }: { data: string | ArrayBuffer; success?: Cb; fail?: Cb }) {
    if (this.readyState !== 1 || !this.ws) return later(() => fail?.({ errMsg: 'sendSocketMessage:fail WebSocket is not connected' }));
    this.sent.push(String(data));
    this.ws.send(data, (err) => (err ? fail?.({ errMsg: `sendSocketMessage:fail ${err.message}` }) : success?.({ errMsg: 'sendSocketMessage:ok' })));
  }
  close({ code, reason, success, fail }: { code?: number; reason?: string; success?: Cb; fail?: Cb } = {}) {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
      return later(() => fail?.({ errMsg: `closeSocket:fail The code must be either 1000, or between 3000 and 4999. ${code} is neither.` }));
    }
    if (this.readyState >= 2) return later(() => success?.({ errMsg: 'closeSocket:ok' }));
    this.readyState = 2;
    this.ws?.close(code ?? 1000, reason ?? '');
    later(() => success?.({ errMsg: 'closeSocket:ok' }));
  }
  /** The network drops the socket (app suspended, airplane mode): onClose 1006, no close frame. */
  kill() {
    if (this.readyState === 3) return;
    this.ws?.terminate();
  }
}

export class FakeWx {
  readonly tasks: FakeSocketTask[] = [];
  readonly storage = new Map<string, string>();
  connectCalls = 0;
  private appShow = new Set<Cb>();
  private appHide = new Set<Cb>();
  private network = new Set<Cb>();
  online = true;
  /** Whether to reject sockets while offline. */

  /** Sockets currently connecting or open. */
  get liveSockets(): FakeSocketTask[] {
    return this.tasks.filter((t) => t.readyState < 3);
  }

  connectSocket = (options: { url: string; protocols?: string[]; header?: Record<string, string>; success?: Cb; fail?: Cb }): FakeSocketTask => {
    this.connectCalls++;
    const task = new FakeSocketTask(options.url, options);
    if (this.liveSockets.length >= MAX_SOCKETS) {
      task.readyState = 3;
      later(() => options.fail?.({ errMsg: 'connectSocket:fail exceed max task count' }));
      return task;
    }
    this.tasks.push(task);
    if (!this.online) {
      later(() => {
        task.readyState = 3;
        options.fail?.({ errMsg: 'connectSocket:fail network is down' });
        task.emit('error', { errMsg: 'network is down' });
      });
      return task;
    }
    const ws = new WebSocket(options.url, options.protocols ?? []);
    task.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.on('open', () => {
      task.readyState = 1;
      task.emit('open', { header: {} });
    });
    ws.on('message', (data, binary) => task.emit('message', { data: binary ? data : String(data) }));
    ws.on('error', (err) => task.emit('error', { errMsg: err.message }));
    ws.on('close', (code, reason) => {
      task.readyState = 3;
      task.emit('close', { code, reason: String(reason) });
    });
    later(() => options.success?.({ errMsg: 'connectSocket:ok' }));
    return task;
  };

  // ------------------------------------------------------------ storage

  getStorage = ({ key, success, fail }: { key: string; success?: Cb; fail?: Cb }) =>
    later(() => (this.storage.has(key) ? success?.({ data: this.storage.get(key) }) : fail?.({ errMsg: 'getStorage:fail data not found' })));

  setStorage = ({ key, data, success, fail }: { key: string; data: unknown; success?: Cb; fail?: Cb }) =>
    later(() => {
      const text = typeof data === 'string' ? data : JSON.stringify(data);
      if (Buffer.byteLength(key + text) > KEY_LIMIT) return fail?.({ errMsg: 'setStorage:fail entry size limit reached' });
      const total = this.usedBytes() - (this.storage.has(key) ? Buffer.byteLength(key + this.storage.get(key)) : 0) + Buffer.byteLength(key + text);
      if (total > TOTAL_LIMIT_KB * 1024) return fail?.({ errMsg: 'setStorage:fail exceed storage max size 10MB' });
      this.storage.set(key, text);
      success?.({ errMsg: 'setStorage:ok' });
    });

  removeStorage = ({ key, success }: { key: string; success?: Cb; fail?: Cb }) =>
    later(() => {
      this.storage.delete(key);
      success?.({ errMsg: 'removeStorage:ok' });
    });

  getStorageInfo = ({ success }: { success?: Cb; fail?: Cb }) =>
    later(() => success?.({ keys: [...this.storage.keys()], currentSize: Math.ceil(this.usedBytes() / 1024), limitSize: TOTAL_LIMIT_KB }));

  usedBytes(): number {
    let n = 0;
    for (const [k, v] of this.storage) n += Buffer.byteLength(k + v);
    return n;
  }

  // ------------------------------------------------------------ life cycle and network

  onAppShow = (cb: Cb) => void this.appShow.add(cb);
  offAppShow = (cb: Cb) => void this.appShow.delete(cb);
  onAppHide = (cb: Cb) => void this.appHide.add(cb);
  offAppHide = (cb: Cb) => void this.appHide.delete(cb);
  onNetworkStatusChange = (cb: Cb) => void this.network.add(cb);
  offNetworkStatusChange = (cb: Cb) => void this.network.delete(cb);
  getNetworkType = ({ success }: { success?: Cb }) => later(() => success?.({ networkType: this.online ? 'wifi' : 'none' }));

  get listenerCount(): number {
    return this.appShow.size + this.appHide.size + this.network.size;
  }

  /** The app goes to the background; like a device after a few seconds, `killSockets` drops every socket. */
  hide({ killSockets = true } = {}) {
    for (const cb of [...this.appHide]) cb({});
    if (killSockets) for (const t of this.liveSockets) t.kill();
  }
  show() {
    for (const cb of [...this.appShow]) cb({ scene: 1001, path: 'pages/index/index', query: {} });
  }
  /** Network off: every socket drops; on: sockets can open again. Fires onNetworkStatusChange. */
  setOnline(online: boolean) {
    this.online = online;
    if (!online) for (const t of this.liveSockets) t.kill();
    for (const cb of [...this.network]) cb({ isConnected: online, networkType: online ? 'wifi' : 'none' });
  }

  // ------------------------------------------------------------ legacy global API: must never be used

  onSocketMessage = () => {
    throw new Error('legacy global socket API used (wx.onSocketMessage)');
  };
  onSocketOpen = this.onSocketMessage;
  sendSocketMessage = this.onSocketMessage;
  closeSocket = this.onSocketMessage;
}
