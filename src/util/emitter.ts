import mitt from 'mitt';

/** A listener of one event. */
export type Listener<T> = (event: T) => void;

/** A typed event emitter whose `on` returns its own unsubscribe function. */
export interface Emitter<Events extends Record<string, unknown>> {
  /** Listen to `type`; returns a function that removes this listener (idempotent). */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void;
  emit<K extends keyof Events>(type: K, event: Events[K]): void;
  /** Whether `type` has listeners: lets hot paths skip building an event nobody hears. */
  has(type: keyof Events): boolean;
}

/**
 * A mitt emitter where a throwing listener never breaks the emitter or its caller: the error goes
 * to `onThrow` and the remaining listeners still run.
 */
export function createEmitter<Events extends Record<string, unknown>>(
  onThrow: (error: unknown, type: keyof Events) => void,
): Emitter<Events> {
  const m = mitt<Events>();
  return {
    on(type, listener) {
      const safe = (event: Events[typeof type]) => {
        try {
          listener(event);
        } catch (error) {
          onThrow(error, type);
        }
      };
      m.on(type, safe);
      return () => m.off(type, safe);
    },
    emit: (type, event) => m.emit(type, event),
    has: (type) => !!m.all.get(type)?.length,
  };
}
