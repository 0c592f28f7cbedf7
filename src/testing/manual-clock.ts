/**
 * A clock that moves only when told to. Tests and the simulator drive every primitive with it.
 */
import type { Clock, TimerHandle } from '../core/clock.js';

interface Timer {
  id: number;
  at: number;
  seq: number;
  callback: () => void;
}

const hostSetImmediate = globalThis.setImmediate;

/**
 * Resolves after every pending microtask (promise reaction) has run, by yielding one macrotask turn.
 * Uses no timer and no real time.
 */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => hostSetImmediate(resolve));
}

/**
 * A {@link Clock} whose time advances only through {@link ManualClock.advance} and friends. Timers fire in order of
 * due time, then of arming; microtasks are flushed after each timer, so promise chains settle as they would in
 * real time.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, maxQueue: 10, clock });
 * const p = bucket.acquire(); // second call waits
 * await clock.advance(1000);  // fires the refill timer
 * ```
 */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();

  /** @param startMs - initial time, ms. Default 0. */
  constructor(startMs = 0) {
    if (typeof startMs !== 'number' || !Number.isFinite(startMs)) {
      throw new RangeError(`ManualClock: startMs must be a finite number, got ${String(startMs)}`);
    }
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = ++this.seq;
    const d = delayMs > 0 && Number.isFinite(delayMs) ? delayMs : delayMs === Infinity ? Infinity : 0;
    this.timers.set(id, { id, at: this.time + d, seq: id, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Number of armed timers. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Due time of the next timer, or undefined. */
  nextTimerAt(): number | undefined {
    return this.next()?.at;
  }

  private next(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) {
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (at its due time), flushing
   * microtasks after each. Timers armed by callbacks fire too if they fall within the window.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`ManualClock.advance: ms must be a finite number >= 0, got ${String(ms)}`);
    await this.advanceTo(this.time + ms);
  }

  /** Moves time forward to the absolute time `at` (no-op if in the past), firing due timers on the way. */
  async advanceTo(at: number): Promise<void> {
    await flushMicrotasks();
    for (;;) {
      const t = this.next();
      if (t === undefined || t.at > at) break;
      this.timers.delete(t.id);
      if (t.at > this.time) this.time = t.at;
      t.callback();
      await flushMicrotasks();
    }
    if (at > this.time) this.time = at;
    await flushMicrotasks();
  }

  /** Fires timers until none is left (or `maxTimers` fired), advancing time to each. Returns how many fired. */
  async runAll(maxTimers = 10_000): Promise<number> {
    let fired = 0;
    await flushMicrotasks();
    for (;;) {
      const t = this.next();
      if (t === undefined || !Number.isFinite(t.at)) break;
      if (fired++ >= maxTimers) throw new Error(`ManualClock.runAll: more than ${maxTimers} timers fired; a timer loop?`);
      this.timers.delete(t.id);
      if (t.at > this.time) this.time = t.at;
      t.callback();
      await flushMicrotasks();
    }
    return fired;
  }
}
