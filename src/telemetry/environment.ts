import { browserEnvironment, domEvent, type Environment } from '../util/environment';

/** {@link Environment} plus the page's last moment (`pagehide`), when unsent events go by beacon. */
export interface TelemetryEnvironment extends Environment {
  /** Call `fn` when the page is being unloaded or frozen. Optional. */
  onPageHide?(fn: () => void): () => void;
}

/** The browser's {@link browserEnvironment} plus `pagehide`; inert without `window`. */
export function browserTelemetryEnvironment(): TelemetryEnvironment {
  return { ...browserEnvironment(), onPageHide: domEvent(typeof window != 'undefined' ? window : undefined, 'pagehide') };
}
