/**
 * Timeout: bounds how long one attempt may run, and enforces the overall deadline that travels in the context.
 *
 * Every instance keeps its pending calls in one deadline heap and arms at most one timer (an {@link Alarm}) for the
 * earliest deadline, so a call costs no timer of its own. The signal handed to `fn` is created only if `fn` reads
 * it, so a call that ignores `ctx.signal` costs no AbortController either.
 */
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, executeContext, type ExecuteOptions, type Task } from '../core/context.js';
import { TimeoutError, rejectionError } from '../core/errors.js';
import { callTask, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { RUN, type Policy } from '../core/policy.js';
import { Telemetry, type RejectEvent } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { Alarm } from '../core/waiters.js';
import { DeadlineHeap, type DeadlineEntry } from '../core/deadline-heap.js';
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
  /** A call was refused at entry because its context deadline had already passed (`DEADLINE_EXCEEDED`). */
  reject: (event: RejectEvent) => void;
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
  /** Calls refused at entry with `DEADLINE_EXCEEDED` because their context deadline had already passed. */
  rejected: number;
}

/** A timeout policy. */
export interface Timeout extends Policy {
  /** The configured per-attempt timeout, ms. */
  readonly timeoutMs: number;
  /** Typed events: `timeout`, `reject`. */
  readonly events: Telemetry<TimeoutEvents>['events'];
  stats(): TimeoutStats;
}

/** Node clamps longer delays to 1 ms; a farther deadline is reached in hops of this size. */
const MAX_TIMER_MS = 2_147_483_647;

/** Runs the deferred arming as a plain promise reaction. */
const RESOLVED: Promise<void> = Promise.resolve();

/** `endReason` of an attempt that has not ended early. */
const RUNNING: unique symbol = Symbol('running');

// Captures a promise's resolving functions without allocating an executor closure per call.
let capturedResolve: (value: unknown) => void = () => {};
let capturedReject: (reason: unknown) => void = () => {};
function capture(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function isThenable<T>(x: T | PromiseLike<T>): x is PromiseLike<T> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as PromiseLike<T>).then === 'function';
}

/**
 * One attempt under a timeout: the context handed inward and the entry in the deadline heap, in one object.
 * `signal` is materialised on first read; until then the attempt holds no AbortController. Without a context
 * deadline, the start time (and so `deadline`) is stamped on first read of `deadline` or, at the latest, in the
 * microtask after the call started (see TimeoutImpl.arm), so a call that settles at once never reads the clock.
 */
class Attempt implements Context, DeadlineEntry {
  attempt: number;
  priority: number;
  tenant: string | undefined;
  cost: number;
  task: Task<unknown> | undefined;
  retryDepth: number;
  seq = 0;
  heapIndex = -1;
  /** The caller's promise has its outcome (or the call finished synchronously). */
  done = false;
  /** The TimeoutError or the caller's abort reason once the attempt ended early; RUNNING otherwise. */
  endReason: unknown = RUNNING;
  controller: AbortController | undefined = undefined;
  resolve: (value: unknown) => void = capturedResolve;
  reject: (reason: unknown) => void = capturedReject;

  constructor(
    readonly owner: TimeoutImpl,
    parent: Context,
    readonly callerSignal: AbortSignal,
    /** When the attempt started on the clock; NaN until stamped. */
    public startedAt: number,
    /** The effective deadline; NaN until stamped. */
    public due: number,
  ) {
    this.attempt = parent.attempt;
    this.priority = parent.priority;
    this.tenant = parent.tenant;
    this.cost = parent.cost;
    this.task = parent.task;
    this.retryDepth = parent.retryDepth;
  }

  /** The effective deadline: `min(start + timeoutMs, context deadline)`. */
  get deadline(): number {
    if (this.due !== this.due) this.owner.stamp(this, this.owner.clock.now());
    return this.due;
  }

  /** Aborts at the deadline (reason: the TimeoutError) or when the caller aborts (reason: the caller's). */
  get signal(): AbortSignal {
    let c = this.controller;
    if (c === undefined) {
      c = this.controller = new AbortController();
      if (this.endReason !== RUNNING) c.abort(this.endReason);
      else if (this.callerSignal.aborted) c.abort(this.callerSignal.reason);
    }
    return c.signal;
  }

  derive(signal: AbortSignal, deadline: number | undefined, attempt: number, retryDepth = this.retryDepth): Context {
    const c = new Context(signal, deadline, this.priority, this.tenant, this.cost, attempt, retryDepth);
    c.task = this.task;
    return c;
  }

