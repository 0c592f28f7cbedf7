/**
 * Leaky bucket (pacer): calls leave at a steady rate, at most one per `1 / ratePerSecond` seconds (with an optional
 * small burst), waiting their turn in a bounded queue. Implemented as GCRA over one timestamp (the theoretical
 * arrival time), which is exact in virtual time.
 */
import { NOOP_PERMIT, type Permit } from '../core/permit.js';
import type { Limiter } from '../core/policy.js';
import type { RejectionCode } from '../core/errors.js';
import { QueueingLimiter, parseCommon, type CommonOptions, type QueueOptions, type QueueingStats } from '../core/limiter-base.js';
import type { LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { Alarm, type Waiter } from '../core/waiters.js';

/** Options of {@link leakyBucket}. */
export interface LeakyBucketOptions extends CommonOptions, QueueOptions {
  /** Calls (cost units) released per second. Finite, > 0. Required. */
  ratePerSecond: number;
  /**
   * How many cost units may leave back to back after an idle spell; 1 means strict spacing. Finite, ≥ 1. Default 1.
   */
  burst?: number;
}

/** Settings that {@link LeakyBucket.configure} can change at run time. */
export interface LeakyBucketConfig {
  ratePerSecond?: number;
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
   * @throws {RangeError | TypeError} on invalid values.
   */
  configure(config: LeakyBucketConfig): void;
  stats(): LeakyBucketStats;
}

/** Float tolerance in ms for "may leave now". */
const EPS_MS = 1e-9;

class LeakyBucketImpl extends QueueingLimiter<LimiterEvents> implements LeakyBucket {
  protected readonly busyReason = 'RATE_LIMITED' as const;
  // Numeric state starts as a number, not as the class-field default `undefined`, so V8 keeps it unboxed and the
  // hot path's write to `tat` allocates nothing (see token-bucket.ts). The constructor sets the real values.
  /** Emission interval, ms per cost unit. */
  private intervalMs = 0;
  private burst = 0;
  /** Theoretical arrival time: when the schedule is next free (GCRA). */
  private tat = 0;
  private queuedCost = 0;
  private readonly alarm = new Alarm(this.clock, () => this.reschedule());

  constructor(options: LeakyBucketOptions) {
    const o = v.optionsObject<LeakyBucketOptions>('leakyBucket', options);
    super('leakyBucket', parseCommon('leakyBucket', o), o, { maxQueue: 100, maxWaitMs: Infinity });
    if (o.ratePerSecond === undefined) throw new TypeError('leakyBucket: option "ratePerSecond" is required');
    this.intervalMs = 1000 / v.positive('leakyBucket', 'ratePerSecond', o.ratePerSecond);
    this.burst = v.opt(o.burst, 1, (x) => v.between('leakyBucket', 'burst', x, 1, Number.MAX_SAFE_INTEGER));
    this.tat = this.clock.now();
  }

  /** When a call of `cost` whose predecessors are all scheduled (up to `tat`) may leave. */
  private startFor(tat: number, cost: number): number {
    return tat + (cost - this.burst) * this.intervalMs;
  }

  protected take(cost: number, now: number): Permit | undefined {
    const tat = this.tat > now ? this.tat : now;
    if (this.startFor(tat, cost) <= now + EPS_MS) {
      this.tat = tat + cost * this.intervalMs;
      return NOOP_PERMIT;
    }
    return undefined;
  }

  protected estimateWaitMs(cost: number, now: number): number {
    const tat = (this.tat > now ? this.tat : now) + this.queuedCost * this.intervalMs;
    const wait = this.startFor(tat, cost) - now;
    return wait > EPS_MS ? wait : 0;
  }

  protected override retryAfterFor(reason: RejectionCode, cost: number, now: number, waitMs: number): number {
    if (reason === 'QUEUE_FULL') {
      // When the head leaves, the queue has room again.
      const head = this.queue.head;
      const start = head === undefined ? now : this.startFor(this.tat > now ? this.tat : now, head.cost);
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

  protected override onEnqueued(w: Waiter<Permit>): void {
    this.queuedCost += w.cost;
  }

  protected override onDequeued(w: Waiter<Permit>): void {
    this.queuedCost -= w.cost;
    if (this.queue.length === 0) this.queuedCost = 0;
  }

  protected override onDispose(): void {
    this.alarm.clear();
  }

  protected reschedule(): void {
    const now = this.clock.now();
    let head = this.queue.head;
    while (head !== undefined && this.take(head.cost, now) !== undefined) {
      this.grant(head, NOOP_PERMIT, now);
      head = this.queue.head;
    }
    if (head === undefined) this.alarm.clear();
    else this.alarm.set(this.startFor(this.tat > now ? this.tat : now, head.cost));
  }

  configure(config: LeakyBucketConfig): void {
    const c = v.optionsObject<LeakyBucketConfig>('leakyBucket.configure', config);
    const interval = v.opt(c.ratePerSecond, undefined, (x) => 1000 / v.positive('leakyBucket.configure', 'ratePerSecond', x)) ?? this.intervalMs;
    const burst = v.opt(c.burst, this.burst, (x) => v.between('leakyBucket.configure', 'burst', x, 1, Number.MAX_SAFE_INTEGER));
    const now = this.clock.now();
    // Spacing already owed, in cost units, carries over at the new rate.
    const owed = this.tat > now ? (this.tat - now) / this.intervalMs : 0;
    this.intervalMs = interval;
    this.burst = burst;
    this.tat = now + owed * interval;
    let ahead = 0;
    for (const w of this.queue) {
      if (w.cost > burst) {
        this.evict(w, 'RATE_LIMITED', Infinity);
        continue;
      }
      const start = Math.max(now, this.startFor(this.tat + ahead * interval, w.cost));
      if (start - w.enqueuedAt > this.maxWaitMs) this.evict(w, 'MAX_WAIT_EXCEEDED', start - now);
      else if (w.deadline !== undefined && start >= w.deadline) this.evict(w, 'DEADLINE_EXCEEDED', start - now);
      else ahead += w.cost;
    }
    this.reschedule();
  }

  stats(): LeakyBucketStats {
    return {
      ...this.baseStats(),
      ratePerSecond: 1000 / this.intervalMs,
      burst: this.burst,
      nextSlotInMs: this.estimateWaitMs(1, this.clock.now()),
    };
  }
}

/**
 * Creates a leaky bucket (pacer). Calls leave at most one cost unit per `1000 / ratePerSecond` ms; after an idle
 * spell up to `burst` units may leave back to back. Over any window of `w` seconds it admits at most
 * `burst + ratePerSecond · w` units.
 *
 * **At capacity:** calls wait their turn in a FIFO queue of at most `maxQueue` callers (default 100). A full queue
 * refuses at once with `QUEUE_FULL` and `retryAfterMs` = when the head leaves and there is room again. A call whose
 * turn would come later than `maxWaitMs` (default Infinity) or at/after its deadline is refused at once.
 * `tryAcquire()` never waits: it refuses with `RATE_LIMITED` and the exact time until the call could leave. One timer
 * serves the whole queue; aborted waiters leave at once with `signal.reason` and give their slot back.
 *
 * @throws {TypeError | RangeError} when an option is missing or invalid (the message names it).
 * @example
 * ```ts
 * const pacer = leakyBucket({ ratePerSecond: 5, maxQueue: 50 });
 * for (const id of ids) pacer.execute(() => sendEmail(id)); // one every 200 ms
 * ```
 */
export function leakyBucket(options: LeakyBucketOptions): LeakyBucket {
  return new LeakyBucketImpl(options);
}
