/**
 * The contract between a circuit breaker and its trip strategy, and the rate-threshold logic the windowed
 * strategies share. A strategy is pure bookkeeping: it is fed call outcomes and answers "should the breaker open?".
 * It owns no timer and reads no clock; time reaches it only as the `at` argument.
 */
import * as v from '../../core/validate.js';

/**
 * Why a strategy wants the breaker to open. Stable strings, used in events and stats:
 * - `consecutiveFailures`: the run of failures reached the threshold;
 * - `failureRate`: the failure rate over the window reached its threshold (with at least `minimumCalls` calls);
 * - `slowCallRate`: the share of slow calls over the window reached its threshold (same volume rule).
 */
export type BreakerTripReason = 'consecutiveFailures' | 'failureRate' | 'slowCallRate';

/** What a strategy's window holds now. Rates are fractions in [0, 1]; 0 when the window is empty. */
export interface BreakerWindowStats {
  /** Outcomes in the window. For `consecutiveFailures`, the window is the current run of failures. */
  readonly calls: number;
  /** Failed outcomes in the window. */
  readonly failures: number;
  /** Slow outcomes in the window (a slow call may also be a failure). */
  readonly slowCalls: number;
  /** `failures / calls`. */
  readonly failureRate: number;
  /** `slowCalls / calls`. */
  readonly slowCallRate: number;
}

/**
 * A strategy's window as plain JSON, for {@link BreakerStrategy.save} / {@link BreakerStrategy.restore}. Times are
 * stored as ages relative to the save, never as clock readings, so they survive a restart (whose clock has another
 * origin).
 */
export interface SavedBreakerWindow {
  /** The {@link BreakerStrategy.kind} that saved it. */
  readonly kind: string;
  readonly [field: string]: unknown;
}

/**
 * A trip strategy: pure, synchronous, timer-free. One instance serves one breaker (it holds that breaker's window);
 * `circuitBreaker` refuses an instance that another breaker already uses.
 *
 * @example
 * ```ts
 * const s = countWindow({ size: 10, minimumCalls: 4, failureRateThreshold: 0.5 });
 * s.record(false, false, 0); s.record(false, false, 1); s.record(true, false, 2);
 * s.record(false, false, 3); // 'failureRate': 3 of 4 failed
 * ```
 */
export interface BreakerStrategy {
  /** Stable name of the strategy (`countWindow`, `timeWindow`, `consecutiveFailures`, ...), shown in stats. */
  readonly kind: string;
  /**
   * A call that takes longer than this, in ms, is slow. `Infinity` when the strategy ignores slowness; then the
   * breaker never marks a call slow.
   */
  readonly slowCallDurationMs: number;
  /** True when `record` and `stats` need `at` (time windows). When false the breaker may pass `NaN`. */
  readonly usesTime: boolean;
  /**
   * For a rate-based strategy, the rate at which it opens (a fraction in (0, 1]): `failureRateThreshold` for
   * {@link countWindow} and {@link timeWindow}, `slowCallRateThreshold` for {@link slowCallRate}. The breaker judges
   * half-open probes against the same rate, so both states apply one rule. Optional; absent (as for
   * {@link consecutiveFailures}), the breaker uses 0.5.
   */
  readonly rateThreshold?: number;
  /**
   * Adds one outcome to the window and says whether the breaker should open now.
   * @param success - the call succeeded (ignored outcomes, such as local rejections, are never recorded).
   * @param slow - the call took longer than {@link slowCallDurationMs}.
   * @param at - when the call ended, ms on the breaker's clock.
   * @returns the reason to open, or `undefined` to stay closed.
   */
  record(success: boolean, slow: boolean, at: number): BreakerTripReason | undefined;
  /** The window as of `at` (time windows first drop what has aged out). */
  stats(at: number): BreakerWindowStats;
  /** Empties the window (the breaker calls it when it closes, so a closed breaker starts from a clean slate). */
  reset(): void;
  /** The window as JSON, with times as ages relative to `at`. */
  save(at: number): SavedBreakerWindow;
  /**
   * Replaces the window with a saved one of the same `kind`, re-based on `at`. Tolerates another window size (keeps
   * what fits). Throws on malformed input.
   * @throws {TypeError | RangeError} when `saved` is malformed.
   */
  restore(saved: SavedBreakerWindow, at: number): void;
}

/** Failure- and slow-call-rate thresholds of a windowed strategy, validated. */
export interface RateThresholds {
  /** Fraction in (0, 1]; `Infinity` disables the failure-rate rule. */
  readonly failureRateThreshold: number;
  /** Fraction in (0, 1]; `Infinity` disables the slow-call rule. */
  readonly slowCallRateThreshold: number;
  /** ms; `Infinity` when slowness is not tracked. */
  readonly slowCallDurationMs: number;
  /** Integer ≥ 1: no rule fires with fewer calls in the window. */
  readonly minimumCalls: number;
}