  /** Listener for the caller's signal (an object listener: no closure per call). */
  handleEvent(): void {
    this.owner.callerAborted(this);
  }
}

class TimeoutImpl implements Timeout {
  readonly name: string;
  readonly clock: Timeout['clock'];
  readonly timeoutMs: number;
  private readonly t: Telemetry<TimeoutEvents>;
  /** Running calls with a stamped deadline, earliest first. */
  private readonly heap = new DeadlineHeap<Attempt>();
  /** Calls started since the last arm() whose start is not stamped yet; settled ones are skipped, not removed. */
  private fresh: Attempt[] = [];
  private readonly alarm: Alarm;
  private armQueued = false;
  private timedOut = 0;
  /**
   * Runs in the microtask after calls started (queued behind their own reactions): stamps the calls still running
   * with one clock read, moves them into the heap and arms the timer for the earliest deadline. A call that settled
   * in between costs neither a clock read nor a timer.
   */
  private readonly arm = (): void => {
    this.armQueued = false;
    let now = NaN;
    const fresh = this.fresh;
    if (fresh.length > 0) {
      for (let i = 0; i < fresh.length; i++) {
        const a = fresh[i]!;
        if (a.done) continue;
        if (a.due !== a.due) this.stamp(a, now === now ? now : (now = this.clock.now()));
        this.heap.push(a);
      }
      fresh.length = 0;
    }
    const head = this.heap.peek();
    if (head !== undefined && (!this.alarm.armed || head.due < this.alarm.dueAt)) {
      this.setAlarm(head.due, now === now ? now : this.clock.now());
    }
  };

  constructor(options: TimeoutOptions) {
    const o = v.optionsObject<TimeoutOptions>('timeout', options);
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
    this.t.counter('sluice_timeouts_total', 'Calls rejected because they ran past their deadline', {}, () => this.timedOut);
    this.t.gauge(METRIC.inflight, 'Calls running under the timeout', {}, () => this.pending());
  }

  get events(): Telemetry<TimeoutEvents>['events'] {
    return this.t.events;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    const callerSignal = ctx.signal;
    if (callerSignal !== NEVER_ABORTED && callerSignal.aborted) return Promise.reject(callerSignal.reason);
    const outer = ctx.deadline;
    let a: Attempt;
    if (outer === undefined && this.t.duration === undefined) {
      // Nothing to enforce: pass straight through, as any policy would.
      if (this.timeoutMs === Infinity) return (this.t.counts.admitted++, callTask(next, ctx));
      a = new Attempt(this, ctx, callerSignal, NaN, NaN); // start stamped later, if the call is still running
    } else {
      const now = this.clock.now();
      let due = now + this.timeoutMs;
      if (outer !== undefined) {
        // Same rule as the limiters: a call that cannot start before its deadline is refused, not started.
        if (now >= outer) {
          this.t.rejected('DEADLINE_EXCEEDED', 0, ctx.cost);
          return Promise.reject(rejectionError('DEADLINE_EXCEEDED', this.name, 0));
        }
        if (outer < due) due = outer;
      }
      if (due === Infinity) return (this.t.counts.admitted++, callTask(next, ctx));
      a = new Attempt(this, ctx, callerSignal, now, due);
      if (this.t.duration !== undefined) return (this.t.counts.admitted++, this.t.timed(this.start(next, a), this.clock, now));
    }
    this.t.counts.admitted++;
    return this.start(next, a);
  }

  /** Fixes the start of `a` at `now` (only attempts without a context deadline are stamped late). */
  stamp(a: Attempt, now: number): void {
    a.startedAt = now;
    a.due = now + this.timeoutMs;
  }

