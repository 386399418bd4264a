import { memoryStorage } from '../../src/storage/memory';
import type { TelemetryEnvironment } from '../../src/telemetry/environment';
import { createTelemetry } from '../../src/telemetry/tracker';
import type { TelemetryOptions } from '../../src/telemetry/options';
import type { Batch, SendResult, Sender } from '../../src/telemetry/types';

/** A sender that records bodies and answers what `reply` says (default 200). */
export function fakeSender(reply: (batch: Batch, n: number) => SendResult | Promise<SendResult> = () => ({ status: 200 })) {
  const sent: Batch[] = [];
  const beaconed: Batch[] = [];
  let n = 0;
  let beaconOk = true;
  const sender: Sender = {
    send: async (body) => {
      const b = JSON.parse(body) as Batch;
      sent.push(b);
      return reply(b, n++);
    },
    unload: (body) => {
      if (!beaconOk) return false;
      beaconed.push(JSON.parse(body));
      return true;
    },
  };
  return { sender, sent, beaconed, refuseBeacon: () => (beaconOk = false) };
}

/** An environment whose events the test fires. */
export function fakeEnv() {
  const fns: Record<string, Set<() => void>> = { online: new Set(), visible: new Set(), hidden: new Set(), pagehide: new Set() };
  const on = (k: string) => (fn: () => void) => (fns[k]!.add(fn), () => fns[k]!.delete(fn));
  let online = true;
  const env: TelemetryEnvironment = {
    onOnline: on('online'),
    onVisible: on('visible'),
    onHidden: on('hidden'),
    onPageHide: on('pagehide'),
    isOnline: () => online,
  };
  return {
    env,
    fire: (k: 'online' | 'visible' | 'hidden' | 'pagehide') => fns[k]!.forEach((f) => f()),
    setOnline: (v: boolean) => (online = v),
    listeners: () => Object.values(fns).reduce((a, s) => a + s.size, 0),
  };
}

/** A tracker wired to fakes: no remote config, memory storage, no privacy signals. */
export function tracker(over: Partial<TelemetryOptions> = {}, reply?: Parameters<typeof fakeSender>[0]) {
  const s = fakeSender(reply);
  const e = fakeEnv();
  const storage = memoryStorage();
  const t = createTelemetry({
    app: 'shop',
    env: 'test',
    release: '1.2.3',
    sender: s.sender,
    environment: e.env,
    storage,
    remoteConfig: false,
    privacy: { doNotTrack: false, gpc: false },
    sessionId: 'session-1',
    random: () => 1,
    ...over,
  });
  return { t, ...s, ...e, storage };
}
