/**
 * Circuit breaker: stops calling a dependency that is down, probes it now and then, and resumes when it answers.
 * The enforcement half of the family; the decision to open comes from a pure strategy (./strategies).
 */
import type { EventEmitter } from 'eventemitter3';
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, executeContext, type ExecuteOptions, type Task } from '../core/context.js';
import { isRejectedError, isTimeoutError, type RejectionCode } from '../core/errors.js';
import { COMMON_KEYS, callTask, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { KIND as POLICY_KIND, RUN, type Policy } from '../core/policy.js';
import { SLOW, STAGE, type FastStage } from '../core/stage.js';
import { settle } from '../core/safe-call.js';
import type { Call } from '../core/call.js';
import { Telemetry, type LimiterCounts, type LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { BrokenCircuitError, IsolatedCircuitError } from './errors.js';
import { CIRCUIT_STATES, parseSavedState, type CircuitBreakerSavedState, type CircuitState } from './state.js';
import { countWindow } from './strategies/count-window.js';
import { fraction, type BreakerStrategy, type BreakerWindowStats, type BreakerTripReason } from './strategies/strategy.js';
import { METRIC } from '../metrics/metrics.js';

/** Options of {@link circuitBreaker}. Every duration is in ms on the breaker's clock. */
export interface CircuitBreakerOptions extends CommonOptions {
  /**
   * When to open, from the outcomes of calls made while closed. One instance per breaker. Default
   * `countWindow({ size: 100, minimumCalls: 20, failureRateThreshold: 0.5 })`: at 800 calls/s a dead dependency
   * trips it within about 63 ms (50 failing calls), while a 10 % background error rate essentially never does
   * (see {@link countWindow}).
   */
  strategy?: BreakerStrategy;
  /**
   * How long the first opening lasts before a probe is allowed, ms. Finite, > 0. Default 500: short, because every
   * ms of open after the dependency heals is lost goodput (resilience4j's 60 s default loses up to 60 s).
   */
  openMs?: number;
  /**
   * Each consecutive re-opening (a failed probe, without a close in between) multiplies the open interval by this.
   * Finite, ≥ 1; 1 keeps it fixed. Default 2.
   */
  openBackoffFactor?: number;
  /**
   * Cap of the open interval, ms. Finite, ≥ `openMs`. Default `max(1_500, openMs)`: with 500 → 1 000 → 1 500, a
   * healed dependency is probed within 1.5 s however long it was down, so with the default half-open rule the breaker
   * closes within 2 s of the heal at p90 even when the healed dependency still fails 30 % of calls, while a dead one
   * sees about `halfOpenDeadFailures` calls every 1.2–1.5 s. Raise it for dependencies that a probe every second
   * would hurt.
   */
  maxOpenMs?: number;
  /**
   * Random share taken off each open interval, so a fleet of breakers that opened together does not probe in
   * lockstep: the interval is uniform in `[(1 − openJitter)·d, d]`, drawn from the `random` option. In [0, 1].
   * Default 0.2.
   */
  openJitter?: number;
  /**
   * Most probe calls in flight at once while half-open; further calls are refused (`CIRCUIT_OPEN`, `retryAfterMs` 0)
   * until a probe finishes. Integer ≥ 1. Default 5: a few verdicts per round trip, few enough not to hurt a
   * dependency that is still down.
   */
  halfOpenProbes?: number;
  /**
   * Probe outcomes that judge a half-open round, like resilience4j's `permittedNumberOfCallsInHalfOpenState`: at most
   * this many probes are admitted per round, and the round is judged by the failure rate over them against
   * `halfOpenFailureRateThreshold`, the rule the closed state applies to its window. The verdict comes as soon as it
   * is certain: the breaker **reopens** once the failed (or slow) probes alone reach the threshold rate over the
   * window, and **closes** once they can no longer reach it even if every remaining probe failed. With the defaults
   * (20, 0.5): 10 failed probes reopen, 11 successful ones close. Integer in [1, 1 000 000]. Default 20: a healed
   * dependency that still fails 30 % of calls is judged failing (10 of 20) with probability 4.8 %, against 66 % for
   * "3 successes, none failed" (the rule before 0.2); its heal-to-closed p90 is 1.6 s at 100 calls/s
   * (`npm run bench:breaker-recovery`).
   */
  halfOpenWindow?: number;
  /**
   * The failure rate over `halfOpenWindow` probes at which a half-open round reopens the breaker; a slow probe counts
   * as failed. Fraction in (0, 1]. Default: the strategy's own rate threshold (`failureRateThreshold` of
   * {@link countWindow} and {@link timeWindow}, `slowCallRateThreshold` of `slowCallRate`), so one rule judges both
   * states; 0.5 for a strategy without one (`consecutiveFailures`, custom strategies).
   */
  halfOpenFailureRateThreshold?: number;
  /**
   * The cheap verdict on a dead dependency: while no probe has succeeded since the breaker tripped, this many failed
   * probes in a round reopen it at once, without waiting for the window's rate verdict. A dependency that stays down
   * therefore sees this many calls per probing round (about every 1.2–1.5 s), not half the window. Integer ≥ 1; values
   * above the window's reopen count act as that count. Default 3: a healed dependency failing 30 % of calls fails its
   * first three probes with probability 2.7 %, while a dead one costs about 135 calls a minute.
   */
  halfOpenDeadFailures?: number;
  /**
   * Longest the breaker waits for a probe verdict while half-open: when probes are in flight and none has settled
   * for this long (since the first of them started or the last one settled), the breaker reopens and forgets them
   * (their late outcomes are ignored). This is the cure for resilience4j#935, a breaker stuck half-open because its
   * probes never finish. > 0 or `Infinity` (wait forever). Default 10 000: longer than any sane call timeout.
   */
  halfOpenMaxWaitMs?: number;
  /**
   * Which thrown errors count as failures of the dependency. `false` counts the call as a success (the dependency
   * answered, e.g. with a validation error). Not consulted for local rejections, caller aborts or timeouts (see
   * {@link circuitBreaker}); a classifier that throws counts as a failure. Default: every error is a failure.
   */
  isFailure?: (error: unknown) => boolean;
  /**
   * Which *results* count as failures, e.g. `(res) => res.status >= 500`: the caller still gets the result. A
   * classifier that throws counts as a failure. Default: no result is a failure.
   */
  isResultFailure?: (result: unknown) => boolean;
  /**
   * Count local rejections from sluice policies inside the breaker (a full bulkhead, an empty bucket:
   * `isRejectedError`) as failures. Default false: they say nothing about the dependency, and counting them would
   * let our own backpressure open the circuit.
   */
  countLocalRejections?: boolean;
  /**
   * Run the state machine and report what it would do (`stateChange`, `open`, `wouldReject` events, stats), but let
   * every call through. Calls it would have refused are counted in `wouldRejectBy` and their outcomes are not fed
   * back. Default false.
   */
  dryRun?: boolean;
  /** A state saved by {@link CircuitBreaker.exportState}, to resume from. Validated. Default: closed, empty window. */
  initialState?: CircuitBreakerSavedState;
}

/** Why the breaker changed state. Stable strings. */
export type CircuitTransitionReason =
  | BreakerTripReason
  /**
   * The half-open probes reached the failure-rate threshold over `halfOpenWindow` (or, with no success since the
   * trip, `halfOpenDeadFailures` of them failed).
   */
  | 'probeFailed'
  /** Probes stayed in flight for `halfOpenMaxWaitMs` without a verdict. */
  | 'halfOpenTimeout'
  /** The open interval ended: half-open. */
  | 'openElapsed'
  /** The half-open probes can no longer reach the failure-rate threshold: closed. */
  | 'probesSucceeded'
  | 'isolate'
  | 'reset'
  | 'disable';

/** Payload of `stateChange`: emitted on every transition. `at` is when it happened on the clock (transitions are lazy). */
export interface CircuitStateChangeEvent {
  readonly policy: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: CircuitTransitionReason;
  readonly at: number;
  /** The breaker is in dry-run mode: the transition is what it would have done. */
  readonly dryRun: boolean;
}

/** Payload of `open`. */
export interface CircuitOpenEvent {
  readonly policy: string;
  readonly reason: CircuitTransitionReason;
  readonly at: number;
  /** This opening's interval (backoff and jitter applied), ms. */
  readonly openMs: number;
  /** Openings since the last close, this one included. */
  readonly consecutiveOpens: number;
  /** The strategy's window when it opened. */
  readonly window: BreakerWindowStats;
  readonly dryRun: boolean;
}

/** Payload of `halfOpen` and `close`. */
export interface CircuitTransitionEvent {
  readonly policy: string;
  readonly reason: CircuitTransitionReason;
  readonly at: number;
  readonly dryRun: boolean;
}

/** Payload of `success`: a call through the breaker succeeded (counted or not). */
export interface CircuitSuccessEvent {
  readonly policy: string;
  /** Duration on the clock, ms; `NaN` if the call started before anyone listened. */
  readonly durationMs: number;
  /** Longer than the strategy's `slowCallDurationMs`. */
  readonly slow: boolean;
}

/** Payload of `failure`: a call through the breaker failed. */
export interface CircuitFailureEvent extends CircuitSuccessEvent {
  /** What `fn` threw, or the result that `isResultFailure` flagged. */
  readonly error: unknown;
  /** True when `error` is a result flagged by `isResultFailure`, not a thrown error. */
  readonly isResult: boolean;
}

/**
 * The breaker's typed events (eventemitter3), emitted only when someone listens. Stable names: `stateChange`,
 * `open`, `halfOpen`, `close`, `success`, `failure`, plus every limiter's `reject`, `wouldReject` (dry-run) and
 * `dispose`. Outcomes the breaker ignores (local rejections, caller aborts) emit neither `success` nor `failure`.
 */
export interface CircuitBreakerEvents extends LimiterEvents {
  stateChange: (event: CircuitStateChangeEvent) => void;
  open: (event: CircuitOpenEvent) => void;
  halfOpen: (event: CircuitTransitionEvent) => void;
  close: (event: CircuitTransitionEvent) => void;
  success: (event: CircuitSuccessEvent) => void;
  failure: (event: CircuitFailureEvent) => void;
}

/** Snapshot returned by {@link CircuitBreaker.stats}. Window figures come from the strategy, as of now. */
export interface CircuitBreakerStats extends LimiterCounts, BreakerWindowStats {
  name: string;
  state: CircuitState;
  /** The strategy's `kind`. */
  strategy: string;
  dryRun: boolean;
  disposed: boolean;
  /** Openings over the breaker's life. */
  opens: number;
  /** Openings since the last close (the backoff level). */
  consecutiveOpens: number;
  /** When open: ms until a probe is allowed. 0 otherwise. */
  retryAfterMs: number;
  /** Half-open probes in flight now. */
  probesInFlight: number;
  /** Successful probes in the current half-open round. */
  probeSuccesses: number;
  /** Failed (or slow) probes in the current half-open round. */
  probeFailures: number;
  /** Lifetime outcomes: counted as success, as failure, or ignored (local rejections, caller aborts). */
  succeeded: number;
  failed: number;
  ignored: number;
}

/** A circuit breaker. See {@link circuitBreaker}. */
export interface CircuitBreaker extends Policy {
  /** Typed events; see {@link CircuitBreakerEvents}. Free when nobody listens. */
  readonly events: EventEmitter<CircuitBreakerEvents>;
  /** The current state (reading it applies any transition that fell due). */
  readonly state: CircuitState;
  readonly dryRun: boolean;
  /** A snapshot of counts, window and state. */
  stats(): CircuitBreakerStats;
  /** Opens the circuit by hand: every call is refused with `CIRCUIT_ISOLATED` until {@link reset}. */
  isolate(): void;
  /** Closes the circuit and starts afresh: empty window, no backoff. Also leaves `isolated` and `disabled`. */
  reset(): void;
  /** Lets every call through without recording anything until {@link reset}. */
  disable(): void;
  /** The state as plain JSON, for `initialState` of a later breaker. */
  exportState(): CircuitBreakerSavedState;
  /** Unregisters metrics and refuses later calls with `DISPOSED`. Holds no timer, so there is nothing else. */
  dispose(): void;
  [Symbol.dispose](): void;
}

// Modes: the CircuitState codes (index in CIRCUIT_STATES), plus DISPOSED.
const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
const DISABLED = 4;
const DISPOSED = 5;

// Outcomes.
const SUCCESS = 0;
const FAILURE = 1;
const IGNORED = 2;
type Outcome = typeof SUCCESS | typeof FAILURE | typeof IGNORED;

/** Generation of calls whose outcome must not feed the state machine (dry-run calls it would have refused). */
const UNCOUNTED = -1;

const KIND = 'circuitBreaker';
/** Largest `halfOpenWindow`: a round judged over more probes than a closed window holds gains nothing. */
const MAX_HALF_OPEN_WINDOW = 1_000_000;
const KNOWN = v.keys(
  ...COMMON_KEYS,
  'strategy',
  'openMs',
  'openBackoffFactor',
  'maxOpenMs',
  'openJitter',
  'halfOpenProbes',
  'halfOpenWindow',
  'halfOpenFailureRateThreshold',
  'halfOpenDeadFailures',
  'halfOpenMaxWaitMs',
  'isFailure',
  'isResultFailure',
  'countLocalRejections',
  'dryRun',
  'initialState',
);
const strategiesInUse = new WeakSet<BreakerStrategy>();

class CircuitBreakerImpl implements CircuitBreaker, FastStage {
  readonly [POLICY_KIND] = KIND;
  readonly name: string;
  readonly clock: CircuitBreaker['clock'];
  readonly dryRun: boolean;
  private readonly random: () => number;
  private readonly t: Telemetry<CircuitBreakerEvents>;
  private readonly strategy: BreakerStrategy;
  private readonly slowMs: number;
  /** The strategy's `usesTime`, read once. */
  private readonly usesTime: boolean;
  /** Time every call (slow-call tracking or duration histograms), not only when `success`/`failure` are listened. */
  private readonly timeAlways: boolean;
  private readonly emitter: EventEmitter<CircuitBreakerEvents>;
  private readonly openMs: number;
  private readonly factor: number;
  private readonly maxOpenMs: number;
  private readonly jitter: number;
  private readonly maxProbes: number;
  /** Probe verdicts that judge a half-open round (`halfOpenWindow`). */
  private readonly window: number;
  /** Failed probes of a round that reopen the breaker: the least f with f / window ≥ the threshold. */
  private readonly reopenAt: number;
  /** Successful probes of a round that close it: the least s with (window − s) / window < the threshold. */
  private readonly closeAt: number;
  /** Failed probes that reopen a round while no probe has succeeded since the breaker tripped. */
  private readonly deadAt: number;
  private readonly maxWaitMs: number;
  private readonly isFailure: ((error: unknown) => boolean) | undefined;
  private readonly isResultFailure: ((result: unknown) => boolean) | undefined;
  private readonly countLocalRejections: boolean;

  private mode = CLOSED;
  /** The mode when disposed, for `state`. */
  private lastMode = CLOSED;
  /** Bumped on every transition: an outcome counts only if its call was admitted in the current generation. */
  private generation = 0;
  private openUntil = 0;
  private consecutiveOpens = 0;
  private opens = 0;
  /** Transitions by (from × states + to), once any happened; read by the transitions counter. */
  private transitionCounts: Map<number, number> | undefined = undefined;
  private probes = 0;
  private probeSuccesses = 0;
  private probeFailures = 0;
  /** A probe succeeded since the breaker last tripped from closed. */
  private aliveSinceTrip = false;
  /** Half-open: when the current wait for a probe verdict began. */
  private waitStart = 0;
  private succeeded = 0;
  private failed = 0;
  private ignored = 0;
  private onClosedResult!: (result: unknown) => unknown;
  private onClosedError!: (error: unknown) => never;

  constructor(options: CircuitBreakerOptions) {
    const o = v.optionsObject<CircuitBreakerOptions>(KIND, options, KNOWN);
    const common = parseCommon(KIND, o);
    this.name = common.name;
    this.clock = common.clock;
    this.random = common.random;
    const strategy = v.opt(o.strategy, undefined, (x) => v.shaped<BreakerStrategy>(KIND, 'strategy', x, ['record', 'stats', 'reset', 'save', 'restore'])) ?? countWindow();
    if (strategiesInUse.has(strategy)) {
      throw new TypeError(`${KIND}: option "strategy" is already used by another breaker; create one strategy per breaker`);
    }
    this.slowMs = strategy.slowCallDurationMs;
    if (typeof this.slowMs !== 'number' || !(this.slowMs > 0)) {
      throw new TypeError(`${KIND}: option "strategy" must have slowCallDurationMs > 0 or Infinity, got ${String(this.slowMs)}`);
    }
    this.strategy = strategy;
    this.usesTime = strategy.usesTime === true;
    this.openMs = v.opt(o.openMs, 500, (x) => v.positive(KIND, 'openMs', x));
    this.factor = v.opt(o.openBackoffFactor, 2, (x) => v.between(KIND, 'openBackoffFactor', x, 1, Number.MAX_VALUE));
    this.maxOpenMs = v.opt(o.maxOpenMs, Math.max(1_500, this.openMs), (x) => v.between(KIND, 'maxOpenMs', x, this.openMs, Number.MAX_VALUE));
    this.jitter = v.opt(o.openJitter, 0.2, (x) => v.between(KIND, 'openJitter', x, 0, 1));
    this.maxProbes = v.opt(o.halfOpenProbes, 5, (x) => v.integer(KIND, 'halfOpenProbes', x, 1));
    this.window = v.opt(o.halfOpenWindow, 20, (x) => v.integer(KIND, 'halfOpenWindow', x, 1));
    if (this.window > MAX_HALF_OPEN_WINDOW) {
      throw new RangeError(`${KIND}: option "halfOpenWindow" must be an integer in [1, ${MAX_HALF_OPEN_WINDOW}], got ${this.window}`);
    }
    const threshold = v.opt(o.halfOpenFailureRateThreshold, defaultProbeThreshold(strategy), (x) => fraction(KIND, 'halfOpenFailureRateThreshold', x));
    let reopenAt = 1;
    while (reopenAt / this.window < threshold) reopenAt++;
    this.reopenAt = reopenAt;
    this.closeAt = this.window + 1 - reopenAt;
    this.deadAt = Math.min(reopenAt, v.opt(o.halfOpenDeadFailures, 3, (x) => v.integer(KIND, 'halfOpenDeadFailures', x, 1)));
    this.maxWaitMs = v.opt(o.halfOpenMaxWaitMs, 10_000, (x) => v.nonNegativeOrInfinity(KIND, 'halfOpenMaxWaitMs', x));
    if (this.maxWaitMs === 0) throw new RangeError(`${KIND}: option "halfOpenMaxWaitMs" must be > 0 or Infinity, got 0`);
    this.isFailure = v.opt(o.isFailure, undefined, (x) => v.func<(e: unknown) => boolean>(KIND, 'isFailure', x));
    this.isResultFailure = v.opt(o.isResultFailure, undefined, (x) => v.func<(r: unknown) => boolean>(KIND, 'isResultFailure', x));
    this.countLocalRejections = v.opt(o.countLocalRejections, false, (x) => v.bool(KIND, 'countLocalRejections', x));
    this.dryRun = v.opt(o.dryRun, false, (x) => v.bool(KIND, 'dryRun', x));
    const saved = o.initialState === undefined ? undefined : parseSavedState(KIND, o.initialState);
    if (saved !== undefined) this.restore(saved);
    this.bindClosedHandlers();
    strategiesInUse.add(strategy);

    this.t = new Telemetry<CircuitBreakerEvents>(KIND, this.name, common.metrics);
    this.emitter = this.t.events;
    this.timeAlways = this.slowMs !== Infinity || this.t.duration !== undefined;
    CIRCUIT_STATES.forEach((s, code) => this.t.gauge(METRIC.circuitState, { state: s }, () => (this.currentMode() === code ? 1 : 0)));
    this.t.counter(METRIC.circuitOpens, {}, () => this.opens);
    this.t.counter(METRIC.circuitCalls, { outcome: 'success' }, () => this.succeeded);
    this.t.counter(METRIC.circuitCalls, { outcome: 'failure' }, () => this.failed);
    this.t.counter(METRIC.circuitCalls, { outcome: 'ignored' }, () => this.ignored);
  }

  private restore(saved: CircuitBreakerSavedState): void {
    const now = this.clock.now();
    if (saved.window !== null && saved.window.kind === this.strategy.kind) this.strategy.restore(saved.window, now);
    this.mode = CIRCUIT_STATES.indexOf(saved.state);
    this.opens = saved.opens;
    this.consecutiveOpens = saved.consecutiveOpens;
    if (this.mode === OPEN || this.mode === HALF_OPEN) this.consecutiveOpens = Math.max(1, this.consecutiveOpens);
    // A restart already kept the dependency out for its downtime: never wait longer than this config's cap.
    if (this.mode === OPEN) this.openUntil = now + Math.min(saved.openRemainingMs, this.maxOpenMs);
  }

  get events(): EventEmitter<CircuitBreakerEvents> {
    return this.t.events;
  }

  get state(): CircuitState {
    return CIRCUIT_STATES[this.currentMode()]!;
  }

  /** The mode after any due transition (the mode at disposal once disposed). */
  private currentMode(): number {
    if (this.mode === OPEN || this.mode === HALF_OPEN) this.advance(this.clock.now());
    return this.mode === DISPOSED ? this.lastMode : this.mode;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    const signal = ctx.signal;
    // NEVER_ABORTED first: `aborted` is a native accessor, worth skipping on the hot path.
    if (signal !== NEVER_ABORTED && signal.aborted) return Promise.reject(signal.reason);
    if (this.mode === CLOSED) {
      this.t.counts.admitted++;
      const start = this.startTime();
      // Fast path: nothing needs the call's duration and no caller signal can abort it, so the outcome handlers of
      // the current closed generation serve: one promise reaction, no per-call closure, no clock read.
      if (start !== start && signal === NEVER_ABORTED) return settle(callTask(next, ctx), this.onClosedResult as (r: unknown) => T, this.onClosedError);
      return this.observe(next, ctx, this.generation, false, start);
    }
    return this.admit(next, ctx);
  }

  /** @internal fused-path hooks: this policy itself. */
  get [STAGE](): FastStage {
    return this;
  }

  /**
   * @internal fused path: admits a call while plainly closed and nothing needs its duration (the same case as the
   * one-reaction path of `[RUN]`); returns the generation that admitted it. Anything else takes the general path.
   */
  enter(call: Call): unknown {
    if (this.mode !== CLOSED || this.timeAlways || this.listening('success') || this.listening('failure')) return SLOW;
    const signal = call.callerSignal;
    if (signal !== NEVER_ABORTED && signal.aborted) return SLOW;
    this.t.counts.admitted++;
    return this.generation;
  }

  /** @internal fused path: the outcome of a call `enter` admitted. */
  exit(call: Call, generation: unknown, value: unknown, isError: boolean): undefined {
    if (isError) this.settle(this.classifyError(value, call.callerSignal), value, false, generation as number, false, NaN);
    else this.settleResult(value, generation as number, false, NaN);
    return undefined;
  }

  /** The call's start time when anything needs its duration, else NaN. */
  private startTime(): number {
    return this.timeAlways || this.listening('success') || this.listening('failure') ? this.clock.now() : NaN;
  }

  /** `listenerCount(event) > 0`, short-circuited when the emitter has no listener at all (the common case). */
  private listening(event: 'success' | 'failure'): boolean {
    // eventemitter3 keeps the number of events with listeners in `_eventsCount`; if a future version drops the field,
    // the comparison is false and the exact count below decides.
    if ((this.emitter as unknown as { _eventsCount?: number })._eventsCount === 0) return false;
    return this.emitter.listenerCount(event) > 0;
  }

  /** Binds the fast-path outcome handlers to the current generation; called whenever a closed generation begins. */
  private bindClosedHandlers(): void {
    const generation = this.generation;
    this.onClosedResult = (result) => {
      this.settleResult(result, generation, false, NaN);
      return result;
    };
    this.onClosedError = (e) => {
      this.settle(this.classifyError(e, NEVER_ABORTED), e, false, generation, false, NaN);
      throw e;
    };
  }

  /** Every state but a plain closed one. */
  private admit<T>(next: Task<T>, ctx: Context): Promise<T> {
    if (this.mode === DISPOSED) return this.t.refuseDisposed(ctx.cost);
    if (this.mode === DISABLED) {
      this.t.counts.admitted++;
      return callTask(next, ctx);
    }
    const now = this.clock.now();
    this.advance(now);
    // advance() only moves between open and half-open, so the mode here is open, half-open or isolated.
    switch (this.mode) {
      case HALF_OPEN:
        if (this.probes < this.maxProbes && this.probes + this.probeSuccesses + this.probeFailures < this.window) {
          if (this.probes++ === 0) this.waitStart = now;
          this.t.counts.admitted++;
          return this.observe(next, ctx, this.generation, true, now);
        }
        return this.refuse('CIRCUIT_OPEN', 0, next, ctx);
      case OPEN:
        return this.refuse('CIRCUIT_OPEN', this.openUntil - now, next, ctx);
      default:
        return this.refuse('CIRCUIT_ISOLATED', Infinity, next, ctx);
    }
  }

  private refuse<T>(code: RejectionCode, retryAfterMs: number, next: Task<T>, ctx: Context): Promise<T> {
    if (this.dryRun) {
      this.t.wouldReject(code, retryAfterMs, ctx.cost);
      this.t.counts.admitted++;
      return this.observe(next, ctx, UNCOUNTED, false, this.startTime());
    }
    this.t.rejected(code, retryAfterMs, ctx.cost);
    return Promise.reject(code === 'CIRCUIT_OPEN' ? new BrokenCircuitError(this.name, retryAfterMs) : new IsolatedCircuitError(this.name));
  }

  /** Runs the call and feeds its outcome back. `start` is NaN when nobody needs the duration. */
  private async observe<T>(next: Task<T>, ctx: Context, generation: number, probe: boolean, start: number): Promise<T> {
    let result: T;
    try {
      result = await next(ctx);
    } catch (e) {
      this.settle(this.classifyError(e, ctx.signal), e, false, generation, probe, start);
      throw e;
    }
    this.settleResult(result, generation, probe, start);
    return result;
  }

  private settleResult(result: unknown, generation: number, probe: boolean, start: number): void {
    if (this.isResultFailure !== undefined && this.resultFails(result)) this.settle(FAILURE, result, true, generation, probe, start);
    else this.settle(SUCCESS, undefined, false, generation, probe, start);
  }

  /**
   * Never throws: reading the error's properties (`code`, `policy`, `retryAfterMs`: getters, Proxies) or the user's
   * `isFailure` may throw, and either makes the call a failure, so the caller still gets `fn`'s own error and a
   * half-open probe still gives its verdict (a throw here would leave its slot taken until `halfOpenMaxWaitMs`).
   */
  private classifyError(e: unknown, signal: AbortSignal): Outcome {
    try {
      if (isTimeoutError(e)) return FAILURE;
      if (isRejectedError(e)) return this.countLocalRejections ? FAILURE : IGNORED;
      // The caller gave up: that says nothing about the dependency.
      if (signal.aborted && e === signal.reason) return IGNORED;
      if (this.isFailure === undefined) return FAILURE;
      // Truthiness of whatever it returned (a Proxy's truthiness cannot throw).
      return this.isFailure(e) ? FAILURE : SUCCESS;
    } catch {
      return FAILURE;
    }
  }

  /** Never throws: a throwing `isResultFailure` flags the result as a failure (the caller still gets it). */
  private resultFails(result: unknown): boolean {
    try {
      return Boolean(this.isResultFailure!(result));
    } catch {
      return true;
    }
  }

  private settle(outcome: Outcome, error: unknown, isResult: boolean, generation: number, probe: boolean, start: number): void {
    const mode = this.mode;
    const now = start === start || this.usesTime || mode === OPEN || mode === HALF_OPEN ? this.clock.now() : NaN;
    const durationMs = now - start;
    const slow = outcome !== IGNORED && durationMs > this.slowMs;
    this.report(outcome, durationMs, slow, error, isResult);
    if (mode === OPEN || mode === HALF_OPEN) this.advance(now);
    // Only an outcome of the current generation moves the state machine: a call admitted while closed that ends
    // after the breaker opened, or a probe abandoned by a half-open timeout, is reported but not counted.
    if (generation !== this.generation || outcome === IGNORED && !probe) return;
    if (this.mode === CLOSED) {
      const reason = this.strategy.record(outcome === SUCCESS, slow, now);
      if (reason !== undefined) this.moveTo(OPEN, now === now ? now : this.clock.now(), reason);
      return;
    }
    if (this.mode !== HALF_OPEN || !probe) return;
    this.probes--;
    if (outcome === FAILURE || slow) {
      const failures = ++this.probeFailures;
      if (failures >= this.reopenAt || (failures >= this.deadAt && !this.aliveSinceTrip)) {
        this.moveTo(OPEN, now, 'probeFailed');
        return;
      }
    } else if (outcome === SUCCESS) {
      this.aliveSinceTrip = true;
      if (++this.probeSuccesses >= this.closeAt) {
        this.moveTo(CLOSED, now, 'probesSucceeded');
        return;
      }
    }
    this.waitStart = now;
  }

  /** Counters, histograms and `success`/`failure` events. */
  private report(outcome: Outcome, durationMs: number, slow: boolean, error: unknown, isResult: boolean): void {
    const d = this.t.duration;
    if (outcome === SUCCESS) {
      this.succeeded++;
      d?.success.record(durationMs);
      if (this.listening('success')) this.t.emit('success', { policy: this.name, durationMs, slow });
    } else if (outcome === FAILURE) {
      this.failed++;
      d?.failure.record(durationMs);
      if (this.listening('failure')) this.t.emit('failure', { policy: this.name, durationMs, slow, error, isResult });
    } else {
      this.ignored++;
      d?.failure.record(durationMs);
    }
  }

  /** Applies the transitions that fell due by `now`, each at its own due time, in order. */
  private advance(now: number): void {
    for (;;) {
      if (this.mode === OPEN && now >= this.openUntil) {
        this.moveTo(HALF_OPEN, this.openUntil, 'openElapsed');
      } else if (this.mode === HALF_OPEN && this.probes > 0 && now >= this.waitStart + this.maxWaitMs) {
        this.moveTo(OPEN, this.waitStart + this.maxWaitMs, 'halfOpenTimeout');
      } else {
        return;
      }
    }
  }

  /** The open interval of the `k`-th consecutive opening: capped exponential, minus up to `jitter` of it. */
  private openDuration(k: number): number {
    const base = Math.min(this.maxOpenMs, this.openMs * this.factor ** (k - 1));
    // A custom random outside [0, 1) (NaN included) would give a negative or NaN interval: a NaN `openUntil` never
    // elapses. Such a draw counts as 0 (no jitter taken off).
    const r = this.random();
    return base * (1 - this.jitter * (r >= 0 && r < 1 ? r : 0));
  }

  /** Counts a transition; its series is registered with the first one (most of the 20 pairs never happen). */
  private countTransition(from: number, to: number): void {
    const k = from * CIRCUIT_STATES.length + to;
    const counts = (this.transitionCounts ??= new Map());
    const n = counts.get(k);
    if (n !== undefined) {
      counts.set(k, n + 1);
      return;
    }
    counts.set(k, 1);
    this.t.counter(METRIC.circuitTransitions, { from: CIRCUIT_STATES[from]!, to: CIRCUIT_STATES[to]! }, () => counts.get(k) ?? 0);
  }

  private moveTo(to: number, at: number, reason: CircuitTransitionReason): void {
    const from = this.mode;
    this.mode = to;
    this.countTransition(from, to);
    this.generation++;
    this.probes = 0;
    this.probeSuccesses = 0;
    this.probeFailures = 0;
    let openMs = 0;
    if (to === OPEN) {
      // A trip from closed starts a new outage: no probe has answered yet.
      if (from !== HALF_OPEN) this.aliveSinceTrip = false;
      this.opens++;
      openMs = this.openDuration(++this.consecutiveOpens);
      this.openUntil = at + openMs;
    } else if (to === CLOSED) {
      this.consecutiveOpens = 0;
      this.strategy.reset();
      this.bindClosedHandlers();
    }
    const t = this.t;
    const dryRun = this.dryRun;
    if (t.listening('stateChange')) {
      t.emit('stateChange', { policy: this.name, from: CIRCUIT_STATES[from]!, to: CIRCUIT_STATES[to]!, reason, at, dryRun });
    }
    if (to === OPEN && t.listening('open')) {
      const window = this.strategy.stats(at);
      t.emit('open', { policy: this.name, reason, at, openMs, consecutiveOpens: this.consecutiveOpens, window, dryRun });
    } else if (to === HALF_OPEN && t.listening('halfOpen')) {
      t.emit('halfOpen', { policy: this.name, reason, at, dryRun });
    } else if (to === CLOSED && t.listening('close')) {
      t.emit('close', { policy: this.name, reason, at, dryRun });
    }
  }

  /** A manual transition; ignored once disposed. */
  private command(to: number, reason: CircuitTransitionReason): void {
    if (this.mode === DISPOSED) return;
    const now = this.clock.now();
    this.advance(now);
    if (this.mode !== to) {
      this.moveTo(to, now, reason);
    } else if (to === CLOSED) {
      // reset() while closed: a fresh window, and calls already running no longer count.
      this.generation++;
      this.strategy.reset();
      this.bindClosedHandlers();
    }
  }

  isolate(): void {
    this.command(ISOLATED, 'isolate');
  }

  reset(): void {
    this.command(CLOSED, 'reset');
  }

  disable(): void {
    this.command(DISABLED, 'disable');
  }

  exportState(): CircuitBreakerSavedState {
    const now = this.clock.now();
    const mode = this.currentMode();
    return {
      version: 1,
      state: CIRCUIT_STATES[mode]!,
      openRemainingMs: mode === OPEN ? Math.max(0, this.openUntil - now) : 0,
      consecutiveOpens: this.consecutiveOpens,
      opens: this.opens,
      window: this.strategy.save(now),
    };
  }

  stats(): CircuitBreakerStats {
    const now = this.clock.now();
    const mode = this.currentMode();
    return {
      name: this.name,
      ...this.t.snapshotCounts(),
      state: CIRCUIT_STATES[mode]!,
      strategy: this.strategy.kind,
      dryRun: this.dryRun,
      disposed: this.mode === DISPOSED,
      ...this.strategy.stats(now),
      opens: this.opens,
      consecutiveOpens: this.consecutiveOpens,
      retryAfterMs: this.mode === OPEN ? this.openUntil - now : 0,
      probesInFlight: this.probes,
      probeSuccesses: this.probeSuccesses,
      probeFailures: this.probeFailures,
      succeeded: this.succeeded,
      failed: this.failed,
      ignored: this.ignored,
    };
  }

  dispose(): void {
    if (this.mode === DISPOSED) return;
    this.lastMode = this.currentMode();
    this.mode = DISPOSED;
    this.generation++;
    this.t.disposed(0);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The strategy's own rate threshold when it has a valid one, else 0.5. */
function defaultProbeThreshold(strategy: BreakerStrategy): number {
  const t = strategy.rateThreshold;
  return typeof t === 'number' && t > 0 && t <= 1 ? t : 0.5;
}

/**
 * Creates a circuit breaker. While **closed**, calls pass and their outcomes feed the strategy (default: failure
 * rate ≥ 50 % over the last 100 calls, once 20 were seen). When the strategy trips, the breaker **opens**: calls are
 * refused at once with {@link BrokenCircuitError} (`CIRCUIT_OPEN`, `retryAfterMs` = ms until the next probe) for
 * `openMs` (default 500 ms), growing ×`openBackoffFactor` (2) per consecutive re-opening up to `maxOpenMs` (1.5 s),
 * minus up to `openJitter` (20 %) at random. Then it is **half-open**: up to `halfOpenProbes` (5) calls run at once
 * as probes, at most `halfOpenWindow` (20) per round, judged by the closed state's rule: the failure rate over the
 * window against `halfOpenFailureRateThreshold` (the strategy's threshold, 50 % by default). It closes (fresh
 * window, backoff reset) as soon as the failed or slow probes can no longer reach that rate (11 successes with the
 * defaults) and reopens as soon as they must (10 failures); while no probe has succeeded since the trip,
 * `halfOpenDeadFailures` (3) failures reopen it at once, so a dead dependency costs 3 calls per round. Probes that
 * give no verdict for `halfOpenMaxWaitMs` (10 s) reopen it too. Other calls are refused (`CIRCUIT_OPEN`,
 * `retryAfterMs` 0) while every probe slot is taken or the round's probes are all admitted.
 *
 * **Recovery** (measured in virtual time by `npm run bench:breaker-recovery`: 100 calls/s, 200 seeds, a dependency
 * hard down for 5–8 s that heals to a background failure rate p): heal to closed, p90, is 1.3 s at p = 0, 1.4 s at
 * 10 % and 20 %, 1.6 s at 30 % (max 4.5 s); a dependency that stays down sees about 135 calls a minute.
 *
 * **Transitions are lazy:** they happen, at their due time, when a call arrives or `state`/`stats()`/metrics are
 * read. The breaker arms no timer and holds nothing a process must wait for.
 *
 * **Classification**, in order: a `TimeoutError` is a failure; a local rejection from a sluice policy inside
 * (`isRejectedError`) is ignored (or a failure with `countLocalRejections`); an error equal to the aborted caller
 * signal's reason is ignored; any other error is a failure unless `isFailure(error)` returns false (then a success);
 * a result is a success unless `isResultFailure(result)` returns true. A call is slow when it lasts longer than the
 * strategy's `slowCallDurationMs` on the breaker's clock. Ignored outcomes do not touch the window; in half-open they
 * free their probe slot.
 *
 * Manual control: `isolate()` (refuse everything with `CIRCUIT_ISOLATED`), `disable()` (let everything through,
 * record nothing), `reset()` (back to a fresh closed state). `exportState()` / `initialState` carry the state across
 * restarts. `dryRun` runs the state machine without refusing anything.
 *
 * @throws {TypeError | RangeError} when an option is invalid (the message names it), including a malformed
 * `initialState` or a strategy already used by another breaker.
 * @example
 * ```ts
 * const breaker = circuitBreaker({
 *   strategy: countWindow({ size: 50, failureRateThreshold: 0.5 }),
 *   isResultFailure: (res) => (res as Response).status >= 500,
 * });
 * breaker.events.on('stateChange', (e) => log.warn(`${e.policy}: ${e.from} -> ${e.to} (${e.reason})`));
 * const res = await breaker.execute(({ signal }) => fetch(url, { signal }));
 * ```
 */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  return new CircuitBreakerImpl(options);
}
