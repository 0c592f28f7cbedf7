/**
 * Event-loop delay as a running total, so a latency measured in this process can be discounted by the time the
 * process itself was too busy to notice the answer.
 *
 * A latency sample in Node is the time from the call's start to the moment its completion callback *ran*. When the
 * event loop is blocked (a long synchronous task, GC, CPU saturation), answers that arrived meanwhile are seen only
 * once it frees up, and every call in flight looks slower by the stall: an adaptive limiter would read local CPU
 * saturation as downstream congestion and cut the limit, which sheds load that the dependency could serve (and does
 * nothing for the CPU). This monitor measures the stalls the same way the loop suffers them: a timer on the
 * limiter's clock, re-armed every `intervalMs`, that adds up how late it fires (the principle of `perf_hooks`'
 * `monitorEventLoopDelay`, but on the injected clock, so the simulator can model stalls and tests can drive it).
 *
 * It runs only while calls overlap (the owner starts it when an admission finds another call in flight and stops it
 * when the last one ends), so an idle process has no timer and can exit, and one call at a time arms none.
 */
import type { Clock, TimerHandle } from '../core/clock.js';

export class EventLoopLag {
  /** Lateness of every tick so far, ms. */
  private total = 0;
  private handle: TimerHandle | undefined = undefined;
  /** When the armed tick is due. */
  private due = 0;
  private readonly tick = (): void => {
    const now = this.clock.now();
    if (now > this.due) this.total += now - this.due;
    if (this.busy()) this.arm(now);
    else this.handle = undefined;
  };

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    /** Whether calls are still in flight (the monitor stops at a tick when not). */
    private readonly busy: () => boolean,
  ) {}

  /** Starts ticking if it is not (call at an admission). */
  start(now: number): void {
    if (this.handle === undefined) this.arm(now);
  }

  /** Total event-loop delay measured up to `now`, ms, counting a tick that is overdue right now. */
  at(now: number): number {
    return this.handle !== undefined && now > this.due ? this.total + (now - this.due) : this.total;
  }

  stop(): void {
    if (this.handle === undefined) return;
    this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private arm(now: number): void {
    this.due = now + this.intervalMs;
    this.handle = this.clock.setTimeout(this.tick, this.intervalMs);
  }
}
