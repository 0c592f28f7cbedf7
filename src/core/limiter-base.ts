/**
 * The enforcement half shared by every limiter that may make callers wait (token bucket, leaky bucket, bulkhead):
 * option parsing, the acquire / tryAcquire / execute flow, the bounded FIFO of waiters, abort handling, disposal
 * and telemetry. A subclass supplies the capacity model: whether a call fits now, how long a queued call would wait,
 * and when to wake waiters.
 */
import { systemClock, type Clock } from './clock.js';
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, createContext, executeContext, type ExecuteOptions, type Task } from './context.js';
import { DisposedError, ShedError, rejectionError, type RejectionCode } from './errors.js';
import { NOOP_PERMIT, type Permit, type PermitOutcome } from './permit.js';
import { KIND, RUN, type AcquireResult, type Limiter } from './policy.js';
import { promiseOf, reportError } from './safe-call.js';
import { SLOW, STAGE, type FastStage } from './stage.js';
import type { Call } from './call.js';
import { systemRandom, type RandomSource } from './random.js';
import { Telemetry, defaultPolicyName, type LimiterCounts, type LimiterEvents } from './telemetry.js';
import * as v from './validate.js';
import { FifoQueue, type QueueDiscipline } from './queue.js';
import { Waiter } from './waiters.js';
import { METRIC, type Metrics } from '../metrics/metrics.js';

/** Options every primitive accepts. */
export interface CommonOptions {
  /**
   * Instance name for errors, events and metric labels. Default: the factory name, or `<factory>#2`, `#3`, ... when
   * a live instance of that kind already reports to the same `metrics` under it. Two live instances of one kind
   * with the same explicit name on one metrics sink are refused (TypeError); a disposed one's name is free again.
   */
  name?: string;
  /** Time source. Default {@link systemClock}. */
  clock?: Clock;
  /** Random source for jitter. Default `Math.random`. */
  random?: RandomSource;
  /** Metrics sink. Default: none (no cost). */
  metrics?: Metrics;
}

/** Options of limiters that can queue callers. */
export interface QueueOptions {
  /**
   * Most callers that may wait at once. Beyond it, calls are refused at once with `QUEUE_FULL`. `0` disables
   * waiting: `acquire()` and `execute()` refuse like `tryAcquire()`. Integer ≥ 0 or `Infinity`. Default: the
   * primitive's (0 for `tokenBucket` and `bulkhead`, 100 for `leakyBucket`), except that a finite `maxWaitMs` given
   * without `maxQueue` makes it `Infinity`: asking to wait up to `maxWaitMs` means waiting, and the time bound then
   * bounds the queue. An explicit `maxQueue: 0` still never waits, whatever `maxWaitMs` says.
   */
  maxQueue?: number;
  /**
   * Longest a caller may wait, in ms; a call that would wait longer is refused at once. ≥ 0 or `Infinity`. Default
   * `Infinity`. Given (finite) without `maxQueue`, it also lifts the default bound on waiters (see `maxQueue`).
   */
  maxWaitMs?: number;
  /** Admit everything, but count and emit (`wouldReject`) what enforcement would have refused. Default false. */
  dryRun?: boolean;
}

/** Names of {@link CommonOptions}, for the unknown-option check (`v.optionsObject(owner, o, v.keys(...COMMON_KEYS, ...))`). */
export const COMMON_KEYS = ['name', 'clock', 'random', 'metrics'] as const;
/** Names of {@link QueueOptions}. */
export const QUEUE_KEYS = ['maxQueue', 'maxWaitMs', 'dryRun'] as const;

/** Parsed common options. */
export interface ParsedCommon {
  name: string;
  clock: Clock;
  random: RandomSource;
  metrics: Metrics | undefined;
}

