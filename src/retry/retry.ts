/**
 * `retry()`: runs a function again when it fails, with jittered backoff, a retry budget shared across calls, the
 * server's or an inner policy's `retryAfterMs`, the call's deadline and signal, and a rule that stops nested retries
 * from multiplying.
 */
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, executeContext, type ExecuteOptions, type Task } from '../core/context.js';
import { DisposedError, isRejectedError } from '../core/errors.js';
import { callTask, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { RUN, type Policy } from '../core/policy.js';
import { SLOW, STAGE, type FastStage } from '../core/stage.js';
import type { Call } from '../core/call.js';
import type { RandomSource } from '../core/random.js';
import { Telemetry, type LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { Alarm, Waiter } from '../core/waiters.js';
import { DeadlineHeap, type DeadlineEntry } from '../core/deadline-heap.js';
import { fullJitter, type Backoff, type RetryOutcome } from './backoff.js';
import { tokenBudget, type RetryBudget, type RetryBudgetStats } from './budget.js';
import { METRIC } from '../metrics/metrics.js';

/**
 * Why a retry policy stopped retrying a call:
 * - `maxAttempts`: the call made `maxAttempts` attempts.
 * - `budget`: the retry budget was empty (event `budgetExhausted`).
 * - `deadline`: the next attempt could not start before the call's deadline.
 * - `notRetryable`: `shouldRetry` declined the error, or it was a local rejection and `retryRejections` is off.
 * - `retryAfter`: the server or inner policy asked for a wait longer than `maxRetryAfterMs` (or `Infinity`).
 * - `aborted`: the caller's signal aborted (the call rejects with `signal.reason`).
 * - `disposed`: the policy was disposed during a backoff.
 */
export type GiveUpReason = 'maxAttempts' | 'budget' | 'deadline' | 'notRetryable' | 'retryAfter' | 'aborted' | 'disposed';

/** Every {@link GiveUpReason}, for iteration. */
export const GIVE_UP_REASONS: readonly GiveUpReason[] = Object.freeze([
  'maxAttempts',
  'budget',
  'deadline',
  'notRetryable',
  'retryAfter',
  'aborted',
  'disposed',
]);

/** How a retry behaves inside another retry of the same execution (see {@link RetryOptions.nested}). */
export type NestedRetryMode = 'single-attempt' | 'multiply';

/** Options of {@link retry}. */
export interface RetryOptions extends CommonOptions {
  /** Most attempts per call, the first included. Integer ≥ 1, or `Infinity` (then the deadline or budget bounds it). Default 3. */
  maxAttempts?: number;
  /**
   * Whether an error is worth retrying; `attempt` is the attempt that failed. Not consulted for local rejections
   * (see {@link RetryOptions.retryRejections}). Default: every error.
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /**
   * Whether a result is a failure worth retrying (e.g. an HTTP response with status 503). When retries run out, the
   * call resolves with the last such result. Default: no result is retried.
   */
  shouldRetryResult?: (result: unknown, attempt: number) => boolean;
  /** Delay before each retry. Default `fullJitter()`: `U(0, min(10 000, 100 · 2^(k−1)))` ms before retry `k`. */
  backoff?: Backoff;
  /**
   * Retry budget, shared with other policies by passing the same object; `false` for none (retries bounded only by
   * `maxAttempts` and the deadline). Default: a budget of this policy's own, `tokenBudget()` (AWS SDK standard
   * quota: 500 tokens, a retry costs 5, a retry after a timeout 10, a success refunds 1; so 100 retries from full,
   * then about one retry per five successes). A token budget was the configuration that let an overloaded system
   * recover in the reference retry-storm model (overload-control.md §5.4, §9.6), and it reads no clock per call.
   */
  budget?: RetryBudget | false;
  /**
   * Whether to retry local rejections from inner sluice policies (`isRejectedError`: rate limited, queue full,
   * circuit open, ...). When true, the wait honours their `retryAfterMs`. Default false: a rejection means "overloaded
   * here, don't retry", and retrying it would only add load.
   */
  retryRejections?: boolean;
  /**
   * Longest wait a `retryAfterMs` (from the error or result, e.g. a server's `Retry-After`) may ask for, ms. The retry
   * never runs sooner than asked, so a longer request ends the call with the last error (give-up reason
   * `retryAfter`). Number ≥ 0 or `Infinity`. Default 30 000.
   */
  maxRetryAfterMs?: number;
  /**
   * What this policy does when an enclosing retry policy already runs the same execution (a retry inside a retry,
   * detected through the context):
   * - `'single-attempt'` (default): one attempt, no retries of its own; the outermost retry owns retrying ("retry at
   *   one layer", Google SRE book and AWS Builders' Library). Three nested layers of 4 attempts make 4 attempts, not 64.
   * - `'multiply'`: retry independently, attempts multiply across layers.
   * The first time it happens, the policy emits `nestedRetry`. Nesting is seen through pipelines, and through
   * `execute(fn, ctx)` when a protected function passes on the context it received.
   */
  nested?: NestedRetryMode;
}

/** Emitted before each retry's backoff. */
export type RetryEvent = {
  readonly policy: string;
  /** The attempt about to run after the backoff (2 for the first retry). */
  readonly attempt: number;
  /** The wait before it, ms: the backoff, or a longer `retryAfterMs`. */
  readonly delayMs: number;
  /** The `retryAfterMs` the failure carried, or undefined. */
  readonly retryAfterMs: number | undefined;
} & RetryOutcome;

/** Emitted when a call stops retrying and ends with a failure. */
export type GiveUpEvent = {
  readonly policy: string;
  /** Attempts the call made. */
  readonly attempts: number;
  readonly reason: GiveUpReason;
} & RetryOutcome;

/** Emitted when the retry budget refused a retry. */
export interface BudgetExhaustedEvent {
  readonly policy: string;
  /** Attempts the call made. */
  readonly attempts: number;
  /** The budget's state after the refusal. */
  readonly budget: RetryBudgetStats;
}

/** Emitted the first time this policy runs inside another retry policy. */
export interface NestedRetryEvent {
  readonly policy: string;
  /** Retry policies enclosing this one. */
  readonly depth: number;
  readonly mode: NestedRetryMode;
}

/** Events of a {@link Retry} policy; free when nobody listens. */
export interface RetryEvents extends LimiterEvents {
  retry: (event: RetryEvent) => void;
  giveUp: (event: GiveUpEvent) => void;
  budgetExhausted: (event: BudgetExhaustedEvent) => void;
  nestedRetry: (event: NestedRetryEvent) => void;
}

/** Snapshot returned by {@link Retry.stats}. */
export interface RetryStats {
  name: string;
  /** Calls this policy ran its retry loop for (nested pass-throughs excluded, see `nested`). */
  calls: number;
  /** Attempts made by those calls, first attempts included. */
  attempts: number;
  /** Retries made (`attempts − calls` once every call has settled). */
  retries: number;
  /** Calls that ended with a success. */
  successes: number;
  /**
   * Calls that gave up, ending with an error or a result flagged by `shouldRetryResult` (the sum of `giveUps`). A call
   * whose own callbacks threw (`shouldRetry`, `backoff`, ...) is in neither `successes` nor `failures`.
   */
  failures: number;
  /** Calls that stopped retrying, by reason. */
  giveUps: Record<GiveUpReason, number>;
  /** `attempts / calls` (0 before the first call): the load this policy multiplied its callers' load by. */
  amplification: number;
  /** Calls run as a single attempt because an enclosing retry owns retrying (`nested: 'single-attempt'`). */
  nested: number;
  /** Calls waiting in a backoff now. */
  sleeping: number;
  /** Configured bound on attempts. */
  maxAttempts: number;
  disposed: boolean;
  /** The budget's snapshot, or undefined without a budget. */
  budget: RetryBudgetStats | undefined;
}

/** A retry policy. */
export interface Retry extends Policy {
  /** Typed events: `retry`, `giveUp`, `budgetExhausted`, `nestedRetry`, `reject` (after dispose), `dispose`. */
  readonly events: Telemetry<RetryEvents>['events'];
  /** The budget in use, or undefined. */
  readonly budget: RetryBudget | undefined;
  /** A snapshot of the counts since creation, and of the budget. */
  stats(): RetryStats;
  /**
   * Rejects every call waiting in a backoff with `DisposedError` (or `reason`), clears their timers, refuses later
   * calls with `DisposedError`, and unregisters metrics. Attempts already running finish. Idempotent.
   */
  dispose(reason?: unknown): void;
  [Symbol.dispose](): void;
}

/** A backoff sleep: a waiter (abort handling) and its entry in the heap of wake-up times. */
class Sleeper extends Waiter<void> implements DeadlineEntry {
  due = 0;
  seq = 0;
  heapIndex = -1;
}

function retryAfterOf(x: unknown): number | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = (x as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof r === 'number' && r >= 0 ? r : undefined;
}

function zeroByReason(): Record<GiveUpReason, number> {
  const r = {} as Record<GiveUpReason, number>;
  for (const k of GIVE_UP_REASONS) r[k] = 0;
  return r;
}

const OWNER = 'retry';

/** The context of a call made without options; shared (attempts run with contexts derived from it). */
/** The first attempt's context for such a call (attempt 1, one retry enclosing it): shared, allocated once. */
const FIRST_ATTEMPT: Context = Object.freeze(new Context(NEVER_ABORTED, undefined, 0, undefined, 1, 1, 1)) as Context;

class RetryImpl implements Retry, FastStage {
  readonly name: string;
  readonly clock: Retry['clock'];
  readonly budget: RetryBudget | undefined;
  private readonly random: RandomSource;
  private readonly t: Telemetry<RetryEvents>;
  private readonly maxAttempts: number;
  private readonly shouldRetry: ((error: unknown, attempt: number) => boolean) | undefined;
  private readonly shouldRetryResult: ((result: unknown, attempt: number) => boolean) | undefined;
  private readonly backoff: Backoff;
  private readonly retryRejections: boolean;
  private readonly maxRetryAfterMs: number;
  private readonly multiply: boolean;
  /** Calls sleeping in a backoff, earliest wake-up first; one timer (`alarm`) for all of them. */
  private readonly sleepers = new DeadlineHeap<Sleeper>();
  private readonly alarm: Alarm;
  private isDisposed = false;
  private nestedSeen = false;
  private attempts = 0;
  private retries = 0;
  private successes = 0;
  private failures = 0;
  private nestedCalls = 0;
  private readonly giveUps = zeroByReason();
  private readonly onSleepAbort = (w: Waiter<void>): void => {
    if (!this.wake(w as Sleeper)) return;
    this.t.counts.aborted++;
    w.reject(w.signal.reason);
  };

  constructor(options: RetryOptions | undefined) {
    const o = v.optionsObject<RetryOptions>(OWNER, options);
    const common = parseCommon(OWNER, o);
    this.name = common.name;
    this.clock = common.clock;
    this.alarm = new Alarm(this.clock, () => this.onAlarm());
    this.random = common.random;
    this.maxAttempts = v.opt(o.maxAttempts, 3, (x) => v.integer(OWNER, 'maxAttempts', x, 1, true));
    this.shouldRetry = v.opt(o.shouldRetry, undefined, (x) => v.func<(e: unknown, a: number) => boolean>(OWNER, 'shouldRetry', x));
    this.shouldRetryResult = v.opt(o.shouldRetryResult, undefined, (x) => v.func<(r: unknown, a: number) => boolean>(OWNER, 'shouldRetryResult', x));
    this.backoff = v.opt(o.backoff, undefined, (x) => v.func<Backoff>(OWNER, 'backoff', x)) ?? fullJitter();
    this.retryRejections = v.opt(o.retryRejections, false, (x) => v.bool(OWNER, 'retryRejections', x));
    this.maxRetryAfterMs = v.opt(o.maxRetryAfterMs, 30_000, (x) => v.nonNegativeOrInfinity(OWNER, 'maxRetryAfterMs', x));
    this.multiply = v.opt(o.nested, 'single-attempt', (x) => v.oneOf<NestedRetryMode>(OWNER, 'nested', x, ['single-attempt', 'multiply'])) === 'multiply';
    this.budget =
      o.budget === false
        ? undefined
        : v.opt<RetryBudget>(o.budget, undefined as unknown as RetryBudget, (x) =>
            v.shaped<RetryBudget>(OWNER, 'budget', x, ['recordRequest', 'tryRetry', 'recordSuccess', 'stats']),
          ) ?? tokenBudget();
    this.t = new Telemetry<RetryEvents>(OWNER, this.name, common.metrics);
    this.t.counter(METRIC.retryAttempts, 'Attempts, first attempts included', {}, () => this.attempts);
    this.t.counter(METRIC.retries, 'Retries', {}, () => this.retries);
    this.t.counter(METRIC.retryNested, 'Calls run as a single attempt inside another retry', {}, () => this.nestedCalls);
    for (const reason of GIVE_UP_REASONS) {
      this.t.counter(METRIC.retryGiveUps, 'Calls that stopped retrying', { reason }, () => this.giveUps[reason]);
    }
    this.t.gauge(METRIC.retrySleeping, 'Calls waiting in a backoff', {}, () => this.sleepers.size);
  }

  get events(): Telemetry<RetryEvents>['events'] {
    return this.t.events;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    if (this.isDisposed) {
      this.t.rejected('DISPOSED', 0, ctx.cost);
      return Promise.reject(new DisposedError(this.name));
    }
    if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
    if (ctx.retryDepth > 0) {
      this.sawNesting(ctx.retryDepth);
      // An enclosing retry owns retrying: one attempt, no budget, no backoff.
      if (!this.multiply) {
        this.nestedCalls++;
        return callTask(next, ctx);
      }
    }
    this.t.counts.admitted++;
    this.attempts++;
    if (this.budget !== undefined) this.budget.recordRequest(this.clock);
    if (this.t.duration === undefined) return this.first(next, ctx);
    const start = this.clock.now();
    return this.t.timed(this.first(next, ctx), this.clock, start);
  }

  private sawNesting(depth: number): void {
    if (this.nestedSeen) return;
    this.nestedSeen = true;
    if (this.t.listening('nestedRetry')) {
      this.t.events.emit('nestedRetry', { policy: this.name, depth, mode: this.multiply ? 'multiply' : 'single-attempt' });
    }
  }

  /** The first attempt. On success no timer, no async frame and (without options) no context is allocated. */
  private first<T>(next: Task<T>, ctx: Context): Promise<T> {
    // Each attempt gets its own context, so inner policies admit it afresh, see its number and see the nesting.
    const c = ctx === DEFAULT_CONTEXT ? FIRST_ATTEMPT : ctx.derive(ctx.signal, ctx.deadline, 1, ctx.retryDepth + 1);
    return callTask(next, c).then(
      this.shouldRetryResult === undefined
        ? (this.firstSucceeded as (result: T) => T)
        : (result) =>
            // A throwing shouldRetryResult is a bug in the caller's code: it rejects the call rather than being retried.
            this.shouldRetryResult!(result, 1) ? this.retryLoop(next, ctx, { kind: 'result', result }) : this.succeeded(result, 0),
      (error: unknown) => this.retryLoop(next, ctx, { kind: 'error', error }),
    );
  }

  /** @internal fused-path hooks: this policy itself. */
  get [STAGE](): FastStage {
    return this;
  }

  /**
   * @internal fused path: the first attempt of an outermost retry (not nested, not disposed, not timed, not
   * aborted), counted as `[RUN]` counts it. The call becomes attempt 1 inside one retry.
   */
  enter(call: Call): unknown {
    if (this.isDisposed || call.retryDepth > 0 || this.t.duration !== undefined) return SLOW;
    const signal = call.callerSignal;
    if (signal !== NEVER_ABORTED && signal.aborted) return SLOW;
    this.t.counts.admitted++;
    this.attempts++;
    if (this.budget !== undefined) this.budget.recordRequest(this.clock);
    call.retryDepth = 1;
    return undefined;
  }

  /** @internal fused path: the first attempt's outcome; a failure worth retrying hands over to the retry loop. */
  exit(call: Call, _state: unknown, value: unknown, isError: boolean, inner: Task<unknown>): PromiseLike<unknown> | undefined {
    if (!isError) {
      if (this.shouldRetryResult === undefined) {
        this.succeeded(value, 0);
        return undefined;
      }
      let again: boolean;
      try {
        again = this.shouldRetryResult(value, 1);
      } catch (e) {
        return Promise.reject(e); // a throwing shouldRetryResult rejects the call, as on the general path
      }
      if (!again) {
        this.succeeded(value, 0);
        return undefined;
      }
    }
    // The context this retry was entered with (enter() admits only at depth 0), for the further attempts.
    const ctx = new Context(call.callerSignal, call.outerDeadline, call.priority, call.tenant, call.cost, 1, 0);
    ctx.task = call.task;
    return this.retryLoop(inner, ctx, isError ? { kind: 'error', error: value } : { kind: 'result', result: value });
  }

  /** Success handler of a first attempt when results are never retried: shared, so no closure per call. */
  private readonly firstSucceeded = (result: unknown): unknown => this.succeeded(result, 0);

  private succeeded<T>(result: T, retryCost: number): T {
    this.successes++;
    if (this.budget !== undefined) this.budget.recordSuccess(this.clock, retryCost);
    return result;
  }

  /** Retries after a failed first attempt, until success or a reason to stop. */
  private async retryLoop<T>(next: Task<T>, ctx: Context, firstOutcome: RetryOutcome<T>): Promise<T> {
    const depth = ctx.retryDepth + 1;
    let outcome = firstOutcome;
    let attempt = 1;
    let previousDelayMs = 0;
    let lastCost = 0;
    for (;;) {
      const delayMs = this.nextDelay(outcome, attempt, previousDelayMs, ctx);
      if (typeof delayMs === 'string') return this.giveUp(delayMs, attempt, outcome, ctx);
      const cause = outcome.kind === 'error' ? outcome.error : outcome.result;
      const retryAfterMs = retryAfterOf(cause);
      const waitMs = retryAfterMs !== undefined && retryAfterMs > delayMs ? retryAfterMs : delayMs;
      if (ctx.deadline !== undefined && this.clock.now() + waitMs >= ctx.deadline) return this.giveUp('deadline', attempt, outcome, ctx);
      if (this.budget !== undefined) {
        const cost = this.budget.tryRetry(this.clock, cause);
        if (!(cost > 0)) {
          if (this.t.listening('budgetExhausted')) {
            this.t.events.emit('budgetExhausted', { policy: this.name, attempts: attempt, budget: this.budget.stats(this.clock) });
          }
          return this.giveUp('budget', attempt, outcome, ctx);
        }
        lastCost = cost;
      }
      previousDelayMs = delayMs;
      this.retries++;
      attempt++;
      if (this.t.listening('retry')) this.t.events.emit('retry', { policy: this.name, attempt, delayMs: waitMs, retryAfterMs, ...outcome });
      if (waitMs > 0) {
        try {
          await this.sleep(waitMs, ctx);
        } catch (e) {
          this.record(this.isDisposed ? 'disposed' : 'aborted', attempt - 1, outcome);
          throw e;
        }
      }
      this.attempts++;
      let failed = false;
      let error: unknown;
      let result: T | undefined;
      try {
        result = await callTask(next, ctx.derive(ctx.signal, ctx.deadline, attempt, depth));
      } catch (e) {
        failed = true;
        error = e;
      }
      if (failed) outcome = { kind: 'error', error };
      else if (this.shouldRetryResult !== undefined && this.shouldRetryResult(result, attempt)) outcome = { kind: 'result', result: result as T };
      else return this.succeeded(result as T, lastCost);
    }
  }

  /** The backoff before the next attempt, or why not to retry. */
  private nextDelay(outcome: RetryOutcome, attempt: number, previousDelayMs: number, ctx: Context): number | GiveUpReason {
    if (ctx.signal.aborted) return 'aborted';
    if (outcome.kind === 'error') {
      const e = outcome.error;
      if (isRejectedError(e) ? !this.retryRejections : this.shouldRetry !== undefined && !this.shouldRetry(e, attempt)) return 'notRetryable';
    }
    if (attempt >= this.maxAttempts) return 'maxAttempts';
    if (this.isDisposed) return 'disposed';
    const asked = retryAfterOf(outcome.kind === 'error' ? outcome.error : outcome.result);
    // Infinity means "never" (e.g. a cost above a bucket's capacity), even when maxRetryAfterMs is Infinity.
    if (asked !== undefined && (asked > this.maxRetryAfterMs || asked === Infinity)) return 'retryAfter';
    const d = this.backoff({ attempt, previousDelayMs, outcome, random: this.random });
    if (typeof d !== 'number' || !(d >= 0) || d === Infinity) {
      throw new RangeError(`${this.name}: backoff must return a finite number >= 0, got ${String(d)} for attempt ${attempt}`);
    }
    return d;
  }

  private record(reason: GiveUpReason, attempts: number, outcome: RetryOutcome): void {
    this.giveUps[reason]++;
    this.failures++;
    if (this.t.listening('giveUp')) this.t.events.emit('giveUp', { policy: this.name, attempts, reason, ...outcome });
  }

  /** Ends a call that stops retrying: the abort reason, the last error, or the last (unwanted) result. */
  private giveUp<T>(reason: GiveUpReason, attempts: number, outcome: RetryOutcome<T>, ctx: Context): T {
    this.record(reason, attempts, outcome);
    if (reason === 'aborted') throw ctx.signal.reason;
    if (outcome.kind === 'error') throw outcome.error;
    return outcome.result;
  }

  private sleep(ms: number, ctx: Context): Promise<void> {
    if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
    const now = this.clock.now();
    const w = new Sleeper(1, ctx.signal, now, ctx.deadline);
    w.due = now + ms;
    this.sleepers.push(w);
    if (!this.alarm.armed || w.due < this.alarm.dueAt) this.alarm.set(w.due);
    w.watchAbort(this.onSleepAbort);
    return w.promise;
  }

  /** Takes `w` out of the sleepers (false if it already left); clears the timer when nobody sleeps any more. */
  private wake(w: Sleeper): boolean {
    if (!this.sleepers.remove(w)) return false;
    if (this.sleepers.size === 0) this.alarm.clear();
    return true;
  }

  /** The timer fired: wake every sleeper whose backoff is over, and re-arm for the next. */
  private onAlarm(): void {
    const now = this.clock.now();
    for (let w = this.sleepers.peek(); w !== undefined && w.due <= now; w = this.sleepers.peek()) {
      this.sleepers.pop();
      w.resolve();
    }
    const next = this.sleepers.peek();
    if (next !== undefined && (!this.alarm.armed || next.due < this.alarm.dueAt)) this.alarm.set(next.due);
  }

  stats(): RetryStats {
    const calls = this.t.counts.admitted;
    return {
      name: this.name,
      calls,
      attempts: this.attempts,
      retries: this.retries,
      successes: this.successes,
      failures: this.failures,
      giveUps: { ...this.giveUps },
      amplification: calls === 0 ? 0 : this.attempts / calls,
      nested: this.nestedCalls,
      sleeping: this.sleepers.size,
      maxAttempts: this.maxAttempts,
      disposed: this.isDisposed,
      budget: this.budget?.stats(this.clock),
    };
  }

  dispose(reason?: unknown): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.alarm.clear();
    const sleepers: Sleeper[] = [];
    for (let w = this.sleepers.pop(); w !== undefined; w = this.sleepers.pop()) sleepers.push(w);
    for (const w of sleepers) w.reject(reason === undefined ? new DisposedError(this.name) : reason);
    this.t.disposed(sleepers.length);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Creates a retry policy: runs the function again when it fails, up to `maxAttempts` attempts in all, waiting a
 * jittered backoff between attempts, as long as the retry budget, the call's deadline and its signal allow.
 *
 * **At capacity:** retry never queues or refuses a call of its own; when it stops retrying, the call ends with the
 * **last error** (or the last result flagged by `shouldRetryResult`), and `giveUp` says why: `maxAttempts`,
 * `budget` (the shared budget is empty; `budgetExhausted` is emitted too), `deadline` (the next attempt could not
 * start before `ctx.deadline`, so it stops at once instead of sleeping past it), `notRetryable`, `retryAfter` (asked
 * to wait longer than `maxRetryAfterMs`), `aborted` (rejects with `signal.reason`, at once even mid-backoff, and
 * the backoff timer is cleared) or `disposed`.
 *
 * Rules that prevent retry storms:
 * - Local rejections (`isRejectedError`) are not retried unless `retryRejections: true`, and then not before their
 *   `retryAfterMs`.
 * - A `retryAfterMs` carried by the error or result (a server's Retry-After surfaced by HTTP middleware, or an inner
 *   policy's hint) is honoured: the wait is `max(backoff, retryAfterMs)`, never shorter.
 * - Default budget: an AWS-style token budget of this policy's own (`tokenBudget()`); share one budget across every
 *   policy that calls the same dependency.
 * - Inside another retry of the same execution it makes a single attempt (`nested: 'single-attempt'`).
 *
 * Defaults: `maxAttempts` 3, `backoff` full jitter with base 100 ms and cap 10 s, `maxRetryAfterMs` 30 000,
 * `retryRejections` false, `nested` `'single-attempt'`. Each attempt runs with a derived context whose `attempt`
 * is its number (1, 2, ...), so inner policies (breaker, bucket, timeout) admit each attempt afresh; put retry
 * outermost. A call that succeeds at once arms no timer; calls sleeping in a backoff share one timer.
 *
 * @throws {TypeError | RangeError} when an option is invalid (the message names it). A backoff returning anything
 *   but a finite number ≥ 0 rejects the call with a RangeError.
 * @example
 * ```ts
 * const budget = ratioBudget({ ratio: 0.1 });
 * const policy = pipeline(
 *   retry({ maxAttempts: 3, budget, shouldRetry: (e) => isTransient(e) }),
 *   circuitBreaker({ ... }),
 * );
 * const user = await policy.execute(({ signal }) => fetchUser(id, { signal }), { timeoutMs: 2_000 });
 * ```
 */
export function retry(options?: RetryOptions): Retry {
  return new RetryImpl(options);
}
