import type { Timers } from '../util/timers';

/** Ticks per window. Detection comes within one tick after the window: at most 1/8 late, never early. */
const TICKS = 8;

/**
 * Detects a half-open link: no inbound frame for a whole window.
 *
 * A timer ticks every window / 8; `beat` only clears an idle count (no clock read, no timer churn
 * per frame). More than 8 ticks in a row without a frame → `onDead`. Each tick that saw frames
 * records when the previous tick ran, so `check` can also judge a gap the ticks slept through
 * (frozen timers in a background tab or a suspended app).
 */
export class Heartbeat {
  private timer_: unknown;
  private tick_ = 0;
  private idle_ = 0;
  /** No frame came before this time (conservative: the tick before the one that saw a frame). */
  private alive_ = 0;
  private prev_ = 0;
  /** The tick callback, made once per heartbeat on its first start. */
  private next_?: () => void;

  constructor(
    private readonly timers_: Timers,
    private readonly onDead_: () => void,
  ) {}

  /** Arm with a window of `ms` (server ping interval + client timeout); `0` disables. */
  start_(ms: number): void {
    this.stop_();
    this.idle_ = 0;
    this.alive_ = this.prev_ = this.timers_.now();
    this.tick_ = ms / TICKS;
    // Not `??=`: on a property, ES2020 output spells it with a temporary (more bytes).
    if (!this.next_) this.next_ = () => {
      const now = this.timers_.now();
      if (!this.idle_++) this.alive_ = this.prev_;
      this.prev_ = now;
      if (this.idle_ > TICKS) this.dead_();
      else this.timer_ = this.timers_.setTimeout(this.next_!, this.tick_);
    };
    if (ms > 0) this.timer_ = this.timers_.setTimeout(this.next_, this.tick_);
  }

  /** An inbound frame arrived: the link is alive. One assignment: it runs for every frame. */
  beat_(): void {
    this.idle_ = 0;
  }

  /** Check against the clock now (the app came back to the foreground after timers were frozen). */
  check_(): void {
    if (this.timer_ !== undefined && this.idle_ && this.timers_.now() - this.alive_ > this.tick_ * (TICKS + 1)) this.dead_();
  }

  stop_(): void {
    this.timers_.clearTimeout(this.timer_);
    this.timer_ = undefined;
  }

  private dead_(): void {
    this.stop_();
    this.onDead_();
  }
}