/** Options shared by the windowed strategies ({@link countWindow}, {@link timeWindow}). */
export interface BreakerRateOptions {
  /**
   * Open when at least this fraction of the calls in the window failed. Fraction in (0, 1] (0.5 = 50 %, not 50).
   * Default 0.5 (resilience4j's and opossum's default).
   */
  failureRateThreshold?: number;
  /**
   * A call longer than this, in ms on the breaker's clock, is slow (whether it succeeded or failed). Finite, > 0.
   * Default: `Infinity`, slowness not tracked.
   */
  slowCallDurationMs?: number;
  /**
   * Open when at least this fraction of the calls in the window were slow. Fraction in (0, 1]. Needs
   * `slowCallDurationMs`. Default 0.5 when `slowCallDurationMs` is set: once half the calls exceed a duration chosen
   * well above the normal p99, the dependency is overloaded, not unlucky.
   */
  slowCallRateThreshold?: number;
  /**
   * No rule fires until the window holds at least this many calls, so a handful of early failures cannot trip it.
   * Integer ≥ 1. Default 20 (capped at the window size for count windows): at a 10 % background error rate, 20 calls
   * reach a 50 % failure rate by chance with probability ≈ 7·10⁻⁶.
   */
  minimumCalls?: number;
}

/** @internal names of {@link BreakerRateOptions}, for the unknown-option check. */
export const RATE_KEYS = ['failureRateThreshold', 'slowCallDurationMs', 'slowCallRateThreshold', 'minimumCalls'] as const;

/** Default {@link BreakerRateOptions.minimumCalls}. */
export const DEFAULT_MINIMUM_CALLS = 20;
/** Default {@link BreakerRateOptions.failureRateThreshold}. */
export const DEFAULT_FAILURE_RATE_THRESHOLD = 0.5;
/** Default {@link BreakerRateOptions.slowCallRateThreshold} once `slowCallDurationMs` is set. */
export const DEFAULT_SLOW_CALL_RATE_THRESHOLD = 0.5;

/**
 * Validates the rate options of a windowed strategy.
 * @param failureRule - false to disable the failure-rate rule (the slow-call-only strategy).
 * @param maxMinimumCalls - cap for the default `minimumCalls` and bound for an explicit one (count windows: size).
 * @throws {TypeError | RangeError} naming the option.
 */
export function parseRateThresholds(owner: string, o: BreakerRateOptions, failureRule: boolean, maxMinimumCalls: number): RateThresholds {
  const failureRateThreshold = failureRule
    ? v.opt(o.failureRateThreshold, DEFAULT_FAILURE_RATE_THRESHOLD, (x) => fraction(owner, 'failureRateThreshold', x))
    : Infinity;
  const slowCallDurationMs = v.opt(o.slowCallDurationMs, Infinity, (x) => v.positive(owner, 'slowCallDurationMs', x));
  if (o.slowCallRateThreshold !== undefined && slowCallDurationMs === Infinity) {
    throw new TypeError(`${owner}: option "slowCallRateThreshold" needs option "slowCallDurationMs" (which calls are slow)`);
  }
  const slowCallRateThreshold =
    slowCallDurationMs === Infinity ? Infinity : v.opt(o.slowCallRateThreshold, DEFAULT_SLOW_CALL_RATE_THRESHOLD, (x) => fraction(owner, 'slowCallRateThreshold', x));
  const minimumCalls =
    o.minimumCalls === undefined ? Math.min(DEFAULT_MINIMUM_CALLS, maxMinimumCalls) : v.integer(owner, 'minimumCalls', o.minimumCalls, 1);
  if (minimumCalls > maxMinimumCalls) {
    throw new RangeError(`${owner}: option "minimumCalls" must be at most the window size ${maxMinimumCalls}, got ${minimumCalls}`);
  }
  return { failureRateThreshold, slowCallRateThreshold, slowCallDurationMs, minimumCalls };
}

/** @internal a fraction in (0, 1]. */
export function fraction(owner: string, option: string, x: unknown): number {
  const f = v.between(owner, option, x, 0, 1);
  if (f === 0) throw new RangeError(`${owner}: option "${option}" must be a fraction in (0, 1], got 0`);
  return f;
}

/** The rate rules: failure rate first, then slow-call rate, both only from `minimumCalls` calls on. */
export function rateTrip(t: RateThresholds, calls: number, failures: number, slowCalls: number): BreakerTripReason | undefined {
  if (calls < t.minimumCalls) return undefined;
  if (failures / calls >= t.failureRateThreshold) return 'failureRate';
  if (slowCalls / calls >= t.slowCallRateThreshold) return 'slowCallRate';
  return undefined;
}

/** Builds a {@link BreakerWindowStats}. */
export function windowStats(calls: number, failures: number, slowCalls: number): BreakerWindowStats {
  return {
    calls,
    failures,
    slowCalls,
    failureRate: calls === 0 ? 0 : failures / calls,
    slowCallRate: calls === 0 ? 0 : slowCalls / calls,
  };
}

/** Throws a TypeError unless `saved` is a saved window of `kind`. */
export function checkSaved(owner: string, saved: unknown, kind: string): Record<string, unknown> {
  if (typeof saved !== 'object' || saved === null || (saved as SavedBreakerWindow).kind !== kind) {
    throw new TypeError(`${owner}.restore: expected a saved window of kind "${kind}", got ${JSON.stringify(saved)}`);
  }
  return saved as Record<string, unknown>;
}

/** A saved non-negative integer field. */
export function savedCount(owner: string, field: string, value: unknown): number {
  return v.integer(`${owner}.restore`, field, value, 0);
}