  private start<T>(next: Task<T>, a: Attempt): Promise<T> {
    let r: T | PromiseLike<T>;
    try {
      r = next(a);
    } catch (e) {
      return this.finishedAtOnce(a, e, true) as Promise<T>;
    }
    if (!isThenable(r)) return this.finishedAtOnce(a, r, false) as Promise<T>;
    // fn went asynchronous: only now does the call need a promise of its own and a place in the deadline queue.
    const p = new Promise(capture) as Promise<T>;
    a.resolve = capturedResolve;
    a.reject = capturedReject;
    const stamped = a.due === a.due; // fn may have read ctx.deadline
    if (stamped) this.heap.push(a);
    else this.fresh.push(a);
    const signal = a.callerSignal;
    if (signal !== NEVER_ABORTED) {
      signal.addEventListener('abort', a);
      if (signal.aborted) this.callerAborted(a); // fn aborted it during its synchronous part
    }
    Promise.resolve(r).then(
      (value) => this.finished(a, value, false),
      (error: unknown) => this.finished(a, error, true),
    );
    // Queued after the reaction above: a promise that is already settled settles the call first, so the call
    // never reads the clock or arms the timer. Only calls still running after this microtask need them.
    if (!a.done && !this.armQueued && (!stamped || !this.alarm.armed || a.due < this.alarm.dueAt)) {
      this.armQueued = true;
      // A promise reaction, not queueMicrotask(): Node wraps each queueMicrotask callback in an AsyncResource.
      void RESOLVED.then(this.arm);
    }
    return p;
  }

  /**
   * fn returned or threw synchronously: no heap entry, no timer, no extra promise. A synchronous fn cannot be
   * interrupted, so its outcome is returned as is, however long it ran.
   */
  private finishedAtOnce(a: Attempt, outcome: unknown, isError: boolean): Promise<unknown> {
    a.done = true;
    if (a.callerSignal.aborted) {
      this.t.counts.aborted++;
      return Promise.reject(a.callerSignal.reason);
    }
    return isError ? Promise.reject(outcome) : Promise.resolve(outcome);
  }

  /**
   * fn's promise settled. Late outcomes (after a timeout or an abort) are dropped here, handled, not unhandled.
   * No clock read: the shared timer fires at the deadline, so an outcome that gets here first is on time (to within
   * event-loop lag, which delays the timer and the outcome alike).
   */
  private finished(a: Attempt, outcome: unknown, isError: boolean): void {
    if (a.done) return;
    this.dequeue(a);
    a.done = true;
    if (isError) a.reject(outcome);
    else a.resolve(outcome);
  }

  /** The caller's signal aborted while fn runs: reject now with its reason and pass the abort inward. */
  callerAborted(a: Attempt): void {
    if (a.done) return;
    this.dequeue(a);
    a.done = true;
    const reason = a.callerSignal.reason;
    a.endReason = reason;
    this.t.counts.aborted++;
    a.reject(reason);
    a.controller?.abort(reason);
  }

  /** Marks `a` timed out, aborts its signal if fn took it, and returns the error to reject with. */
  private timeOut(a: Attempt): TimeoutError {
    a.done = true;
    const allowedMs = a.due - a.startedAt;
    const byDeadline = allowedMs < this.timeoutMs;
    const error = byDeadline
      ? new TimeoutError(this.name, allowedMs, `${this.name}: call deadline reached after ${Math.round(allowedMs)} ms`)
      : new TimeoutError(this.name, allowedMs);
    a.endReason = error;
    this.timedOut++;
    if (this.t.listening('timeout')) {
      this.t.events.emit('timeout', { policy: this.name, timeoutMs: allowedMs, deadline: a.due, limitedBy: byDeadline ? 'deadline' : 'timeoutMs' });
    }
    a.controller?.abort(error);
    return error;
  }

  private dequeue(a: Attempt): void {
    // An attempt still in `fresh` stays there, marked done by the caller; arm() skips it.
    if (this.heap.remove(a) && this.heap.size === 0) {
      // No timer may outlive the last pending call. While others remain, a timer armed for an earlier deadline is
      // left alone: it fires early, finds nothing due and re-arms, which is cheaper than re-arming on every settle.
      this.alarm.clear();
    }
    if (a.callerSignal !== NEVER_ABORTED) a.callerSignal.removeEventListener('abort', a);
  }

  private setAlarm(at: number, now: number): void {
    this.alarm.set(at - now > MAX_TIMER_MS ? now + MAX_TIMER_MS : at);
  }

  private onAlarm(): void {
    const now = this.clock.now();
    // Pop before acting: aborting a signal runs user listeners synchronously, which may add or settle calls.
    for (let head = this.heap.peek(); head !== undefined && head.due <= now; head = this.heap.peek()) {
      this.dequeue(head);
      head.reject(this.timeOut(head));
    }
    const head = this.heap.peek();
    if (head !== undefined && (!this.alarm.armed || head.due < this.alarm.dueAt)) this.setAlarm(head.due, now);
  }

  /** Calls running now. */
  private pending(): number {
    let n = this.heap.size;
    for (const a of this.fresh) if (!a.done) n++;
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
    };
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
 * option is invalid (the message names it).
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