/** Validates {@link CommonOptions}. */
export function parseCommon(owner: string, o: CommonOptions): ParsedCommon {
  return {
    name: o.name === undefined ? defaultPolicyName(owner, o.metrics) : v.name(owner, 'name', o.name),
    clock: v.opt(o.clock, systemClock, (x) => v.shaped<Clock>(owner, 'clock', x, ['now', 'setTimeout', 'clearTimeout'])),
    random: v.opt(o.random, systemRandom, (x) => v.func<RandomSource>(owner, 'random', x)),
    metrics: v.opt<Metrics | undefined>(o.metrics, undefined, (x) => v.shaped<Metrics>(owner, 'metrics', x, ['counter', 'gauge', 'histogram'])),
  };
}


/** Shared `{ ok: true }` result for permits that hold nothing. */
const OK_NOOP: AcquireResult = Object.freeze({ ok: true as const, permit: NOOP_PERMIT });

/** `stats()` fields every queueing limiter reports. */
export interface QueueingStats extends LimiterCounts {
  name: string;
  /** Callers waiting now. */
  queued: number;
  /** Configured bound on waiters. */
  maxQueue: number;
  /** Configured bound on the wait, ms. */
  maxWaitMs: number;
  dryRun: boolean;
  disposed: boolean;
}

/**
 * Runs a task, turning a synchronous throw into a rejection. The result may be the user's own (hostile) promise:
 * subscribe to it with `settle()` from safe-call.ts, never with its own `.then`.
 */
