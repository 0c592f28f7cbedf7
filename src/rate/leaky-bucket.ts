/**
 * Leaky bucket (pacer): calls leave at a steady rate, at most one per `1 / ratePerSecond` seconds (with an optional
 * small burst), waiting their turn in a bounded queue. Equivalent to GCRA (the ATM Forum's / ITU-T I.371 generic cell
 * rate algorithm), kept in its continuous-state form: a level of units that drains at the rate, plus the time it was
 * last updated, so that its precision does not depend on the clock's origin.
 */
import { NOOP_PERMIT, type Permit } from '../core/permit.js';
import type { Limiter } from '../core/policy.js';
import type { RejectionCode } from '../core/errors.js';
import { COMMON_KEYS, QUEUE_KEYS, QueueingLimiter, parseCommon, type CommonOptions, type QueueOptions, type QueueingStats } from '../core/limiter-base.js';
import type { LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { FifoQueue } from '../core/queue.js';
import { Alarm, type Waiter } from '../core/waiters.js';
import { TOLERANCE, checkBurst, checkRate, readyAt } from './float-time.js';

/** Options of {@link leakyBucket}. */
export interface LeakyBucketOptions extends CommonOptions, QueueOptions {
  /**
   * Calls (cost units) released per second. In [1e-6, 1e12]: from one unit per ~11.6 days (below that a wait is no
   * sensible timer, and near 1e-306 the spacing overflows to Infinity) to far more than one process can call. Required.
   */
  ratePerSecond: number;
  /**
   * How many cost units may leave back to back after an idle spell; 1 means strict spacing. In [1, 1e15]. Default 1.
   */
  burst?: number;
}

/** Settings that {@link LeakyBucket.configure} can change at run time. */
export interface LeakyBucketConfig {
  /** New rate, per second, in [1e-6, 1e12]. */
  ratePerSecond?: number;
  /** New burst, in [1, 1e15]. */
  burst?: number;
}

/** Snapshot returned by {@link LeakyBucket.stats}. */
export interface LeakyBucketStats extends QueueingStats {
  ratePerSecond: number;
  burst: number;
  /** Ms from now until a call of cost 1 queued at the tail would leave. */
  nextSlotInMs: number;
}

/** A pacing limiter. */
export interface LeakyBucket extends Limiter {
  readonly events: QueueingLimiter<LimiterEvents>['events'];
  /**
   * Changes rate and/or burst. Spacing already owed is rescaled to the new rate; waiters that can no longer leave
   * within their `maxWaitMs` or deadline are refused, those whose cost exceeds the new burst with `RATE_LIMITED`.
   * @throws {RangeError | TypeError} on invalid values or an unknown option name (the message names it).
   */
  configure(config: LeakyBucketConfig): void;
  stats(): LeakyBucketStats;
}

const KNOWN = v.keys(...COMMON_KEYS, ...QUEUE_KEYS, 'ratePerSecond', 'burst');
const CONFIG_KNOWN = v.keys('ratePerSecond', 'burst');

class LeakyBucketImpl extends QueueingLimiter<LimiterEvents, FifoQueue<Waiter>> implements LeakyBucket {
  protected readonly busyReason = 'RATE_LIMITED' as const;
  // Numeric state starts as a number, not as the class-field default `undefined`, so V8 keeps it unboxed and the
  // hot path's writes allocate nothing (see token-bucket.ts). The constructor sets the real values.
  /** Cost units drained per ms. */
  private ratePerMs = 0;
  private burst = 0;
  /**
   * Units admitted and not yet drained, at time `last`. GCRA's theoretical arrival time is `last + level / rate`, but
   * an absolute due time loses precision on a clock with a large origin (float-time.ts), so the level is kept instead.
   */
  private level = 0;
  private last = 0;
  /** Rounding tolerance in units: TOLERANCE · burst. */
  private tol = 0;
  private readonly alarm = new Alarm(this.clock, () => this.reschedule());

  constructor(options: LeakyBucketOptions) {
    const o = v.optionsObject<LeakyBucketOptions>('leakyBucket', options, KNOWN);
    if (o.ratePerSecond === undefined) throw new TypeError('leakyBucket: option "ratePerSecond" is required');
    // Validated before super(), which registers the bucket with its metrics sink.
    const ratePerMs = checkRate('leakyBucket', 'ratePerSecond', o.ratePerSecond) / 1000;
    const burst = v.opt(o.burst, 1, (x) => checkBurst('leakyBucket', x));
    super('leakyBucket', parseCommon('leakyBucket', o), o, { maxQueue: 100, maxWaitMs: Infinity }, new FifoQueue<Waiter>());
    this.ratePerMs = ratePerMs;
    this.burst = burst;
    this.tol = TOLERANCE * burst;
    this.last = this.clock.now();
  }

  private drain(now: number): void {
    if (now > this.last) {
      const l = this.level - (now - this.last) * this.ratePerMs;
      this.level = l > 0 ? l : 0;
      this.last = now;
    }
  }

  /** When `units` more (beyond the level) fit, i.e. the schedule has room for them; strictly later than now if not now. */
  private readyAt(units: number): number {
    return readyAt(this.level + units - this.burst, this.last, this.ratePerMs);
  }

  protected take(cost: number, now: number): Permit | undefined {
    this.drain(now);
    if (this.level + cost - this.burst <= this.tol) {
      this.level += cost;
      return NOOP_PERMIT;
    }
    return undefined;
  }

  protected estimateWaitMs(cost: number, now: number): number {
    this.drain(now);
    const units = this.queue.cost + cost;
    if (this.level + units - this.burst <= this.tol) return 0;
    const wait = this.readyAt(units) - now;
    return wait > 0 ? wait : 0;
  }

  protected override retryAfterFor(reason: RejectionCode, cost: number, now: number, waitMs: number): number {
    if (reason === 'QUEUE_FULL') {
      // When the head leaves, the queue has room again.
      const head = this.queue.head;
      const start = head === undefined ? now : this.readyAt(head.cost);
      return start > now ? start - now : 0;
    }
    if (reason === 'MAX_WAIT_EXCEEDED') return waitMs - this.maxWaitMs;
    return waitMs;
  }

  protected override checkCost(cost: number): void {
    if (cost > this.burst) {
      throw new RangeError(`${this.name}: cost ${cost} exceeds burst ${this.burst}; such a call could never leave`);
    }
  }

  protected override onDispose(): void {
    this.alarm.clear();
  }

  protected reschedule(now = this.clock.now()): void {
    let head = this.queue.head;
    while (head !== undefined && this.take(head.cost, now) !== undefined) {
      this.grant(head, NOOP_PERMIT, now);
      head = this.queue.head;
    }
    // readyAt is strictly later than now when the head does not fit: never a zero-delay timer.
    if (head === undefined) this.alarm.clear();
    else this.alarm.set(this.readyAt(head.cost));
  }

  configure(config: LeakyBucketConfig): void {
    const c = v.optionsObject<LeakyBucketConfig>('leakyBucket.configure', config, CONFIG_KNOWN);
    const ratePerMs = v.opt(c.ratePerSecond, undefined, (x) => checkRate('leakyBucket.configure', 'ratePerSecond', x) / 1000) ?? this.ratePerMs;
    const burst = v.opt(c.burst, this.burst, (x) => checkBurst('leakyBucket.configure', x));
    const now = this.clock.now();
    // Spacing already owed, in cost units (the level), carries over and drains at the new rate from now on.
    this.drain(now);
    this.ratePerMs = ratePerMs;
    this.burst = burst;
    this.tol = TOLERANCE * burst;
    let ahead = 0;
    for (const w of this.queue) {
      if (w.cost > burst) {
        this.evict(w, 'RATE_LIMITED', Infinity);
        continue;
      }
      const start = Math.max(now, this.readyAt(ahead + w.cost));
      if (start - w.enqueuedAt > this.maxWaitMs) this.evict(w, 'MAX_WAIT_EXCEEDED', start - now);
      else if (w.deadline !== undefined && start >= w.deadline) this.evict(w, 'DEADLINE_EXCEEDED', start - now);
      else ahead += w.cost;
    }
    this.reschedule();
  }

  stats(): LeakyBucketStats {
    return {
      ...this.baseStats(),
      ratePerSecond: this.ratePerMs * 1000,
      burst: this.burst,
      nextSlotInMs: this.estimateWaitMs(1, this.clock.now()),
    };
  }
}

/**
 * Creates a leaky bucket (pacer). Calls leave at most one cost unit per `1000 / ratePerSecond` ms; after an idle
 * spell up to `burst` units may leave back to back. Over any window of `w` seconds it admits at most
 * `burst + ratePerSecond · w` units, on a clock of any origin (the only slack is float rounding, at most 1e-12 · burst).
 *
 * **At capacity:** calls wait their turn in a FIFO queue of at most `maxQueue` callers (default 100). A full queue
 * refuses at once with `QUEUE_FULL` and `retryAfterMs` = when the head leaves and there is room again. A call whose
 * turn would come later than `maxWaitMs` (default Infinity) or at/after its deadline is refused at once.
 * `tryAcquire()` never waits: it refuses with `RATE_LIMITED` and the exact time until the call could leave. One timer
 * serves the whole queue; aborted waiters leave at once with `signal.reason` and give their slot back.
 *
 * @throws {TypeError | RangeError} when an option is missing, out of range or unknown (the message names it and, for a
 * misspelt name, the closest known one).
 * @example
 * ```ts
 * const pacer = leakyBucket({ ratePerSecond: 5, maxQueue: 50 });
 * for (const id of ids) pacer.execute(() => sendEmail(id)); // one every 200 ms
 * ```
 */
export function leakyBucket(options: LeakyBucketOptions): LeakyBucket {
  return new LeakyBucketImpl(options);
}
