import { backoffDelay, type BackoffBounds } from '../util/backoff';

/** What a task's run reports back to the queue. */
export type TaskResult<T> =
  /** Finished; forget the task. */
  | { done: true }
  /** Give up on it (the server refused it for good); `reason` is passed on in the `drop` event. */
  | { drop: string }
  /** Try again: after `after` ms with the whole queue paused until then (`Retry-After`), else after backoff. */
  | { retry: true; after?: number }
  /** Replace the task by these, run first in its place (a batch halved after 413). */
  | { split: T[] };

/** A progress event of the queue. */
export interface QueueEvent<T> {
  /** `pause`: a `Retry-After` answer paused the whole queue for `delay` ms. */
  type: 'start' | 'done' | 'drop' | 'retry' | 'split' | 'pause';
  /** The task's data. */
  data?: T;
  /** Failed attempts so far. */
  attempts?: number;
  /** Wait before the next attempt, in ms (`retry`, `pause`). */
  delay?: number;
  /** Why a task was dropped: what the run said, or `failed` when its retries ran out. */
  reason?: string;
  /** Tasks waiting and running after this event. */
  pending: number;
  running: number;
}

export interface TaskQueueOptions<T> {
  /** Tasks running at once. */
  concurrency: number;
  /** Least time between two task starts, in ms. */
  spacing: number;
  /** A run taking longer is aborted and retried, in ms. */
  timeout: number;
  /** Retries after a failure (not counting `Retry-After` waits) before the task is dropped. */
  retries: number;
  /** Backoff window of retries (jittered exponential, see util/backoff). */
  backoff: BackoffBounds;
  random?: () => number;
  now?: () => number;
  run(data: T, signal: AbortSignal): Promise<TaskResult<T>>;
  onEvent?(event: QueueEvent<T>): void;
}

interface Task<T> {
  data: T;
  priority: number;
  attempts: number;
  /** Not before this time (ms). */
  at: number;
  seq: number;
}

/** A small task queue: priority, concurrency, spacing, per-run timeout, retries with backoff, pause/resume/stop. */
export interface TaskQueue<T> {
  /** Add a task; higher `priority` runs first (default 0), FIFO within a priority. */
  push(data: T, priority?: number): void;
  /** Stop starting tasks (running ones finish). */
  pause(): void;
  resume(): void;
  /** Pause for good and forget the waiting tasks; returns them (e.g. to persist). */
  stop(): T[];
  /** Remove a waiting task by its data; `false` when it is not waiting (running or unknown). */
  remove(data: T): boolean;
  /** Data of waiting (not running) tasks, highest priority first. */
  pending(): T[];
  readonly size: number;
  readonly running: number;
  /** Resolves once nothing is waiting or running (or the queue is paused/stopped). */
  idle(): Promise<void>;
}

export function createTaskQueue<T>(o: TaskQueueOptions<T>): TaskQueue<T> {
  const now = o.now ?? Date.now;
  let tasks: Task<T>[] = [];
  let running = 0;
  let paused = false;
  let stopped = false;
  let pausedUntil = 0;
  let lastStart = -Infinity;
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waiters: Array<() => void> = [];

  const emit = (type: QueueEvent<T>['type'], extra: Partial<QueueEvent<T>> = {}) =>
    o.onEvent?.({ type, ...extra, pending: tasks.length, running });

  const settle = () => {
    if (running || (tasks.length && !paused && !stopped)) return;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const add = (t: Task<T>) => {
    tasks.push(t);
    tasks.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
  };

  const pump = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (paused || stopped) return settle();
    while (running < o.concurrency && tasks.length) {
      const t = now();
      const ready = tasks.find((x) => x.at <= t);
      const wake = Math.max(pausedUntil, lastStart + o.spacing, ready ? 0 : Math.min(...tasks.map((x) => x.at)));
      if (wake > t) {
        timer = setTimeout(pump, wake - t);
        return;
      }
      tasks.splice(tasks.indexOf(ready!), 1);
      lastStart = t;
      void start(ready!);
    }
    settle();
  };

  const start = async (task: Task<T>) => {
    running++;
    const tell = (type: QueueEvent<T>['type'], extra?: Partial<QueueEvent<T>>) =>
      emit(type, { data: task.data, attempts: task.attempts, ...extra });
    tell('start');
    const ctl = new AbortController();
    let to: ReturnType<typeof setTimeout> | undefined;
    let result: TaskResult<T>;
    try {
      result = await Promise.race([
        o.run(task.data, ctl.signal),
        new Promise<TaskResult<T>>((r) => {
          to = setTimeout(() => {
            ctl.abort();
            r({ retry: true });
          }, o.timeout);
        }),
      ]);
    } catch {
      result = { retry: true };
    }
    clearTimeout(to);
    running--;
    if (stopped) return settle();
    if ('done' in result) tell('done');
    else if ('drop' in result) tell('drop', { reason: result.drop });
    else if ('split' in result) {
      for (const data of result.split) add({ ...task, data, at: 0 });
      tell('split');
    } else if (result.after !== undefined) {
      pausedUntil = Math.max(pausedUntil, now() + result.after);
      add(task);
      tell('pause', { delay: result.after });
    } else if (++task.attempts > o.retries) {
      tell('drop', { reason: 'failed' });
    } else {
      const delay = backoffDelay(task.attempts, o.backoff, o.random);
      add({ ...task, at: now() + delay });
      tell('retry', { delay });
    }
    pump();
  };

  return {
    push(data, priority = 0) {
      if (stopped) return;
      add({ data, priority, attempts: 0, at: 0, seq: seq++ });
      pump();
    },
    pause() {
      paused = true;
      pump();
    },
    resume() {
      paused = false;
      pump();
    },
    stop() {
      stopped = true;
      const left = tasks.map((t) => t.data);
      tasks = [];
      pump();
      return left;
    },
    remove(data) {
      const i = tasks.findIndex((t) => t.data === data);
      if (i >= 0) tasks.splice(i, 1);
      settle();
      return i >= 0;
    },
    pending: () => tasks.map((t) => t.data),
    get size() {
      return tasks.length;
    },
    get running() {
      return running;
    },
    idle() {
      return new Promise<void>((r) => {
        waiters.push(r);
        settle();
      });
    },
  };
}
