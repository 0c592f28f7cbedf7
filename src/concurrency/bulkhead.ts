/**
 * Bulkhead: a fixed concurrency limit. At most `limit` calls hold a permit at once; the rest wait in a bounded FIFO
 * queue (or are refused at once), so one slow dependency cannot take every connection, socket or worker.
 */
import type { Call } from '../core/call.js';
import { NEVER_ABORTED, type Context, type Task } from '../core/context.js';
import { DeadlineHeap, type DeadlineEntry } from '../core/deadline-heap.js';
import type { RejectionCode } from '../core/errors.js';
import { COMMON_KEYS, QUEUE_KEYS, QueueingLimiter, parseCommon, type CommonOptions, type QueueOptions, type QueueingStats } from '../core/limiter-base.js';
import { OncePermit, type Permit } from '../core/permit.js';
import { RUN, type AcquireOptions, type AcquireResult, type Limiter } from '../core/policy.js';
import { settle } from '../core/safe-call.js';
import type { LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { Alarm, type Waiter } from '../core/waiters.js';
import { METRIC } from '../metrics/metrics.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions extends CommonOptions, QueueOptions {
  /** Most calls that may hold a permit at once. Integer ≥ 1. Required. */
  limit: number;
  /**
   * Most callers that may wait for a permit. Default **0**: a call that finds every permit taken is refused at once
   * with `CONCURRENCY_LIMITED` (fail fast, the right default behind a load balancer); but when a finite `maxWaitMs`
   * is given without `maxQueue`, **Infinity** (the wait is bounded by time instead). Beyond a positive bound,
   * calls are refused with `QUEUE_FULL`. Integer ≥ 0 or `Infinity`.
   */
  maxQueue?: number;
  /**
   * Longest a caller may wait for a permit, in ms. A waiter still queued when it elapses is evicted at that moment
   * with `MAX_WAIT_EXCEEDED`. ≥ 0 or `Infinity`. Default `Infinity`. Given alone (without `maxQueue`), callers do
   * wait: see `maxQueue`.
   */
  maxWaitMs?: number;
}

/** Option names {@link bulkhead} accepts. */
const BULKHEAD_KEYS = v.keys(...COMMON_KEYS, ...QUEUE_KEYS, 'limit');
/** Option names {@link Bulkhead.configure} accepts. */
const CONFIG_KEYS = v.keys('limit');

/** Settings that {@link Bulkhead.configure} can change at run time. */
export interface BulkheadConfig {
  /** New concurrency limit. Integer ≥ 1. */
  limit?: number;
}

/** Snapshot returned by {@link Bulkhead.stats}. */
export interface BulkheadStats extends QueueingStats {
  /** Calls holding a permit now. May exceed `limit` after the limit was lowered, or in dry-run mode. */
  inflight: number;
  /** Current concurrency limit. */
  limit: number;
  /** Highest `inflight` since creation. */
  maxInflightSeen: number;
}

/**
 * A fixed concurrency limiter, made by {@link bulkhead}. At capacity it refuses (`CONCURRENCY_LIMITED`, `QUEUE_FULL`)
 * or queues FIFO, and evicts waiters whose `maxWaitMs` or deadline runs out.
 * @example
 * ```ts
 * const pool: Bulkhead = bulkhead({ limit: 8 });
 * const r = pool.tryAcquire();
 * if (r.ok) { try { await work(); } finally { r.permit.release(); } }
 * ```
 */
export interface Bulkhead extends Limiter {
  /** Typed events: `reject`, `wouldReject` (dry-run), `dispose`. Free when nobody listens. */
  readonly events: QueueingLimiter<LimiterEvents>['events'];
  /**
   * Changes the limit at run time. Raising it admits waiters at once, in queue order. Lowering it never revokes a
   * running call: permits already held stay valid, and new calls are admitted only once `inflight` has drained
   * below the new limit.
   * @throws {RangeError | TypeError} on an invalid value or an unknown setting name (the message suggests the closest).
   * @example
   * ```ts
   * pool.configure({ limit: 20 });
   * ```
   */
  configure(config: BulkheadConfig): void;
  /** A snapshot of counts and state: base queue stats plus `inflight`, `limit` and `maxInflightSeen`. */
  stats(): BulkheadStats;
}

/**
 * When a queued waiter must leave, and why. Only waiters with a finite expiry get one, so a bulkhead without
 * `maxWaitMs` and without deadlines never touches the heap or a timer.
 */
class Expiry implements DeadlineEntry {
  seq = 0;
  heapIndex = -1;
  constructor(
    readonly waiter: Waiter<Permit>,
    /** Absolute clock time at which the waiter is evicted: the earlier of `enqueuedAt + maxWaitMs` and its deadline. */
    public due: number,
    readonly reason: RejectionCode,
  ) {}
}

