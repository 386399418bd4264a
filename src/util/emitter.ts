import mitt from 'mitt';

/** A listener of one event. */
export type Listener<T> = (event: T) => void;

/** A typed event emitter whose `on` returns its own unsubscribe function. */
export interface Emitter<Events extends Record<string, unknown>> {
  /** Listen to `type`; returns a function that removes this listener (idempotent). */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void;
  /** Call the listeners of `type`, if any (no allocation when there are none). */
  emit<K extends keyof Events>(type: K, event: Events[K]): void;
  /** Call `fn(arg)` (if any) the way listeners are called: what it throws goes to `onThrow` (type `undefined`). */
  guard<A>(fn: ((arg: A) => void) | undefined, arg: A, type?: keyof Events): void;
}

/**
 * A mitt emitter where a throwing listener never breaks the emitter or its caller: the error goes
 * to `onThrow` and the remaining listeners still run.
 */
export function createEmitter<Events extends Record<string, unknown>>(
  onThrow: (error: unknown, type: keyof Events | undefined) => void,
): Emitter<Events> {
  const m = mitt<Events>();
  const guard: Emitter<Events>['guard'] = (fn, arg, type) => {
    try {
      fn?.(arg);
    } catch (error) {
      onThrow(error, type);
    }
  };
  return {
    on(type, listener) {
      const safe = (event: Events[typeof type]) => guard(listener, event, type);
      m.on(type, safe);
      return () => m.off(type, safe);
    },
    emit: m.emit,
    guard,
  };
}
