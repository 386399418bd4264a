import type { TelemetryPlugin } from '../types';

export interface ErrorsPluginOptions {
  /** Where to listen. Default `window` (no-op without one). */
  target?: Pick<Window, 'addEventListener' | 'removeEventListener'>;
  /** Most errors reported per page; more are ignored (an error loop must not flood the queue). Default `100`. */
  max?: number;
}

/** Report uncaught errors (`error`) and unhandled promise rejections (`unhandledrejection`) with `trackError`. */
export function errorsPlugin(o: ErrorsPluginOptions = {}): TelemetryPlugin {
  return {
    name: 'errors',
    setup(t) {
      const target = o.target ?? (typeof window != 'undefined' ? window : undefined);
      if (!target) return () => {};
      let left = o.max ?? 100;
      const onError = (e: Event) => {
        const ev = e as ErrorEvent;
        // Resource load failures (img/script) arrive here too, without a message: not JS errors.
        if (left <= 0 || (!ev.error && !ev.message)) return;
        left--;
        t.trackError(ev.error ?? ev.message, { source: ev.filename, line: ev.lineno, column: ev.colno, handled: false });
      };
      const onRejection = (e: Event) => {
        if (left-- <= 0) return;
        t.trackError((e as PromiseRejectionEvent).reason, { unhandledRejection: true, handled: false });
      };
      target.addEventListener('error', onError);
      target.addEventListener('unhandledrejection', onRejection);
      return () => {
        target.removeEventListener('error', onError);
        target.removeEventListener('unhandledrejection', onRejection);
      };
    },
  };
}
