/**
 * Timeout: bounds how long one attempt may run, and enforces the overall deadline that travels in the context.
 *
 * Every instance keeps its pending calls in one deadline heap and arms at most one timer (an {@link Alarm}) for the
 * earliest deadline, so a call costs no timer of its own. The signal handed to `fn` is created only if `fn` reads
 * it, so a call that ignores `ctx.signal` costs no AbortController either.
 */
import { Call, type Racer } from '../core/call.js';
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, executeContext, type ExecuteOptions, type Task } from '../core/context.js';
import { DisposedError, TimeoutError, rejectionError } from '../core/errors.js';
import { COMMON_KEYS, callTask, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { KIND, RUN, type Policy } from '../core/policy.js';
import { isThenable, reportError, settle } from '../core/safe-call.js';
import { Telemetry, type DisposeEvent, type RejectEvent } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { Alarm } from '../core/waiters.js';
import { DeadlineHeap } from '../core/deadline-heap.js';
import { SLOW, STAGE, type FastStage } from '../core/stage.js';
import { METRIC } from '../metrics/metrics.js';

/** Options of {@link timeout}. */
export interface TimeoutOptions extends CommonOptions {
  /**
   * Longest one attempt may run, in ms, counted from when the call enters this policy (so a queue wait in an outer
   * limiter does not count, but one in an inner limiter does). The context deadline (`ExecuteOptions.deadline` /
   * `timeoutMs`) still bounds it: the earlier of the two wins. A number > 0, or `Infinity` to enforce only the
   * context deadline. Required.
   */
  timeoutMs: number;
}

/** Emitted when a call runs past its deadline and is rejected with a {@link TimeoutError}. */
export interface TimeoutEvent {
  /** Policy instance name. */
  readonly policy: string;
  /** Time the attempt was allowed, ms: the smaller of `timeoutMs` and what was left of the context deadline. */
  readonly timeoutMs: number;
  /** The absolute deadline that passed, on the policy's clock. */
  readonly deadline: number;
  /** Which bound ended the call: this policy's `timeoutMs`, or the deadline that came with the context. */
  readonly limitedBy: 'timeoutMs' | 'deadline';
}

/** Events a {@link Timeout} emits. Free when nobody listens. */
export interface TimeoutEvents {
  /** A call ran past its deadline. */
  timeout: (event: TimeoutEvent) => void;
  /**
   * A call was refused at entry: its context deadline had already passed (`DEADLINE_EXCEEDED`), or the policy was
   * disposed (`DISPOSED`).
   */
  reject: (event: RejectEvent) => void;
  /** The policy was disposed; `rejectedWaiters` counts the running calls it rejected. */
  dispose: (event: DisposeEvent) => void;
}

/** Snapshot returned by {@link Timeout.stats}. */
export interface TimeoutStats {
  name: string;
  /** The configured per-attempt timeout, ms. */
  timeoutMs: number;
  /** Calls that started (`fn` was called). */
  calls: number;
  /** Calls rejected with a {@link TimeoutError}. */
  timedOut: number;
  /** Calls running now (started, not settled, deadline not passed). */
  pending: number;
  /** Running calls whose caller aborted; they rejected with `signal.reason`. */
  aborted: number;
  /** Calls refused at entry: `DEADLINE_EXCEEDED` (context deadline already passed) or `DISPOSED`. */
  rejected: number;
  /** Whether {@link Timeout.dispose} was called. */
  disposed: boolean;
}

/** A timeout policy. */
export interface Timeout extends Policy {
  /** The configured per-attempt timeout, ms. */
  readonly timeoutMs: number;
  /** Typed events: `timeout`, `reject`, `dispose`. */
  readonly events: Telemetry<TimeoutEvents>['events'];
  stats(): TimeoutStats;
  /**
   * Rejects every call it is racing now with `reason` (default: a `DisposedError`) and aborts their `ctx.signal`
   * with it, clears its timer, and refuses later calls with `DisposedError` (`fn` not called). `fn`'s late outcome
   * is dropped, as after a timeout. Calls it does not race (`timeoutMs: Infinity` and no context deadline) run on.
   * Idempotent.
   */
  dispose(reason?: unknown): void;
  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void;
}

/** Option names {@link timeout} accepts. */
const TIMEOUT_KEYS = v.keys(...COMMON_KEYS, 'timeoutMs');

/** Node clamps longer delays to 1 ms; a farther deadline is reached in hops of this size. */
const MAX_TIMER_MS = 2_147_483_647;

/** Runs the deferred arming as a plain promise reaction. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The racer. A running call is a {@link Call}: the context `fn` receives and the entry in the deadline heap, in one
 * object. Without a context deadline, a call's start (and so its deadline) is stamped on first read of
 * `ctx.deadline` or, at the latest, in the microtask after it started (see `arm`), so a call that settles at once
 * never reads the clock; on a pipeline's fused path it reuses the clock reading of the layers outside it.
 */
class TimeoutImpl implements Timeout, Racer, FastStage {
  readonly [KIND] = 'timeout';
  readonly name: string;
  readonly clock: Timeout['clock'];
  readonly timeoutMs: number;
  private readonly t: Telemetry<TimeoutEvents>;
  /** Running calls with a stamped deadline, earliest first. */
  private readonly heap = new DeadlineHeap<Call>();
  /** Calls started since the last arm() whose start is not stamped yet; settled ones are skipped, not removed. */
  private readonly fresh: (Call | undefined)[] = [];
  /** Entries of `fresh` in use (the array is reused: truncating it costs a runtime call). */
  private freshCount = 0;
  private readonly alarm: Alarm;
  private armQueued = false;
  private timedOut = 0;
  private isDisposed = false;
  /**
   * Runs in the microtask after calls started (queued behind their own reactions): stamps the calls still running
   * with one clock read, moves them into the heap and arms the timer for the earliest deadline. A call that settled
   * in between costs neither a clock read nor a timer.
   */
  private readonly arm = (): void => {
    this.armQueued = false;
    let now = NaN;
    const fresh = this.fresh;
    const count = this.freshCount;
    this.freshCount = 0;
    for (let i = 0; i < count; i++) {
      const a = fresh[i]!;
      fresh[i] = undefined;
      if (a.done) continue;
      if (a.due !== a.due) this.stamp(a, now === now ? now : (now = this.clock.now()));
      this.heap.push(a);
    }
    const head = this.heap.peek();
    if (head !== undefined && (!this.alarm.armed || head.due < this.alarm.dueAt)) {
      this.setAlarm(head.due, now === now ? now : this.clock.now());
    }
  };

  constructor(options: TimeoutOptions) {
    const o = v.optionsObject<TimeoutOptions>('timeout', options, TIMEOUT_KEYS);
    const common = parseCommon('timeout', o);
    if (o.timeoutMs === undefined) throw new TypeError('timeout: option "timeoutMs" is required');
    if (typeof o.timeoutMs === 'number' && o.timeoutMs <= 0) {
      throw new RangeError(`timeout: option "timeoutMs" must be a number > 0 or Infinity, got ${o.timeoutMs}`);
    }
    this.timeoutMs = v.nonNegativeOrInfinity('timeout', 'timeoutMs', o.timeoutMs);
    this.name = common.name;
    this.clock = common.clock;
    this.alarm = new Alarm(this.clock, () => this.onAlarm());
    this.t = new Telemetry<TimeoutEvents>('timeout', this.name, common.metrics);
    this.t.counter(METRIC.timeouts, {}, () => this.timedOut);
    this.t.gauge(METRIC.inflight, {}, () => this.pending());
  }

  get events(): Telemetry<TimeoutEvents>['events'] {
    return this.t.events;
  }

  /** @internal fused-path hooks: this policy itself. */
  get [STAGE](): FastStage {
    return this;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    const call = Call.from(ctx);
    const refused = this.admit(call, false);
    if (refused !== undefined) return refused as Promise<T>;
    // Nothing to enforce (timeoutMs Infinity, no deadline): pass straight through, as any policy would.
    if (call.racer === undefined) return callTask(next, ctx);
    if (this.t.duration === undefined) return this.run(next, call);
    const start = call.time(this.clock);
    return this.t.timed(this.run(next, call), this.clock, start);
  }

  /**
   * Admits `call`: races it (sets `call.racer`, and its deadline when known) or lets it pass when there is nothing to
   * enforce; returns undefined. Refuses a call that arrives aborted or past its context deadline: with a rejected
   * promise (counted), or on the fused path (`fast`) with SLOW, counting nothing.
   */
  private admit(call: Call, fast: boolean): Promise<never> | typeof SLOW | undefined {
    if (this.isDisposed) {
      if (fast) return SLOW;
      this.t.rejected('DISPOSED', 0, call.cost);
      return Promise.reject(new DisposedError(this.name));
    }
    const callerSignal = call.callerSignal;
    if (callerSignal !== NEVER_ABORTED && callerSignal.aborted) return fast ? SLOW : Promise.reject(callerSignal.reason);
    const outer = call.outerDeadline;
    if (outer === undefined) {
      if (this.timeoutMs !== Infinity) {
        call.racer = this;
        // A layer outside already read the clock in this pass: its reading is this call's start.
        if (call.now === call.now) this.stamp(call, call.now);
      }
    } else {
      const now = call.time(this.clock);
      // Same rule as the limiters: a call that cannot start before its deadline is refused, not started.
      if (now >= outer) {
        if (fast) return SLOW;
        this.t.rejected('DEADLINE_EXCEEDED', 0, call.cost);
        return Promise.reject(rejectionError('DEADLINE_EXCEEDED', this.name, 0));
      }
      const due = now + this.timeoutMs;
      call.racer = this;
      call.startedAt = now;
      call.due = outer < due ? outer : due; // finite: options validate deadlines as finite
    }
    this.t.counts.admitted++;
    return undefined;
  }

  /** @internal fused path: admit now, or SLOW (aborted, past the deadline, or calls to time). */
  enter(call: Call): unknown {
    return this.t.duration !== undefined ? SLOW : this.admit(call, true);
  }

  /** @internal fused path: nothing to do on the way out (the race ended in `finished` / `onAlarm`). */
  exit(): undefined {
    return undefined;
  }

  /** Fixes the start of `call` at `now` (only calls without a context deadline are stamped late). */
  stamp(call: Call, now: number): void {
    call.startedAt = now;
    call.due = now + this.timeoutMs;
  }

  private run<T>(next: Task<T>, call: Call): Promise<T> {
    let r: T | PromiseLike<T>;
    try {
      r = next(call);
    } catch (e) {
      return (this.endedAtOnce(call) ? Promise.reject(call.callerSignal.reason) : Promise.reject(e)) as Promise<T>;
    }
    if (!isThenable(r)) return (this.endedAtOnce(call) ? Promise.reject(call.callerSignal.reason) : Promise.resolve(r)) as Promise<T>;
    const p = call.promise() as Promise<T>;
    this.track(call, r);
    return p;
  }

  /**
   * fn returned or threw synchronously: no heap entry, no timer, no extra promise. A synchronous fn cannot be
   * interrupted, so its outcome is passed on as is, however long it ran, unless the caller aborted meanwhile.
   */
  endedAtOnce(call: Call): boolean {
    call.done = true;
    if (!call.callerSignal.aborted) return false;
    this.t.counts.aborted++;
    return true;
  }

  /** fn went asynchronous: only now does the call need a place in the deadline queue (and, maybe, the timer). */
  track(call: Call, r: PromiseLike<unknown>): void {
    // A call whose deadline is known and not before the armed timer's joins the heap now: nothing to arm. Any other
    // call waits in `fresh` for the microtask below, which it usually does not outlive.
    const covered = call.due === call.due && this.alarm.armed && call.due >= this.alarm.dueAt;
    if (covered) this.heap.push(call);
    else this.fresh[this.freshCount++] = call;
    const signal = call.callerSignal;
    if (signal !== NEVER_ABORTED) {
      try {
        signal.addEventListener('abort', call);
      } catch (e) {
        // A foreign signal that cannot be listened to: the call still ends, by its outcome or its deadline.
        reportError(e);
      }
      if (signal.aborted) this.callerAborted(call); // fn aborted it during its synchronous part
    }
    // `settle`: r is fn's value, maybe a hostile thenable; exactly one of these runs, never a synchronous throw.
    void settle(
      r,
      (value) => this.finished(call, value, false),
      (error: unknown) => this.finished(call, error, true),
    );
    // Queued after the reaction above: a promise that is already settled settles the call first, so the call
    // never reads the clock or arms the timer. Only calls still running after this microtask need them.
    if (!covered && !call.done && !this.armQueued) {
      this.armQueued = true;
      // A promise reaction, not queueMicrotask(): Node wraps each queueMicrotask callback in an AsyncResource.
      void RESOLVED.then(this.arm);
    }
  }

  /**
   * fn's promise settled. Late outcomes (after a timeout or an abort) are dropped here, handled, not unhandled.
   * No clock read: the shared timer fires at the deadline, so an outcome that gets here first is on time (to within
   * event-loop lag, which delays the timer and the outcome alike).
   */
  private finished(call: Call, outcome: unknown, isError: boolean): void {
    if (call.done) return;
    this.dequeue(call);
    call.done = true;
    call.end(outcome, isError);
  }

  /** The caller's signal aborted while fn runs: reject now with its reason and pass the abort inward. */
  callerAborted(call: Call): void {
    if (call.done) return;
    this.dequeue(call);
    call.done = true;
    const reason = call.callerSignal.reason;
    call.endReason = reason;
    this.t.counts.aborted++;
    call.end(reason, true);
    call.controller?.abort(reason);
  }

  /** Marks `call` timed out, aborts its signal if fn took it, and returns the error to reject with. */
  private timeOut(call: Call): TimeoutError {
    call.done = true;
    const allowedMs = call.due - call.startedAt;
    const byDeadline = allowedMs < this.timeoutMs;
    const error = byDeadline
      ? new TimeoutError(this.name, allowedMs, `${this.name}: call deadline reached after ${Math.round(allowedMs)} ms`)
      : new TimeoutError(this.name, allowedMs);
    call.endReason = error;
    this.timedOut++;
    if (this.t.listening('timeout')) {
      // Emitted from the shared timer: a listener that throws must not stop the other calls' timeouts.
      this.t.emit('timeout', { policy: this.name, timeoutMs: allowedMs, deadline: call.due, limitedBy: byDeadline ? 'deadline' : 'timeoutMs' });
    }
    call.controller?.abort(error);
    return error;
  }

  private dequeue(call: Call): void {
    // A call still in `fresh` stays there, marked done by the caller; arm() skips it.
    if (this.heap.remove(call) && this.heap.size === 0) {
      // No timer may outlive the last pending call. While others remain, a timer armed for an earlier deadline is
      // left alone: it fires early, finds nothing due and re-arms, which is cheaper than re-arming on every settle.
      this.alarm.clear();
    }
    if (call.callerSignal !== NEVER_ABORTED) {
      try {
        call.callerSignal.removeEventListener('abort', call);
      } catch (e) {
        reportError(e); // the caller's signal is theirs; the call still ends
      }
    }
  }

  private setAlarm(at: number, now: number): void {
    this.alarm.set(at - now > MAX_TIMER_MS ? now + MAX_TIMER_MS : at);
  }

  private onAlarm(): void {
    const now = this.clock.now();
    // Pop before acting: aborting a signal runs user listeners synchronously, which may add or settle calls.
    for (let head = this.heap.peek(); head !== undefined && head.due <= now; head = this.heap.peek()) {
      this.dequeue(head);
      try {
        head.end(this.timeOut(head), true);
      } catch (e) {
        reportError(e); // one call's failure to end cleanly must not keep the others from timing out
      }
    }
    const head = this.heap.peek();
    if (head !== undefined && (!this.alarm.armed || head.due < this.alarm.dueAt)) this.setAlarm(head.due, now);
  }

  /** Calls running now. */
  private pending(): number {
    let n = this.heap.size;
    for (let i = 0; i < this.freshCount; i++) if (!this.fresh[i]!.done) n++;
    return n;
  }

  stats(): TimeoutStats {
    const c = this.t.counts;
    return {
      name: this.name,
      timeoutMs: this.timeoutMs,
      calls: c.admitted,
      timedOut: this.timedOut,
      pending: this.pending(),
      aborted: c.aborted,
      rejected: c.rejected,
      disposed: this.isDisposed,
    };
  }

  dispose(reason?: unknown): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const error = reason === undefined ? new DisposedError(this.name) : reason;
    const running: Call[] = [];
    for (let i = 0; i < this.freshCount; i++) {
      const c = this.fresh[i]!;
      this.fresh[i] = undefined;
      if (!c.done) running.push(c);
    }
    this.freshCount = 0;
    for (let c = this.heap.pop(); c !== undefined; c = this.heap.pop()) running.push(c);
    this.alarm.clear();
    for (const c of running) {
      this.dequeue(c);
      c.done = true;
      c.endReason = error;
      try {
        c.end(error, true);
        c.controller?.abort(error);
      } catch (e) {
        reportError(e);
      }
    }
    this.t.disposed(running.length);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Creates a timeout policy. Each call (each attempt, under a retry) may run for `timeoutMs` from when it enters this
 * policy, and never past the deadline that came with its context (`ExecuteOptions.deadline` / `timeoutMs`, or an
 * outer timeout): the effective deadline is `min(now + timeoutMs, ctx.deadline)`. `fn` receives that deadline and a
 * `signal` that aborts when it passes (reason: the {@link TimeoutError}) or when the caller's signal aborts (reason:
 * the caller's). The caller's promise rejects with the `TimeoutError` at the deadline whether or not `fn` honours
 * the signal; `fn`'s late result or rejection is dropped (and handled, so it is never an unhandled rejection). A
 * synchronous `fn` cannot be interrupted: what it returns or throws is passed on, however long it ran.
 *
 * **At capacity:** a timeout holds no capacity and never queues. It refuses only a call whose context deadline has
 * already passed at entry, with `DEADLINE_EXCEEDED` (a `RejectedError`, `retryAfterMs` 0, `fn` not called),
 * the same rule the limiters apply. A caller that aborts while `fn` runs gets `signal.reason` at once.
 *
 * **Cost:** no timer and no AbortController per call. Pending calls sit in one deadline heap per instance and the
 * instance arms at most one timer, for the earliest deadline, and only for calls still running after the microtask
 * in which they started; the timer is cleared when the last pending call settles, so an idle process can exit.
 * Without a context deadline, a call's start is read from the clock once per batch of calls, in the microtask
 * after they started (or when `fn` reads `ctx.deadline`), so a call that settles at once never reads the clock;
 * the per-attempt timeout then counts from the end of the synchronous run that started the call. The signal is
 * created only if `fn` (or an inner policy) reads `ctx.signal`: place the timeout innermost
 * (`pipeline(..., bucket, timeout)`) so that no limiter inside it reads the signal.
 *
 * @throws {TypeError | RangeError} when `timeoutMs` is missing or not a number > 0 (or `Infinity`), or another
 * option is invalid, or an option name is unknown (the message names it and suggests the closest known one).
 * @example
 * ```ts
 * const perAttempt = timeout({ timeoutMs: 2_000 });
 * const res = await pipeline(retry({ maxAttempts: 3 }), perAttempt)
 *   .execute(({ signal }) => fetch(url, { signal }), { timeoutMs: 5_000 }); // 5 s overall, 2 s per attempt
 * ```
 */
export function timeout(options: TimeoutOptions): Timeout {
  return new TimeoutImpl(options);
}
