import { browserEnvironment, type Environment } from '../util/environment';

/** {@link Environment} plus the page's last moment (`pagehide`), when unsent events go by beacon. */
export interface TelemetryEnvironment extends Environment {
  /** Call `fn` when the page is being unloaded or frozen. Optional. */
  onPageHide?(fn: () => void): () => void;
}

/** The browser's: online, visibility and `pagehide`; inert without `window`. */
export function browserTelemetryEnvironment(): TelemetryEnvironment {
  return {
    ...browserEnvironment(),
    onPageHide(fn) {
      if (typeof window == 'undefined') return () => {};
      window.addEventListener('pagehide', fn);
      return () => window.removeEventListener('pagehide', fn);
    },
  };
}
