/** Where the server writes its few log lines. Any object with these three methods (console, pino, ...). */
export interface Logger {
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

const noop = (): void => {};

/** A logger that drops everything; what `logger: false` resolves to. */
export const silentLogger: Logger = { info: noop, warn: noop, error: noop };

/** The default logger: console, each line prefixed so it stands out in an app's output. */
export const consoleLogger: Logger = {
  info: (m, ...r) => console.info(`[sdk-realtime] ${m}`, ...r),
  warn: (m, ...r) => console.warn(`[sdk-realtime] ${m}`, ...r),
  error: (m, ...r) => console.error(`[sdk-realtime] ${m}`, ...r),
};