class BulkheadImpl extends QueueingLimiter<LimiterEvents> implements Bulkhead {
  protected readonly busyReason = 'CONCURRENCY_LIMITED' as const;
  // Numbers from the start so V8 keeps them unboxed (see token-bucket.ts).
  private limit = 0;
  private inflight = 0;
  private maxInflightSeen = 0;
  /** Set while `tryAcquire` runs, so dry-run judges it as a call that would not wait. */
  private trying = false;
  /**
   * Expiry of every queued waiter that has one. Why a heap: with FIFO order and one `maxWaitMs`, expiries would be
   * monotone in queue order (the head's would do), but per-call deadlines vary and a later priority discipline
   * reorders the queue, so the earliest expiry is not the head's. A binary heap gives it in O(1) and keeps insert and
   * removal (grant, abort) at O(log n) — O(1) for inserts in the common monotone case. Waiters without a finite
   * expiry never enter it.
   */
  private readonly expiries = new DeadlineHeap<Expiry>();
  private readonly expiryOf = new Map<Waiter<Permit>, Expiry>();
  /**
   * The one timer of the bulkhead, armed at or before the earliest expiry. It is re-armed only when an earlier expiry
   * appears and cleared when no waiter has a finite expiry; when the waiter it was armed for leaves first (granted or
   * aborted), the alarm is left alone and fires early, which costs one heap peek and a re-arm. That trades a rare
   * early wake-up for not re-arming a host timer on every grant (one timer per grant under sustained load).
   */
  private readonly alarm = new Alarm(this.clock, () => this.reschedule());
  /** Shared release callback: a permit costs one small object, no closure. */
  private readonly onRelease = (): void => {
    this.inflight--;
    if (this.queue.length !== 0) this.reschedule();
  };

  constructor(options: BulkheadOptions) {
    const o = v.optionsObject<BulkheadOptions>('bulkhead', options, BULKHEAD_KEYS);
    if (o.limit === undefined) throw new TypeError('bulkhead: option "limit" is required');
    const limit = v.integer('bulkhead', 'limit', o.limit, 1); // before super(), which registers with the sink
    super('bulkhead', parseCommon('bulkhead', o), o, { maxQueue: 0, maxWaitMs: Infinity });
    this.limit = limit;
    this.t.gauge(METRIC.inflight, 'Calls holding a permit', {}, () => this.inflight);
    this.t.gauge(METRIC.limit, 'Concurrency limit', {}, () => this.limit);
  }

  private admit(): Permit {
    if (++this.inflight > this.maxInflightSeen) this.maxInflightSeen = this.inflight;
    return new OncePermit(this.onRelease);
  }

  protected take(_cost: number, _now: number): Permit | undefined {
    if (this.inflight < this.limit) return this.admit();
    if (!this.dryRun) return undefined;
    // Dry-run: every call runs and holds a real permit, so `inflight` is the true concurrency. Calls beyond the
    // limit stand for the queue enforcement would have had; count those enforcement would have refused.
    const waiting = this.inflight - this.limit;
    if (this.maxQueue === 0 || this.trying) this.wouldReject(this.busyReason, 0, 1);
    else if (waiting >= this.maxQueue) this.wouldReject('QUEUE_FULL', 0, 1);
    return this.admit();
  }

  override [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    // The base's uncontended path without its clock read: a fixed limit needs the time only to check a deadline.
    if (ctx.deadline === undefined && this.inflight < this.limit && this.queue.length === 0 && !this.isDisposed && !ctx.signal.aborted) {
      this.t.counts.admitted++;
      return this.runHolding(this.admit(), next, ctx);
    }
    return super[RUN](next, ctx);
  }

  /** @internal fused path: the same clock-free uncontended case as `[RUN]`; the base's otherwise. */
  override enter(call: Call): unknown {
    const signal = call.callerSignal;
    if (
      call.outerDeadline === undefined &&
      this.inflight < this.limit &&
      this.queue.length === 0 &&
      !this.isDisposed &&
      this.t.duration === undefined &&
      (signal === NEVER_ABORTED || !signal.aborted)
    ) {
      this.t.counts.admitted++;
      return this.admit();
    }
    return super.enter(call);
  }

  /**
   * Runs `next` holding `permit` and releases it however `next` ends. Same contract as the base's, with one promise
   * reaction instead of an async function frame and an await (measured: fewer bytes and ns per call). Timed calls
   * (a sink that records durations) take the base's path.
   */
  protected override runHolding<T>(permit: Permit, next: Task<T>, ctx: Context): Promise<T> {
    if (this.t.duration !== undefined) return super.runHolding(permit, next, ctx);
    let result: T | PromiseLike<T>;
    try {
      result = next(ctx);
    } catch (e) {
      permit.release();
      return Promise.reject(e);
    }
    // `settle`: `result` may be fn's hostile thenable; the permit must be released exactly once.
    return settle(
      result,
      (value) => {
        permit.release();
        return value as T;
      },
      (error: unknown) => {
        permit.release();
        throw error;
      },
    );
  }

