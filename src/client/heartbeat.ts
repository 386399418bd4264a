import type { Timers } from '../util/timers';

/** Ticks per window. Detection comes within one tick after the window: at most 1/8 late, never early. */
const TICKS = 8;

/** A connection whose link is judged by the heartbeat (the client: no object of its own per client). */
export interface Watched {
  /** Ticks of its group since its last inbound frame; an inbound frame sets it to 0 (one assignment per frame). */
  idle_: number;
  /** Its group while watched. */
  beats_?: Group;
  /** No inbound frame for a whole window: the link is half-open. */
  heartbeatDead_(): void;
}

/**
 * Every watched connection of one clock and one window: one timer ticks every window / 8 for all
 * of them, so an idle client holds no timer, closure or clock reading of its own (bench/mem.mjs).
 * A tick counts each member's `idle_` up; past 8, that member's link is dead. A member joining
 * mid-tick is judged the same way: a frame before a tick is at least 8 ticks old at the 9th.
 */
class Group {
  private readonly members_ = new Set<Watched>();
  private timer_: unknown;
  /** When the last TICKS + 1 ticks ran (a ring; the group's start before the first ones), for {@link overdue}. */
  private readonly times_: number[];
  private at_ = 0;
  private readonly run_ = () => this.scan_();

  constructor(
    private readonly timers_: Timers,
    readonly tick_: number,
    private readonly all_: Map<number, Group>,
  ) {
    this.times_ = new Array<number>(TICKS + 1).fill(timers_.now());
  }

  /** When the tick `k` ticks before the last one ran (`k` ≤ TICKS). */
  ran_(k: number): number {
    return this.times_[(this.at_ - k + TICKS + 1) % (TICKS + 1)]!;
  }

  add_(m: Watched): void {
    this.members_.add(m);
    m.beats_ = this;
    this.arm_();
  }

  remove_(m: Watched): void {
    m.beats_ = undefined;
    this.members_.delete(m);
    if (this.members_.size) return;
    this.timers_.clearTimeout(this.timer_);
    this.timer_ = undefined;
    this.all_.delete(this.tick_);
  }

  private scan_(): void {
    this.timer_ = undefined;
    this.at_ = (this.at_ + 1) % (TICKS + 1);
    this.times_[this.at_] = this.timers_.now();
    // O(members) per tick: O(1) per connection, whatever their number.
    for (const m of this.members_) {
      if (++m.idle_ <= TICKS) continue;
      this.remove_(m);
      m.heartbeatDead_();
    }
    if (this.members_.size) this.arm_();
  }

  /** Tick again in `tick_` ms, unless already armed (a member may have joined during the scan). */
  private arm_(): void {
    if (this.timer_ === undefined) this.timer_ = this.timers_.setTimeout(this.run_, this.tick_);
  }
}

/** The groups of each clock (tests inject their own), by tick length. */
const groups = new WeakMap<Timers, Map<number, Group>>();

/** Judge `m`'s link with a window of `ms` (server ping interval + client timeout) from now; `0` or less: not at all. */
export function watch(m: Watched, timers: Timers, ms: number): void {
  unwatch(m);
  m.idle_ = 0;
  if (!(ms > 0)) return;
  const tick = ms / TICKS;
  let byTick = groups.get(timers);
  if (!byTick) groups.set(timers, (byTick = new Map()));
  let g = byTick.get(tick);
  if (!g) byTick.set(tick, (g = new Group(timers, tick, byTick)));
  g.add_(m);
}

/** Stop judging `m`. */
export function unwatch(m: Watched): void {
  m.beats_?.remove_(m);
}

/**
 * Judge `m` against the clock `now` (the app came back after timers were frozen, when no tick
 * ran): taken as silent since the tick before the one that first found it idle — `idle_` ticks
 * before the last — and dead if that is over a window and a tick ago.
 */
export function overdue(m: Watched, now: number): boolean {
  const g = m.beats_;
  return !!g && m.idle_ > 0 && now - g.ran_(m.idle_) > g.tick_ * (TICKS + 1);
}
