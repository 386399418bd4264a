/** A listener of one event. */
export type Listener<T> = (event: T) => void;

/**
 * A typed event emitter where a throwing listener never breaks the emitter or its caller: the
 * error goes to `onThrow` and the remaining listeners still run.
 *
 * Methods live on the prototype and the listener table is made on the first `on`, so an emitter
 * nobody listens to costs one small object (the client keeps one per instance; bench/mem.mjs).
 */
export class Emitter<Events extends Record<string, unknown>> {
  private all_?: { [K in keyof Events]?: Listener<Events[K]>[] };

  /** `onThrow`: where what a listener throws goes (a subclass may override {@link thrown_} instead). */
  constructor(private readonly onThrow_?: (error: unknown, type: keyof Events | undefined) => void) {}

  /** What a listener (or a guarded call) threw. */
  protected thrown_(error: unknown, type: keyof Events | undefined): void {
    this.onThrow_!(error, type);
  }

  /** Listen to `type`; returns a function that removes this listener (idempotent). */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const all = this.all_ || (this.all_ = {} as NonNullable<typeof this.all_>);
    // A literal on the first listener: an array grown by `push` from empty reserves 17 slots.
    let list = all[type];
    if (list) list.push(listener);
    else list = all[type] = [listener];
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Call the listeners of `type`, if any (no allocation when there are none). */
  emit_<K extends keyof Events>(type: K, event: Events[K]): void {
    const list = this.all_?.[type];
    // A copy only when someone listens: listeners added or removed meanwhile do not change this round.
    if (list?.length) for (const fn of list.slice()) this.guard_(fn, event, type);
  }

  /** Call `fn(arg)` (if any) the way listeners are called: what it throws goes to `onThrow` (type `undefined`). */
  guard_<A>(fn: ((arg: A) => void) | undefined, arg: A, type?: keyof Events): void {
    try {
      fn?.(arg);
    } catch (error) {
      this.thrown_(error, type);
    }
  }
}
