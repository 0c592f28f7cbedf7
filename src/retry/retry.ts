/**
 * `retry()`: runs a function again when it fails, with jittered backoff, a retry budget shared across calls, the
 * server's or an inner policy's `retryAfterMs`, the call's deadline and signal, and a rule that stops nested retries
 * from multiplying.
 */
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, executeContext, type ExecuteOptions, type Task } from '../core/context.js';
import { DisposedError, isRejectedError } from '../core/errors.js';
import { COMMON_KEYS, callTask, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { KIND, RUN, type Policy } from '../core/policy.js';
import { SLOW, STAGE, type FastStage } from '../core/stage.js';
import type { Call } from '../core/call.js';
import type { RandomSource } from '../core/random.js';
import { Telemetry, type LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { Alarm } from '../core/waiters.js';
import { reportError, settle } from '../core/safe-call.js';
import { DeadlineHeap, type DeadlineEntry } from '../core/deadline-heap.js';
import { fullJitter, type Backoff, type RetryOutcome } from './backoff.js';
import { tokenBudget, type RetryBudget, type RetryBudgetStats } from './budget.js';
import { GIVE_UP_REASONS, RetryExhaustedError, type GiveUpReason } from './errors.js';
import { METRIC } from '../metrics/metrics.js';

export { GIVE_UP_REASONS, type GiveUpReason } from './errors.js';

/** How a retry behaves inside another retry of the same execution (see {@link RetryOptions.nested}). */
export type NestedRetryMode = 'single-attempt' | 'multiply';

/** Options of {@link retry}. */
export interface RetryOptions extends CommonOptions {
  /** Most attempts per call, the first included. Integer ≥ 1, or `Infinity` (then the deadline or budget bounds it). Default 3. */
  maxAttempts?: number;
  /**
   * Whether an error is worth retrying; `attempt` is the attempt that failed. Not consulted for local rejections
   * (see {@link RetryOptions.retryRejections}). If it throws, the error is not retried (give-up reason
   * `notRetryable`, the call ends with fn's error) and the exception is re-raised asynchronously, as a throwing
   * event listener's is. Default: every error.
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /**
   * Whether a result is a failure worth retrying (e.g. an HTTP response with status 503). When retries run out, the
   * call resolves with the last such result. If it throws, the result is returned as it is (a success) and the
   * exception is re-raised asynchronously. Default: no result is retried.
   */
  shouldRetryResult?: (result: unknown, attempt: number) => boolean;
  /**
   * Delay before each retry. Default `fullJitter()`: `U(0, min(10 000, 100 · 2^(k−1)))` ms before retry `k`. A backoff
   * that throws, or returns anything but a finite number ≥ 0, stops the retrying (give-up reason `notRetryable`, the
   * call ends with fn's error) and the exception (a RangeError for a bad value) is re-raised asynchronously.
   */
  backoff?: Backoff;
  /**
   * Retry budget, shared with other policies by passing the same object; `false` for none (retries bounded only by
   * `maxAttempts` and the deadline). Default: a budget of this policy's own, `tokenBudget()` (AWS SDK standard
   * retry quota: 500 tokens, a retry costs 5, a retry after a timeout 10, a success refunds 1; so 100 retries from
   * full, then about one retry per five successes). A token budget is what let an overloaded system recover in the
   * retry-storm simulations of docs/overload.md (ratio budgets alone stayed metastable), and it reads no clock per
   * call. The budget is charged when a retry is scheduled and refunded (`refundRetry`) if the retry never starts.
   */
  budget?: RetryBudget | false;
  /**
   * Whether to retry local rejections from inner sluice policies (`isRejectedError`: rate limited, queue full,
   * circuit open, ...). When true, the wait honours their `retryAfterMs`. Default false: a rejection means "overloaded
   * here, don't retry", and retrying it would only add load (give-up reason `rejected`).
   */
  retryRejections?: boolean;
  /**
   * Longest wait a `retryAfterMs` (from the error or result, e.g. a server's `Retry-After`) may ask for, ms. The retry
   * never runs sooner than asked, so a longer request ends the call (give-up reason `retryAfter`). Number ≥ 0 or
   * `Infinity`. Default 30 000.
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
  /**
   * When the policy gives up on a call it retried (or meant to), reject with the last attempt's error itself instead
   * of a {@link RetryExhaustedError} explaining why (the behaviour of Polly, cockatiel and resilience4j). Default
   * false.
   */
  throwLastError?: boolean;
}

const KNOWN = v.keys(
  ...COMMON_KEYS,
  'maxAttempts',
  'shouldRetry',
  'shouldRetryResult',
  'backoff',
  'budget',
  'retryRejections',
  'maxRetryAfterMs',
  'nested',
  'throwLastError',
);

/**
 * Emitted when a retry is scheduled, before its backoff. The retry may still not start: an abort or `dispose()`
 * during the backoff ends the call instead (then `giveUp` follows with reason `aborted` or `disposed`, and
 * `stats().retries` does not count it). Retries are counted when their attempt starts.
 */
export type RetryEvent = {
  readonly policy: string;
  /** The attempt that will run after the backoff (2 for the first retry). */
  readonly attempt: number;
  /** The wait before it, ms: the backoff, or a longer `retryAfterMs`. */
  readonly delayMs: number;
  /** The `retryAfterMs` the failure carried, or undefined. */
  readonly retryAfterMs: number | undefined;
} & RetryOutcome;

/** Emitted when a call stops retrying and ends with a failure. */
export type GiveUpEvent = {
  readonly policy: string;
  /** Attempts the call made (attempts that started). */
  readonly attempts: number;
  readonly reason: GiveUpReason;
} & RetryOutcome;

/** Emitted when the retry budget refused a retry (the call then gives up with reason `budget`). */
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

/**
 * Events of a {@link Retry} policy; free when nobody listens. A listener that throws does not affect the call (nor the
 * policy's bookkeeping): its error is re-raised asynchronously, in a microtask of its own (as an `EventTarget`
 * listener's is: an `uncaughtException` in Node).
 */
export interface RetryEvents extends LimiterEvents {
  retry: (event: RetryEvent) => void;
  giveUp: (event: GiveUpEvent) => void;
  budgetExhausted: (event: BudgetExhaustedEvent) => void;
  nestedRetry: (event: NestedRetryEvent) => void;
}

/**
 * Snapshot returned by {@link Retry.stats}. At every moment `attempts = calls + retries`: an attempt, and so a retry,
 * is counted when it starts, never when it is merely scheduled.
 */
export interface RetryStats {
  name: string;
  /** Calls this policy ran its retry loop for (nested pass-throughs excluded, see `nested`). */
  calls: number;
  /** Attempts started by those calls, first attempts included. */
  attempts: number;
  /** Retries started (`attempts − calls`). A retry cancelled during its backoff (abort, dispose) is not counted. */
  retries: number;
  /** Calls that ended with a success. */
  successes: number;
  /**
   * Calls that gave up, ending with an error or a result flagged by `shouldRetryResult` (the sum of `giveUps`). Once
   * every call has settled, `calls = successes + failures`.
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
   * Rejects every call waiting in a backoff with `DisposedError` (or `reason`), clears their timers, refunds their
   * budget, refuses later calls with `DisposedError`, and unregisters metrics. Attempts already running finish, and
   * are not retried. Idempotent.
   */
  dispose(reason?: unknown): void;
  [Symbol.dispose](): void;
}

/**
 * A backoff sleep: its promise, the caller's abort listener and its entry in the heap of wake-up times. Settling
 * never throws, even when a foreign signal's `removeEventListener` does, so one sleeper cannot stop the shared timer
 * from waking the others, nor `dispose()` from rejecting them.
 */
class Sleeper implements DeadlineEntry {
  due = 0;
  seq = 0;
  heapIndex = -1;
  settled = false;
  listener: (() => void) | undefined = undefined;
  readonly promise: Promise<void>;
  private resolveFn!: () => void;
  private rejectFn!: (reason: unknown) => void;

  constructor(readonly signal: AbortSignal) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  resolve(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn();
    this.unwatch();
  }

  reject(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(reason);
    this.unwatch();
  }

  private unwatch(): void {
    const l = this.listener;
    if (l === undefined) return;
    this.listener = undefined;
    try {
      this.signal.removeEventListener('abort', l);
    } catch {
      // A foreign signal that cannot remove its listener: the sleeper has settled, so a late abort finds it gone.
    }
  }
}

/**
 * Whether `e` is a local rejection from an inner sluice policy. Never throws: sluice's errors have plain fields, so a
 * value whose getters throw (or a revoked Proxy) is not one (whatever copy of sluice's `isRejectedError` is loaded).
 */
function isLocal(e: unknown): boolean {
  try {
    return isRejectedError(e);
  } catch {
    return false;
  }
}

/** The `retryAfterMs` hint a failure carries (a number ≥ 0), undefined when none, null when reading it threw. */
function retryAfterOf(x: unknown): number | undefined | null {
  if (typeof x !== 'object' || x === null) return undefined;
  try {
    const r = (x as { retryAfterMs?: unknown }).retryAfterMs;
    return typeof r === 'number' && r >= 0 ? r : undefined;
  } catch {
    return null;
  }
}

function zeroByReason(): Record<GiveUpReason, number> {
  const r = {} as Record<GiveUpReason, number>;
  for (const k of GIVE_UP_REASONS) r[k] = 0;
  return r;
}

const OWNER = 'retry';

/** The first attempt's context for a call made without options (attempt 1, one retry enclosing it): shared, allocated once. */
const FIRST_ATTEMPT: Context = Object.freeze(new Context(NEVER_ABORTED, undefined, 0, undefined, 1, 1, 1)) as Context;

class RetryImpl implements Retry, FastStage {
  readonly [KIND] = 'retry';
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
  private readonly throwLastError: boolean;
  /** Calls sleeping in a backoff, earliest wake-up first; one timer (`alarm`) for all of them. */
  private readonly sleepers = new DeadlineHeap<Sleeper>();
  private readonly alarm: Alarm;
  private isDisposed = false;
  private disposeReason: unknown = undefined;
  private nestedSeen = false;
  private attempts = 0;
  private retries = 0;
  private successes = 0;
  private failures = 0;
  private nestedCalls = 0;
  private readonly giveUps = zeroByReason();

  constructor(options: RetryOptions | undefined) {
    const o = v.optionsObject<RetryOptions>(OWNER, options, KNOWN);
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
    this.throwLastError = v.opt(o.throwLastError, false, (x) => v.bool(OWNER, 'throwLastError', x));
    this.budget =
      o.budget === false
        ? undefined
        : v.opt<RetryBudget>(o.budget, undefined as unknown as RetryBudget, (x) =>
            v.shaped<RetryBudget>(OWNER, 'budget', x, ['recordRequest', 'tryRetry', 'recordSuccess', 'stats']),
          ) ?? tokenBudget();
    this.t = new Telemetry<RetryEvents>(OWNER, this.name, common.metrics);
    this.t.counter(METRIC.retryAttempts, {}, () => this.attempts);
    this.t.counter(METRIC.retries, {}, () => this.retries);
    this.t.counter(METRIC.retryNested, {}, () => this.nestedCalls);
    for (const reason of GIVE_UP_REASONS) {
      this.t.counter(METRIC.retryGiveUps, { reason }, () => this.giveUps[reason]);
    }
    this.t.gauge(METRIC.retrySleeping, {}, () => this.sleepers.size);
    const budget = this.budget;
    if (budget !== undefined) {
      this.t.gauge(METRIC.retryBudgetAvailable, {}, () => {
        try {
          return budget.stats(this.clock).available;
        } catch {
          return NaN;
        }
      });
    }
  }

  get events(): Telemetry<RetryEvents>['events'] {
    return this.t.events;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    if (this.isDisposed) return this.t.refuseDisposed(ctx.cost);
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
    if (this.budget !== undefined) this.recordRequest(this.budget);
    if (this.t.duration === undefined) return this.first(next, ctx);
    const start = this.clock.now();
    return this.t.timed(this.first(next, ctx), this.clock, start);
  }

  private sawNesting(depth: number): void {
    if (this.nestedSeen) return;
    this.nestedSeen = true;
    if (this.t.listening('nestedRetry')) {
      this.emit('nestedRetry', { policy: this.name, depth, mode: this.multiply ? 'multiply' : 'single-attempt' });
    }
  }

  /** The first attempt. On success no timer, no async frame and (without options) no context is allocated. */
  private first<T>(next: Task<T>, ctx: Context): Promise<T> {
    // Each attempt gets its own context, so inner policies admit it afresh, see its number and see the nesting.
    const c = ctx === DEFAULT_CONTEXT ? FIRST_ATTEMPT : ctx.derive(ctx.signal, ctx.deadline, 1, ctx.retryDepth + 1);
    return settle<T>(
      callTask(next, c),
      this.shouldRetryResult === undefined
        ? (this.firstSucceeded as (result: unknown) => T)
        : (result: unknown) => (this.flagged(result as T, 1) ? (this.retryLoop(next, ctx, { kind: 'result', result }) as Promise<T>) : this.succeeded(result as T, 0)),
      (error: unknown) => this.retryLoop(next, ctx, { kind: 'error', error }) as Promise<T>,
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
    if (this.budget !== undefined) this.recordRequest(this.budget);
    call.retryDepth = 1;
    return undefined;
  }

  /** @internal fused path: the first attempt's outcome; a failure worth retrying hands over to the retry loop. */
  exit(call: Call, _state: unknown, value: unknown, isError: boolean, inner: Task<unknown>): PromiseLike<unknown> | undefined {
    if (!isError && (this.shouldRetryResult === undefined || !this.flagged(value, 1))) {
      this.succeeded(value, 0);
      return undefined;
    }
    // The context this retry was entered with (enter() admits only at depth 0), for the further attempts.
    const ctx = new Context(call.callerSignal, call.outerDeadline, call.priority, call.tenant, call.cost, 1, 0);
    ctx.task = call.task;
    ctx.key = call.key;
    return this.retryLoop(inner, ctx, isError ? { kind: 'error', error: value } : { kind: 'result', result: value });
  }

  /** Success handler of a first attempt when results are never retried: shared, so no closure per call. */
  private readonly firstSucceeded = (result: unknown): unknown => this.succeeded(result, 0);

  private succeeded<T>(result: T, retryCost: number): T {
    this.successes++;
    const budget = this.budget;
    if (budget !== undefined) {
      try {
        budget.recordSuccess(this.clock, retryCost);
      } catch (e) {
        reportError(e);
      }
    }
    return result;
  }

  private recordRequest(budget: RetryBudget): void {
    try {
      budget.recordRequest(this.clock);
    } catch (e) {
      reportError(e);
    }
  }

  /** Whether `shouldRetryResult` flags `result`; a throwing predicate flags nothing (the result is returned). */
  private flagged(result: unknown, attempt: number): boolean {
    try {
      return Boolean(this.shouldRetryResult!(result, attempt));
    } catch (e) {
      reportError(e);
      return false;
    }
  }

  /**
   * Retries after a failed first attempt, until success or a reason to stop. The invariant: an attempt (and so a
   * retry) is counted, and the budget keeps its charge, only once the attempt starts; a retry cancelled during its
   * backoff is refunded and not counted.
   */
  private async retryLoop<T>(next: Task<T>, ctx: Context, firstOutcome: RetryOutcome<T>): Promise<T> {
    const depth = ctx.retryDepth + 1;
    let outcome = firstOutcome;
    let attempt = 1;
    let previousDelayMs = 0;
    let lastCost = 0;
    // The last failure the dependency itself produced (a local refusal never is): RetryExhaustedError.cause.
    let cause: unknown = undefined;
    for (;;) {
      const failure = outcome.kind === 'error' ? outcome.error : outcome.result;
      const local = outcome.kind === 'error' && isLocal(failure);
      if (!local) cause = failure;
      const stop = this.stopReason(outcome, local, attempt, ctx);
      if (stop !== undefined) return this.giveUp(stop, attempt, outcome, cause, ctx);
      const retryAfterMs = retryAfterOf(failure);
      if (retryAfterMs === null) return this.giveUp('notRetryable', attempt, outcome, cause, ctx);
      // Infinity means "never" (e.g. a cost above a bucket's capacity), even when maxRetryAfterMs is Infinity.
      if (retryAfterMs !== undefined && (retryAfterMs > this.maxRetryAfterMs || retryAfterMs === Infinity)) {
        return this.giveUp('retryAfter', attempt, outcome, cause, ctx);
      }
      const delayMs = this.delay(outcome, attempt, previousDelayMs);
      if (delayMs === undefined) return this.giveUp('notRetryable', attempt, outcome, cause, ctx);
      const waitMs = retryAfterMs !== undefined && retryAfterMs > delayMs ? retryAfterMs : delayMs;
      if (ctx.deadline !== undefined && this.clock.now() + waitMs >= ctx.deadline) return this.giveUp('deadline', attempt, outcome, cause, ctx);
      let cost = 0;
      if (this.budget !== undefined) {
        cost = this.withdraw(this.budget, failure);
        if (!(cost > 0)) {
          if (this.t.listening('budgetExhausted')) {
            const budget = this.budget;
            this.emit('budgetExhausted', () => ({ policy: this.name, attempts: attempt, budget: budget.stats(this.clock) }));
          }
          return this.giveUp('budget', attempt, outcome, cause, ctx);
        }
      }
      if (this.t.listening('retry')) this.emit('retry', { policy: this.name, attempt: attempt + 1, delayMs: waitMs, retryAfterMs, ...outcome });
      if (waitMs > 0) {
        try {
          await this.sleep(waitMs, ctx);
        } catch (e) {
          this.refund(cost);
          this.record(this.isDisposed ? 'disposed' : 'aborted', attempt, outcome);
          throw e;
        }
      }
      // The caller may have aborted, or the policy been disposed, after the timer fired (or from a `retry` listener):
      // the retry has not started, so it is refunded and not counted.
      if (ctx.signal.aborted) {
        this.refund(cost);
        return this.giveUp('aborted', attempt, outcome, cause, ctx);
      }
      if (this.isDisposed) {
        this.refund(cost);
        this.record('disposed', attempt, outcome);
        throw this.disposedError();
      }
      previousDelayMs = delayMs;
      lastCost = cost;
      attempt++;
      this.attempts++;
      this.retries++;
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
      else if (this.shouldRetryResult !== undefined && this.flagged(result, attempt)) outcome = { kind: 'result', result: result as T };
      else return this.succeeded(result as T, lastCost);
    }
  }

  /** Why not to retry `outcome` at all (before asking the backoff or the budget), or undefined. */
  private stopReason(outcome: RetryOutcome, local: boolean, attempt: number, ctx: Context): GiveUpReason | undefined {
    if (ctx.signal.aborted) return 'aborted';
    if (outcome.kind === 'error') {
      if (local) {
        if (!this.retryRejections) return 'rejected';
      } else if (this.shouldRetry !== undefined) {
        try {
          if (!this.shouldRetry(outcome.error, attempt)) return 'notRetryable';
        } catch (e) {
          reportError(e);
          return 'notRetryable';
        }
      }
    }
    if (attempt >= this.maxAttempts) return 'maxAttempts';
    if (this.isDisposed) return 'disposed';
    return undefined;
  }

  /** The backoff before the next retry; undefined (reported) when the backoff throws or returns a bad value. */
  private delay(outcome: RetryOutcome, attempt: number, previousDelayMs: number): number | undefined {
    let d: unknown;
    try {
      d = this.backoff({ attempt, previousDelayMs, outcome, random: this.random });
    } catch (e) {
      reportError(e);
      return undefined;
    }
    if (typeof d !== 'number' || !(d >= 0) || d === Infinity) {
      reportError(new RangeError(`${this.name}: backoff must return a finite number >= 0, got ${String(d)} for attempt ${attempt}`));
      return undefined;
    }
    return d;
  }

  /** Asks the budget for a retry: its cost, or 0 when refused (a budget that throws refuses). */
  private withdraw(budget: RetryBudget, failure: unknown): number {
    try {
      const cost = budget.tryRetry(this.clock, failure);
      return typeof cost === 'number' ? cost : 0;
    } catch (e) {
      reportError(e);
      return 0;
    }
  }

  /** Gives back the charge of a retry that never started. */
  private refund(cost: number): void {
    const budget = this.budget;
    if (!(cost > 0) || budget === undefined || typeof budget.refundRetry !== 'function') return;
    try {
      budget.refundRetry(this.clock, cost);
    } catch (e) {
      reportError(e);
    }
  }

  private record(reason: GiveUpReason, attempts: number, outcome: RetryOutcome): void {
    this.giveUps[reason]++;
    this.failures++;
    if (this.t.listening('giveUp')) this.emit('giveUp', { policy: this.name, attempts, reason, ...outcome });
  }

  /**
   * Ends a call that stops retrying: with the abort reason; the last (unwanted) result; the last error unchanged when
   * there is nothing to explain (one attempt, and it was not going to be retried) or `throwLastError` is set; else a
   * RetryExhaustedError saying why.
   */
  private giveUp<T>(reason: GiveUpReason, attempts: number, outcome: RetryOutcome<T>, cause: unknown, ctx: Context): T {
    this.record(reason, attempts, outcome);
    if (reason === 'aborted') throw ctx.signal.reason;
    if (outcome.kind === 'result') return outcome.result;
    if (this.throwLastError || (attempts === 1 && (reason === 'notRetryable' || reason === 'rejected' || reason === 'maxAttempts'))) {
      throw outcome.error;
    }
    const hint = retryAfterOf(outcome.error);
    throw new RetryExhaustedError(this.name, reason, attempts, cause, outcome.error, hint === null ? undefined : hint);
  }

  private disposedError(): unknown {
    return this.disposeReason === undefined ? new DisposedError(this.name) : this.disposeReason;
  }

  private sleep(ms: number, ctx: Context): Promise<void> {
    const signal = ctx.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    const w = new Sleeper(signal);
    if (signal !== NEVER_ABORTED) {
      const onAbort = (): void => {
        if (!this.wake(w)) return;
        this.t.counts.aborted++;
        w.reject(signal.reason);
      };
      // Before the sleeper joins the heap: if a foreign signal throws here, nothing is left behind.
      signal.addEventListener('abort', onAbort, { once: true });
      w.listener = onAbort;
    }
    const now = this.clock.now();
    w.due = now + ms;
    this.sleepers.push(w);
    if (!this.alarm.armed || w.due < this.alarm.dueAt) this.alarm.set(w.due);
    return w.promise;
  }

  /** Takes `w` out of the sleepers (false if it already left); clears the timer when nobody sleeps any more. */
  private wake(w: Sleeper): boolean {
    if (!this.sleepers.remove(w)) return false;
    if (this.sleepers.size === 0) this.alarm.clear();
    return true;
  }

  /** The timer fired: wake every sleeper whose backoff is over (settling never throws), and re-arm for the next. */
  private onAlarm(): void {
    const now = this.clock.now();
    for (let w = this.sleepers.peek(); w !== undefined && w.due <= now; w = this.sleepers.peek()) {
      this.sleepers.pop();
      w.resolve();
    }
    const next = this.sleepers.peek();
    if (next !== undefined && (!this.alarm.armed || next.due < this.alarm.dueAt)) this.alarm.set(next.due);
  }

  /**
   * Emits `event`; a listener that throws reaches neither the call nor the policy's bookkeeping (its error is
   * re-raised asynchronously, see core/safe-call.ts). A payload given as a function is built only here, inside the guard.
   */
  private emit<E extends 'retry' | 'giveUp' | 'budgetExhausted' | 'nestedRetry'>(
    event: E,
    payload: Parameters<RetryEvents[E]>[0] | (() => Parameters<RetryEvents[E]>[0]),
  ): void {
    try {
      this.t.emit(event, typeof payload === 'function' ? payload() : payload);
    } catch (e) {
      reportError(e); // building the payload threw (a custom budget's stats())
    }
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
    this.disposeReason = reason;
    this.alarm.clear();
    const sleepers: Sleeper[] = [];
    for (let w = this.sleepers.pop(); w !== undefined; w = this.sleepers.pop()) sleepers.push(w);
    for (const w of sleepers) w.reject(this.disposedError());
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
 * **At capacity:** retry never queues or refuses a call of its own. When it stops retrying, `giveUp` says why
 * (`maxAttempts`, `budget` (the shared budget is empty; `budgetExhausted` is emitted too), `deadline` (the next
 * attempt could not start before `ctx.deadline`, so it stops at once instead of sleeping past it), `notRetryable`,
 * `rejected` (an inner policy refused the attempt), `retryAfter` (asked to wait longer than `maxRetryAfterMs`),
 * `aborted` or `disposed`), and the call ends:
 * - on abort, with `signal.reason` (at once, even mid-backoff; the backoff timer is cleared);
 * - when disposed during a backoff, with `DisposedError` (or the `dispose(reason)`);
 * - with the last result, when it was a result flagged by `shouldRetryResult`;
 * - with the error unchanged when there is nothing to explain: the call made one attempt and it was not going to be
 *   retried (not retryable, a local rejection, or `maxAttempts: 1`); also always with `throwLastError: true`;
 * - otherwise with a {@link RetryExhaustedError} (`code` `'RETRY_EXHAUSTED'`) carrying `attempts`, `reason`, `cause`
 *   (the last error the dependency produced, even when a local refusal such as an inner rate limiter's ended the
 *   call) and `lastError` (what the last attempt ended with).
 *
 * Inner policies still see every attempt's own error (a breaker inside the retry counts each attempt's failure).
 *
 * Rules that prevent retry storms:
 * - Local rejections (`isRejectedError`) are not retried unless `retryRejections: true`, and then not before their
 *   `retryAfterMs`.
 * - A `retryAfterMs` carried by the error or result (a server's Retry-After surfaced by HTTP middleware, or an inner
 *   policy's hint) is honoured: the wait is `max(backoff, retryAfterMs)`, never shorter.
 * - Default budget: an AWS-style token budget of this policy's own (`tokenBudget()`); share one budget across every
 *   policy that calls the same dependency. A retry is charged when scheduled and refunded if it never starts.
 * - Inside another retry of the same execution it makes a single attempt (`nested: 'single-attempt'`).
 *
 * A user callback that throws (`shouldRetry`, `shouldRetryResult`, `backoff`, a custom budget, an event listener)
 * never replaces the call's outcome: the failure is simply not retried (`notRetryable`; a throwing budget refuses,
 * `budget`), and the exception is re-raised asynchronously in a microtask of its own (never swallowed, the way an
 * `EventTarget` listener's exception is reported: `uncaughtException` in Node). An error whose getters throw is not a
 * sluice rejection (so, by default, retryable); one whose `retryAfterMs` cannot be read (a getter that throws, a
 * revoked Proxy) is not retried, since its hint cannot be honoured, and is passed on as it is.
 *
 * Defaults: `maxAttempts` 3, `backoff` full jitter with base 100 ms and cap 10 s, `maxRetryAfterMs` 30 000,
 * `retryRejections` false, `nested` `'single-attempt'`, `throwLastError` false. Each attempt runs with a derived
 * context whose `attempt` is its number (1, 2, ...), so inner policies (breaker, bucket, timeout) admit each attempt
 * afresh; put retry outermost. A call that succeeds at once arms no timer; calls sleeping in a backoff share one timer.
 *
 * @throws {TypeError | RangeError} when an option is invalid or unknown (the message names it, and the closest known
 *   option for a misspelt one).
 * @example
 * ```ts
 * const budget = ratioBudget({ ratio: 0.1 });
 * const policy = pipeline(
 *   retry({ maxAttempts: 3, budget, shouldRetry: (e) => isTransient(e) }),
 *   circuitBreaker({ ... }),
 * );
 * try {
 *   const user = await policy.execute(({ signal }) => fetchUser(id, { signal }), { timeoutMs: 2_000 });
 * } catch (e) {
 *   if (isRetryExhaustedError(e)) log.warn(`gave up after ${e.attempts} attempts (${e.reason})`, e.cause);
 *   throw e;
 * }
 * ```
 */
export function retry(options?: RetryOptions): Retry {
  return new RetryImpl(options);
}