export function callTask<T>(next: Task<T>, ctx: Context): Promise<T> {
  try {
    return promiseOf(next(ctx));
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The queue of a limiter: a discipline over its waiters. */
export type WaiterDiscipline = QueueDiscipline<Waiter>;

export abstract class QueueingLimiter<Events extends LimiterEvents, Q extends WaiterDiscipline = WaiterDiscipline> implements Limiter, FastStage {
  readonly name: string;
  readonly clock: Clock;
  protected readonly random: RandomSource;
  protected readonly t: Telemetry<Events>;
  /** The waiters, in the discipline's order (FIFO unless the subclass hands over another). */
  protected readonly queue: Q;
  /**
   * Waiters in `queue`, counted here rather than read from `queue.size`: every discipline is another class, and the
   * hot paths' "is anyone waiting?" must stay one monomorphic field load whatever discipline a process uses.
   */
  protected waiting = 0;
  protected maxQueue: number;
  protected maxWaitMs: number;
  protected readonly dryRun: boolean;
  protected isDisposed = false;
  private readonly onAbort = (w: Waiter): void => {
    if (!this.removeWaiter(w)) return;
    this.t.counts.aborted++;
    w.reject(w.signal.reason);
    this.reschedule();
  };

  protected constructor(
    readonly kind: string,
    common: ParsedCommon,
    queue: QueueOptions,
    defaults: { maxQueue: number; maxWaitMs: number },
    queueDiscipline?: Q,
  ) {
    this.queue = queueDiscipline ?? (new FifoQueue<Waiter>() as unknown as Q);
    this.name = common.name;
    this.clock = common.clock;
    this.random = common.random;
    this.maxWaitMs = v.opt(queue.maxWaitMs, defaults.maxWaitMs, (x) => v.nonNegativeOrInfinity(kind, 'maxWaitMs', x));
    // A finite maxWaitMs without maxQueue asks to wait: a default of "never wait" would silently ignore it.
    const queueDefault = queue.maxWaitMs !== undefined && this.maxWaitMs !== Infinity ? Infinity : defaults.maxQueue;
    this.maxQueue = v.opt(queue.maxQueue, queueDefault, (x) => v.integer(kind, 'maxQueue', x, 0, true));
    this.dryRun = v.opt(queue.dryRun, false, (x) => v.bool(kind, 'dryRun', x));
    // Registered (the name claimed on the sink) only once every option is valid: a constructor that throws leaves
    // nothing behind. Subclasses validate their own options before calling super() for the same reason.
    this.t = new Telemetry<Events>(kind, common.name, common.metrics);
    this.t.gauge(METRIC.queued, {}, () => this.waiting);
  }

  /** @internal the policy's kind, for `pipeline()`'s checks. */
  get [KIND](): string {
    return this.kind;
  }

  /** Typed events: `reject`, `wouldReject`, `dispose`, plus the primitive's own. Free when nobody listens. */
  get events(): Telemetry<Events>['events'] {
    return this.t.events;
  }

  // ---- the capacity model, supplied by subclasses -------------------------------------------------------------

  /** The reason to report when a call does not fit and will not wait. */
  protected abstract readonly busyReason: RejectionCode;
  /**
   * Admits `cost` now if it fits (called only when nobody waits). Returns the permit, or undefined. `tenant` is the
   * call's, for limiters that partition their capacity.
   */
  protected abstract take(cost: number, now: number, tenant: string | undefined): Permit | undefined;
  /**
   * Ms from `now` until a call of `cost` (and `priority`) queued now would be admitted, behind the waiters its
   * discipline ranks ahead of it; NaN if unknown.
   */
  protected abstract estimateWaitMs(cost: number, now: number, priority: number): number;
  /** Admits whatever waiters fit now and arms (or clears) the wake-up for the rest. */
  /** Admits, expires or sheds waiters as the limiter's state allows at `now` (read from the clock when omitted). */
  protected abstract reschedule(now?: number): void;
  /** Throws a RangeError when `cost` could never be admitted (e.g. above capacity). */
  protected checkCost(_cost: number): void {}
  /** The retry hint for a refusal; by default the estimated wait (0 when unknown). */
  protected retryAfterFor(_reason: RejectionCode, _cost: number, _now: number, waitMs: number): number {
    return waitMs > 0 ? waitMs : 0;
  }
  /** Hook: a waiter joined the queue. */
  /**
   * Whether a call may be refused up front because its estimated wait exceeds `maxWaitMs` or its deadline. True for
   * limiters whose estimate is exact (the buckets compute when tokens arrive); the bulkhead's is a statistical one.
   */
  protected refusesOnEstimate(): boolean {
    return true;
  }
  protected onEnqueued(_w: Waiter): void {}
  /**
   * How a permit whose call failed with `error` ends (see {@link PermitOutcome}); `signal` and `deadline` are the
   * call's. Undefined (the default) releases it plainly: only limiters that learn from outcomes classify.
   */
  protected outcomeOf(_error: unknown, _signal: AbortSignal, _deadline: number | undefined): PermitOutcome | undefined {
    return undefined;
  }
  /** Hook: a waiter left the queue (admitted, aborted, refused or disposed). */
  protected onDequeued(_w: Waiter): void {}
  /** Hook: release timers on dispose. */
  protected onDispose(): void {}

  // ---- shared flow ------------------------------------------------------------------------------------------------

  tryAcquire(options?: ExecuteOptions): AcquireResult {
    const ctx = options === undefined ? undefined : createContext(this.name, this.clock, options);
    const cost = ctx === undefined ? 1 : ctx.cost;
    if (this.isDisposed) {
      this.rejected('DISPOSED', 0, cost);
      return { ok: false, reason: 'DISPOSED', retryAfterMs: 0 };
    }
    // An abort is not a capacity refusal: throw its reason, as acquire() would reject with it (see Limiter).
    if (ctx !== undefined && ctx.signal !== NEVER_ABORTED && ctx.signal.aborted) throw ctx.signal.reason;
    this.checkCost(cost);
    const now = this.clock.now();
    if (ctx?.deadline !== undefined && now >= ctx.deadline) return this.refuseNow('DEADLINE_EXCEEDED', cost, 0);
    if (this.waiting === 0) {
      const permit = this.take(cost, now, ctx?.tenant);
      if (permit !== undefined) {
        this.t.counts.admitted++;
        return permit === NOOP_PERMIT ? OK_NOOP : { ok: true, permit };
      }
    }
    const wait = this.estimateWaitMs(cost, now, ctx === undefined ? 0 : ctx.priority);
    return this.refuseNow(this.busyReason, cost, this.retryAfterFor(this.busyReason, cost, now, wait));
  }

  /** A `tryAcquire` refusal as a value (or, in dry-run, counted and admitted). */
  private refuseNow(reason: RejectionCode, cost: number, retryAfterMs: number): AcquireResult {
    if (this.dryRun) {
      this.wouldReject(reason, retryAfterMs, cost);
      this.t.counts.admitted++;
      return OK_NOOP;
    }
    this.rejected(reason, retryAfterMs, cost);
    return { ok: false, reason, retryAfterMs };
  }

  /**
   * Counts a refusal and emits `reject`. A listener that throws is reported asynchronously, never thrown into
   * `execute()` (which must not throw synchronously) or into a loop over other callers' waiters.
   */
  protected rejected(reason: RejectionCode, retryAfterMs: number, cost: number): void {
    try {
      this.t.rejected(reason, retryAfterMs, cost);
    } catch (e) {
      reportError(e);
    }
  }

  /** Counts a dry-run would-be refusal and emits `wouldReject`; a listener's throw is reported, as in {@link rejected}. */
  protected wouldReject(reason: RejectionCode, retryAfterMs: number, cost: number): void {
    try {
      this.t.wouldReject(reason, retryAfterMs, cost);
    } catch (e) {
      reportError(e);
    }
  }

  acquire(options?: ExecuteOptions): Promise<Permit> {
    let ctx: Context;
    try {
      ctx = options === undefined ? DEFAULT_CONTEXT : createContext(this.name, this.clock, options);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.acquireFor(ctx, undefined);
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    // Uncontended path: nobody waits, the call fits, no deadline has passed. No timer, no closure, no waiter.
    if (!this.isDisposed && this.waiting === 0 && !ctx.signal.aborted) {
      const now = this.clock.now();
      if (ctx.deadline === undefined || now < ctx.deadline) {
        const permit = this.take(ctx.cost, now, ctx.tenant);
        if (permit !== undefined) {
          this.t.counts.admitted++;
          return this.runHolding(permit, next, ctx);
        }
      }
    }
    // The waiter carries `next`: the grant runs it, and the caller's promise adopts the run's (no reaction between).
    return this.acquireFor(ctx, next);
  }

  /** @internal fused-path hooks: this limiter itself. */
  get [STAGE](): FastStage {
    return this;
  }

  /**
   * @internal fused path: the uncontended case of `[RUN]` (nobody waits, the call fits, its deadline has not passed,
   * no call durations to record). Returns the permit to release, or undefined for the shared no-op permit.
   */
  enter(call: Call): unknown {
    if (this.isDisposed || this.waiting !== 0 || this.t.duration !== undefined) return SLOW;
    const signal = call.callerSignal;
    if (signal !== NEVER_ABORTED && signal.aborted) return SLOW;
    const now = call.time(this.clock);
    const deadline = call.outerDeadline; // a racer is innermost, so this layer sees the deadline the call came with
    if (deadline !== undefined && now >= deadline) return SLOW;
    const permit = this.take(call.cost, now, call.tenant);
    if (permit === undefined) return SLOW;
    this.t.counts.admitted++;
    return permit === NOOP_PERMIT ? undefined : permit;
  }

  /** @internal fused path: releases the permit `enter` took, with the outcome's classification on a failure. */
  exit(call: Call, permit: unknown, value: unknown, isError: boolean): undefined {
    if (permit !== undefined) (permit as Permit).release(isError ? this.outcomeOf(value, call.callerSignal, call.outerDeadline) : undefined);
    return undefined;
  }

  /** Runs `next` while holding `permit`; releases it however `next` ends. */
  protected runHolding<T>(permit: Permit, next: Task<T>, ctx: Context): Promise<T> {
    if (this.t.duration === undefined) return permit === NOOP_PERMIT ? callTask(next, ctx) : this.runAndRelease(permit, next, ctx);
    const start = this.clock.now();
    const run = permit === NOOP_PERMIT ? callTask(next, ctx) : this.runAndRelease(permit, next, ctx);
    return this.t.timed(run, this.clock, start);
  }

  private async runAndRelease<T>(permit: Permit, next: Task<T>, ctx: Context): Promise<T> {
    let value: T;
    try {
      value = await next(ctx);
    } catch (e) {
      permit.release(this.outcomeOf(e, ctx.signal, ctx.deadline));
      throw e;
    }
    permit.release();
    return value;
  }

  /**
   * The waiting path: refuse at once, admit, or queue. With a `task` (from `execute`) the promise is the task's
   * outcome, run holding the permit once admitted; without, it is the permit itself (`acquire`).
   */
  protected acquireFor(ctx: Context, task: undefined): Promise<Permit>;
  protected acquireFor<T>(ctx: Context, task: Task<T>): Promise<T>;
  protected acquireFor<T>(ctx: Context, task: Task<T> | undefined): Promise<T | Permit> {
    if (this.isDisposed) {
      this.rejected('DISPOSED', 0, ctx.cost);
      return Promise.reject(new DisposedError(this.name));
    }
    if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
    const cost = ctx.cost;
    try {
      this.checkCost(cost);
    } catch (e) {
      return Promise.reject(e);
    }
    const now = this.clock.now();
    if (ctx.deadline !== undefined && now >= ctx.deadline) return this.refuse('DEADLINE_EXCEEDED', cost, now, 0, ctx, task);
    if (this.waiting === 0) {
      const permit = this.take(cost, now, ctx.tenant);
      if (permit !== undefined) {
        this.t.counts.admitted++;
        return this.proceed(permit, ctx, task);
      }
    }
    const wait = this.estimateWaitMs(cost, now, ctx.priority);
    let reason: RejectionCode | undefined;
    let victim: Waiter | undefined;
    if (this.maxQueue === 0) reason = this.busyReason;
    else if (
      this.waiting >= this.maxQueue &&
      // Full: the discipline may shed a waiter it ranks below the newcomer (not in dry-run, where nobody queues).
      (this.dryRun || (victim = this.queue.victim({ cost, priority: ctx.priority, tenant: ctx.tenant, enqueuedAt: now, deadline: ctx.deadline }, now)) === undefined)
    ) {
      reason = 'QUEUE_FULL';
    } else if (this.refusesOnEstimate()) {
      if (wait > this.maxWaitMs) reason = 'MAX_WAIT_EXCEEDED';
      else if (ctx.deadline !== undefined && now + wait >= ctx.deadline) reason = 'DEADLINE_EXCEEDED';
    }
    if (reason !== undefined) return this.refuse(reason, cost, now, wait, ctx, task);
    if (this.dryRun) {
      // Enforcement would have queued this call (a delay, not a refusal): dry-run admits it at once.
      this.t.counts.admitted++;
      return this.proceed(NOOP_PERMIT, ctx, task);
    }
    if (victim !== undefined && this.removeWaiter(victim)) {
      this.shedWaiter(victim, new ShedError(this.name, this.shedRetryAfterMs(victim, now), 'displaced', { priority: ctx.priority, tenant: ctx.tenant }));
    }
    const w = new Waiter(ctx, now, task);
    const promise = w.promise();
    this.queue.enqueue(w, now);
    this.waiting++;
    this.onEnqueued(w);
    const unwatchable = w.watchAbort(this.onAbort);
    if (unwatchable !== undefined) {
      // A foreign signal whose addEventListener threw: the call could not be aborted, so it does not wait.
      this.removeWaiter(w);
      w.reject(unwatchable);
      return promise as Promise<T>;
    }
    this.reschedule(now);
    return promise as Promise<T | Permit>;
  }

  /** An admitted call: the permit itself (`acquire`), or the task run holding it (`execute`). */
  private proceed<T>(permit: Permit, ctx: Context, task: Task<T> | undefined): Promise<T | Permit> {
    return task === undefined ? Promise.resolve(permit) : this.runHolding(permit, task, ctx);
  }

  /** Refuses a call (or, in dry-run, counts it and admits). */
  protected refuse<T>(reason: RejectionCode, cost: number, now: number, wait: number, ctx: Context, task: Task<T> | undefined): Promise<T | Permit> {
    const retryAfterMs = this.retryAfterFor(reason, cost, now, wait);
    if (this.dryRun) {
      this.wouldReject(reason, retryAfterMs, cost);
      this.t.counts.admitted++;
      return this.proceed(NOOP_PERMIT, ctx, task);
    }
    this.rejected(reason, retryAfterMs, cost);
    return Promise.reject(rejectionError(reason, this.name, retryAfterMs));
  }

  /** Admits a queued waiter: `w` must be what `this.queue.peek(now)` just returned (the discipline dequeues it). */
  protected grant(w: Waiter, permit: Permit, now: number): void {
    this.queue.dequeue(now);
    this.waiting--;
    this.onDequeued(w);
    this.t.counts.admitted++;
    this.t.queueWait?.record(now - w.enqueuedAt);
    const task = w.task;
    if (task === undefined) w.resolve(permit);
    else this.runGranted(w, permit, task);
  }

  /** Runs a granted waiter's task holding `permit`; the waiter's promise settles with the task's outcome. */
  protected runGranted(w: Waiter, permit: Permit, task: Task<unknown>): void {
    w.resolve(this.runHolding(permit, task, w.ctx));
  }

  /** Refuses a queued waiter (e.g. after a reconfiguration made its wait too long). */
  protected evict(w: Waiter, reason: RejectionCode, retryAfterMs: number): void {
    if (!this.removeWaiter(w)) return;
    w.reject(rejectionError(reason, this.name, retryAfterMs));
    this.rejected(reason, retryAfterMs, w.cost);
  }

  /**
   * Rejects a waiter the discipline shed (already out of the queue: removed by the caller or returned by the
   * discipline's `shed`), counted under `SHED`.
   */
  protected shedWaiter(w: Waiter, error: ShedError): void {
    w.reject(error);
    this.rejected('SHED', error.retryAfterMs, w.cost);
  }

  /** Runs the discipline's time-driven shedding (CoDel) at `now`: every waiter it sheds is rejected with `SHED`. */
  protected shedDue(now: number): void {
    const q = this.queue;
    if (q.shed === undefined) return;
    for (let w = q.shed(now); w !== undefined; w = q.shed(now)) {
      this.waiting--;
      this.onDequeued(w);
      this.shedWaiter(w, new ShedError(this.name, this.shedRetryAfterMs(w, now), 'queue-delay'));
    }
  }

  /** The retry hint of a shed waiter; by default the wait a call of its cost would face now. */
  protected shedRetryAfterMs(w: Waiter, now: number): number {
    const wait = this.estimateWaitMs(w.cost, now, w.priority);
    return wait > 0 ? wait : 0;
  }

  private removeWaiter(w: Waiter): boolean {
    if (!this.queue.remove(w)) return false;
    this.waiting--;
    this.onDequeued(w);
    return true;
  }

  dispose(reason?: unknown): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const waiters = this.queue.drain();
    this.waiting = 0;
    this.onDispose();
    for (const w of waiters) {
      this.onDequeued(w);
      this.t.counts.rejected++;
      this.t.counts.rejectedBy.DISPOSED++;
      w.reject(reason === undefined ? new DisposedError(this.name) : reason);
    }
    this.t.disposed(waiters.length);
  }

  /** `Symbol.dispose` alias of {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  protected baseStats(): QueueingStats {
    return {
      name: this.name,
      ...this.t.snapshotCounts(),
      queued: this.waiting,
      maxQueue: this.maxQueue,
      maxWaitMs: this.maxWaitMs,
      dryRun: this.dryRun,
      disposed: this.isDisposed,
    };
  }
}
