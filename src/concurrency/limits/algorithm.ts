/**
 * The contract of a pure concurrency-limit algorithm: fed samples, it returns a limit. It has no timer and no clock
 * of its own (the enforcing limiter passes `now`), so it can be tested and simulated by feeding it numbers.
 */
import * as v from '../../core/validate.js';

/** One measured attempt, as an enforcing limiter reports it. */
export interface LimitSample {
  /** Round-trip time of the attempt, ms (finite, ≥ 0). */
  readonly rttMs: number;
  /** Calls in flight when the attempt started, itself included (finite, ≥ 0). */
  readonly inflight: number;
  /** The attempt was dropped: timed out, aborted by sluice's deadline, or pushed back by the dependency (429/503). */
  readonly dropped: boolean;
}

/**
 * A concurrency-limit algorithm. `sample()` folds one attempt in and returns the limit, always an integer within
 * [`min`, `max`]. Samples whose `rttMs` or `inflight` is not a finite number ≥ 0 are ignored (the limit is
 * returned unchanged), so a bad measurement never poisons the state. The adaptive limiter takes the returned limit
 * only when it is an integer in [1, `max`], and reports a `sample()` that throws without changing the limit.
 * @example
 * ```ts
 * // Your own: halve on a drop, +1 after 100 fast samples.
 * let limit = 10, fast = 0;
 * const mine: LimitAlgorithm = {
 *   name: 'mine', min: 1, max: 100,
 *   get limit() { return limit; },
 *   sample(s) {
 *     if (s.dropped) limit = Math.max(1, limit >> 1);
 *     else if (s.rttMs < 50 && ++fast % 100 === 0) limit = Math.min(100, limit + 1);
 *     return limit;
 *   },
 * };
 * const limiter = adaptiveLimiter({ algorithm: mine });
 * ```
 */
export interface LimitAlgorithm {
  /** The algorithm's name (`fixed`, `aimd`, `vegas`, `gradient2`, ...). */
  readonly name: string;
  /** The current limit. */
  readonly limit: number;
  readonly min: number;
  readonly max: number;
  /** Folds in one sample taken at clock time `now` (ms) and returns the limit. */
  sample(sample: LimitSample, now: number): number;
}

/** Whether a sample's figures can be used. */
export function usable(s: LimitSample): boolean {
  return s.rttMs >= 0 && s.rttMs !== Infinity && s.inflight >= 0 && s.inflight !== Infinity;
}

/** `x` rounded down and clamped to [min, max]; a NaN gives `fallback`. */
export function clampLimit(x: number, min: number, max: number, fallback: number): number {
  if (x !== x) return fallback;
  return Math.min(max, Math.max(min, Math.floor(x)));
}

/** Bounds every algorithm takes: `minLimit`, `maxLimit`, `initialLimit`. */
export interface LimitBounds {
  /** Smallest limit. Integer ≥ 1. Default per algorithm (lowered to `maxLimit` when that is given below it). */
  minLimit?: number;
  /** Largest limit. Integer ≥ `minLimit`. */
  maxLimit?: number;
  /** Limit before the first sample. Integer in [`minLimit`, `maxLimit`]. */
  initialLimit?: number;
}

/** Validates the bounds of `owner` against its defaults; throws a RangeError naming the option. */
export function parseBounds(owner: string, o: LimitBounds, defaults: { min: number; max: number; initial: number }): { min: number; max: number; initial: number } {
  // A given maxLimit below the default minimum lowers the default minimum with it (maxLimit: 10 alone is fine).
  const givenMax = v.opt<number | undefined>(o.maxLimit, undefined, (x) => v.integer(owner, 'maxLimit', x, 1));
  const min = v.opt(o.minLimit, Math.min(defaults.min, givenMax ?? Infinity), (x) => v.integer(owner, 'minLimit', x, 1));
  const max = givenMax ?? Math.max(defaults.max, min);
  if (max < min) throw new RangeError(`${owner}: option "maxLimit" must be >= minLimit (${min}), got ${max}`);
  const initial = v.opt(o.initialLimit, Math.min(max, Math.max(min, defaults.initial)), (x) => v.integer(owner, 'initialLimit', x, min));
  if (initial > max) throw new RangeError(`${owner}: option "initialLimit" must be <= maxLimit (${max}), got ${initial}`);
  return { min, max, initial };
}

export const BOUND_KEYS = ['minLimit', 'maxLimit', 'initialLimit'] as const;