  override tryAcquire(options?: AcquireOptions): AcquireResult {
    if (!this.dryRun) return super.tryAcquire(options);
    this.trying = true;
    try {
      return super.tryAcquire(options);
    } finally {
      this.trying = false;
    }
  }

  /**
   * Unknown: how long a running call will take is not something a fixed limit learns. NaN tells the base not to
   * refuse on `maxWaitMs` or the deadline at enqueue; waiters are evicted when their time actually runs out.
   */
  protected estimateWaitMs(_cost: number, _now: number): number {
    return Number.NaN;
  }

  protected override onEnqueued(w: Waiter<Permit>): void {
    let at = w.enqueuedAt + this.maxWaitMs;
    let reason: RejectionCode = 'MAX_WAIT_EXCEEDED';
    if (w.deadline !== undefined && w.deadline <= at) {
      at = w.deadline;
      reason = 'DEADLINE_EXCEEDED';
    }
    if (at === Infinity) return;
    const e = new Expiry(w, at, reason);
    this.expiries.push(e);
    this.expiryOf.set(w, e);
  }

  protected override onDequeued(w: Waiter<Permit>): void {
    if (this.expiryOf.size === 0) return;
    const e = this.expiryOf.get(w);
    if (e === undefined) return;
    this.expiryOf.delete(w);
    this.expiries.remove(e);
  }

  protected override onDispose(): void {
    this.alarm.clear();
  }

  protected reschedule(): void {
    const now = this.clock.now();
    // Expired waiters leave before anyone is admitted: a release at the very instant a waiter's time runs out (or
    // a host timer that fires late) must not start a call that can no longer start in time.
    for (let e = this.expiries.peek(); e !== undefined && e.due <= now; e = this.expiries.peek()) {
      this.expiries.pop();
      this.evict(e.waiter, e.reason, 0);
    }
    let head = this.queue.head;
    while (head !== undefined && this.inflight < this.limit) {
      this.grant(head, this.admit(), now);
      head = this.queue.head;
    }
    const next = this.expiries.peek();
    if (next === undefined) this.alarm.clear();
    else if (!this.alarm.armed || next.due < this.alarm.dueAt) this.alarm.set(next.due);
  }

  configure(config: BulkheadConfig): void {
    const c = v.optionsObject<BulkheadConfig>('bulkhead.configure', config, CONFIG_KEYS);
    this.limit = v.opt(c.limit, this.limit, (x) => v.integer('bulkhead.configure', 'limit', x, 1));
    // Raising admits waiters now; lowering admits nobody until inflight drains below the new limit.
    if (this.queue.length !== 0) this.reschedule();
  }

  stats(): BulkheadStats {
    return { ...this.baseStats(), inflight: this.inflight, limit: this.limit, maxInflightSeen: this.maxInflightSeen };
  }
}

/**
 * Creates a bulkhead: a fixed concurrency limit. A call holds one permit from admission until it settles
 * (`execute()` releases in `finally`; an `acquire()`d permit releases on `release()` or `Symbol.dispose`). A
 * bulkhead counts calls, not units: the per-call `cost` option is ignored.
 *
 * **At capacity:** with the default `maxQueue: 0`, a call that finds all `limit` permits taken is refused at once
 * with `CONCURRENCY_LIMITED`. With `maxQueue > 0`, `acquire()`/`execute()` wait in a FIFO queue and are admitted in
 * arrival order as permits free up; a full queue refuses with `QUEUE_FULL`. A waiter is evicted at the moment its
 * `maxWaitMs` elapses (`MAX_WAIT_EXCEEDED`) or its deadline passes (`DEADLINE_EXCEEDED`); calls are not refused up
 * front for their deadline, since how long running calls take is unknown. `tryAcquire()` never waits. Every
 * refusal carries `retryAfterMs: 0`: a fixed limit cannot know when a running call ends, so it gives no hint rather
 * than a wrong one. One timer serves the whole queue, and none is armed unless a waiter has a finite expiry. An
 * aborted waiter leaves the queue at once, rejecting with `signal.reason`, so it never holds a queue slot.
 *
 * **Dry run** (`dryRun: true`): every call is admitted and holds a permit, so `stats().inflight` and
 * `maxInflightSeen` show the real concurrency; a call that arrives with `limit` or more calls running is counted in
 * `wouldRejectBy` (`CONCURRENCY_LIMITED`, or `QUEUE_FULL` once more than `maxQueue` calls run beyond the limit).
 * Waits that enforcement would have evicted are not estimated.
 *
 * @throws {TypeError | RangeError} when an option is missing or invalid, or an option name is unknown (the message
 * names it and suggests the closest known one).
 * @example
 * ```ts
 * const db = bulkhead({ limit: 10, maxQueue: 50, maxWaitMs: 500 });
 * const rows = await db.execute(({ signal }) => pool.query(sql, { signal }));
 * ```
 */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  return new BulkheadImpl(options);
}
