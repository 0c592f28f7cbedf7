/**
 * Backoff functions: how long to wait before a retry. Pure, synchronous and timer-free: a backoff maps the retry
 * being scheduled (and, if it wants, the last outcome and the previous delay) to a delay in milliseconds. Randomness
 * comes in with the input, so the same seeded random source always yields the same schedule, and one backoff can be
 * shared by any number of calls and policies.
 *
 * Formulas (Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015; gRPC proposal A6 "gRPC
 * Retry Design"; botocore's standard retry mode), with
 * `k` the retry number (1 before the first retry) and `v = min(capMs, baseMs · factor^(k−1))`:
 *
 * | backoff | delay before retry `k` |
 * | --- | --- |
 * | {@link constantBackoff} | `delayMs` |
 * | {@link exponentialBackoff} | `v` |
 * | {@link fullJitter} (default) | `U(0, v)` |
 * | {@link equalJitter} | `v/2 + U(0, v/2)` |
 * | {@link decorrelatedJitter} | `min(capMs, U(baseMs, 3 · previous))`, `previous` starting at `baseMs` |
 *
 * The first retry waits up to `baseMs` (AWS SDK standard mode: `U(0,1) · min(2^(attempt−1) s, 20 s)`; gRPC A6:
 * `U(0, min(initialBackoff · multiplier^(n−1), maxBackoff))`).
 */
import type { RandomSource } from '../core/random.js';
import * as v from '../core/validate.js';

/**
 * What a failed attempt produced: an error it threw, or a result that `shouldRetryResult` asked to retry (an HTTP
 * response with status 503 is a result, not an exception).
 */
export type RetryOutcome<T = unknown> =
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'result'; readonly result: T };

/** Input of a {@link Backoff}. */
export interface BackoffInput<T = unknown> {
  /**
   * The attempt that just failed (1-based), which is also the number of the retry being scheduled: 1 before the
   * second attempt.
   */
  readonly attempt: number;
  /** The delay this backoff returned before the previous retry of the same call, in ms; 0 before the first retry. */
  readonly previousDelayMs: number;
  /** The last outcome. Built-in backoffs ignore it; a user backoff may read it (e.g. an error code or a header). */
  readonly outcome: RetryOutcome<T>;
  /** The retry policy's random source, uniform in [0, 1). */
  readonly random: RandomSource;
}

/**
 * A backoff: returns the delay before the next retry, in ms (finite, ≥ 0). Any function of this shape is a backoff,
 * so a user function that sees the last outcome and the attempt needs no wrapper.
 *
 * @example
 * ```ts
 * // Wait longer after a throttling error, otherwise full jitter.
 * const jitter = fullJitter();
 * const backoff: Backoff = (input) =>
 *   input.outcome.kind === 'error' && isThrottle(input.outcome.error) ? 1_000 + jitter(input) : jitter(input);
 * ```
 */
export type Backoff<T = unknown> = (input: BackoffInput<T>) => number;

/** Options of the exponential family ({@link exponentialBackoff}, {@link fullJitter}, {@link equalJitter}). */
export interface ExponentialBackoffOptions {
  /** Ceiling of the first retry's delay, ms. Finite, ≥ 0. Default 100. */
  baseMs?: number;
  /** Largest delay ever returned, ms. Finite, ≥ `baseMs`. Default 10 000. */
  capMs?: number;
  /** Growth per retry. Finite, ≥ 1. Default 2. */
  factor?: number;
}

/** Options of {@link decorrelatedJitter}. */
export interface DecorrelatedJitterOptions {
  /** Smallest delay, and the starting "previous" delay, ms. Finite, > 0. Default 100. */
  baseMs?: number;
  /** Largest delay ever returned, ms. Finite, ≥ `baseMs`. Default 10 000. */
  capMs?: number;
}

/** Options of {@link constantBackoff}. */
export interface ConstantBackoffOptions {
  /** The delay before every retry, ms. Finite, ≥ 0. Default 0. */
  delayMs?: number;
}

/** Default base of the exponential and decorrelated backoffs, ms. */
export const DEFAULT_BACKOFF_BASE_MS = 100;
/** Default cap of the exponential and decorrelated backoffs, ms. */
export const DEFAULT_BACKOFF_CAP_MS = 10_000;

interface Exponential {
  baseMs: number;
  capMs: number;
  factor: number;
}

const EXPONENTIAL_KEYS = v.keys('baseMs', 'capMs', 'factor');

function parseExponential(owner: string, options: ExponentialBackoffOptions | undefined): Exponential {
  const o = v.optionsObject<ExponentialBackoffOptions>(owner, options, EXPONENTIAL_KEYS);
  const baseMs = v.opt(o.baseMs, DEFAULT_BACKOFF_BASE_MS, (x) => v.nonNegative(owner, 'baseMs', x));
  const capMs = v.opt(o.capMs, Math.max(DEFAULT_BACKOFF_CAP_MS, baseMs), (x) => v.between(owner, 'capMs', x, baseMs, Number.MAX_VALUE));
  const factor = v.opt(o.factor, 2, (x) => v.between(owner, 'factor', x, 1, Number.MAX_VALUE));
  return { baseMs, capMs, factor };
}

/** `min(cap, base · factor^(k−1))`, safe for any k (overflow saturates at the cap, never NaN). */
function ceiling(e: Exponential, attempt: number): number {
  const k = attempt >= 1 ? attempt - 1 : 0;
  // base 0 stays 0: 0 · Infinity would be NaN once factor^k overflows.
  const grown = e.baseMs === 0 ? 0 : e.baseMs * Math.pow(e.factor, k);
  return grown < e.capMs ? grown : e.capMs;
}

/**
 * The same delay before every retry. With the default `delayMs: 0` the retry runs at once, without arming a timer.
 *
 * @throws {TypeError | RangeError} when an option is invalid or unknown.
 * @example
 * ```ts
 * retry({ backoff: constantBackoff({ delayMs: 250 }) });
 * ```
 */
export function constantBackoff(options?: ConstantBackoffOptions): Backoff {
  const o = v.optionsObject<ConstantBackoffOptions>('constantBackoff', options, v.keys('delayMs'));
  const delayMs = v.opt(o.delayMs, 0, (x) => v.nonNegative('constantBackoff', 'delayMs', x));
  return () => delayMs;
}

/**
 * Exponential backoff without jitter: `min(capMs, baseMs · factor^(k−1))` before retry `k`. Deterministic; a fleet
 * that failed together retries together, so prefer {@link fullJitter} unless a test needs exact delays.
 *
 * @throws {TypeError | RangeError} when an option is invalid or unknown (`capMs` below `baseMs`, `factor` below 1, ...).
 * @example
 * ```ts
 * exponentialBackoff({ baseMs: 50, capMs: 1_000 }); // 50, 100, 200, 400, 800, 1000, 1000, ...
 * ```
 */
export function exponentialBackoff(options?: ExponentialBackoffOptions): Backoff {
  const e = parseExponential('exponentialBackoff', options);
  return (input) => ceiling(e, input.attempt);
}

/**
 * Full jitter, the default of {@link retry}: `U(0, min(capMs, baseMs · factor^(k−1)))` before retry `k`. Spreads a
 * fleet's retries over the whole interval; in the contention simulation of Marc Brooker's "Exponential Backoff And
 * Jitter" (AWS Architecture Blog, 2015) it does the least total work of the jittered variants, which sluice's
 * simulator reproduces (docs/overload.md, S6). Defaults: `baseMs` 100, `capMs` 10 000, `factor` 2.
 *
 * @throws {TypeError | RangeError} when an option is invalid or unknown.
 * @example
 * ```ts
 * retry({ backoff: fullJitter({ baseMs: 50, capMs: 2_000 }) });
 * ```
 */
export function fullJitter(options?: ExponentialBackoffOptions): Backoff {
  const e = parseExponential('fullJitter', options);
  return (input) => input.random() * ceiling(e, input.attempt);
}

/**
 * Equal jitter: `v/2 + U(0, v/2)` with `v = min(capMs, baseMs · factor^(k−1))`. Never retries sooner than half the
 * exponential delay.
 *
 * @throws {TypeError | RangeError} when an option is invalid or unknown.
 * @example
 * ```ts
 * retry({ backoff: equalJitter({ baseMs: 100, capMs: 5_000 }) });
 * ```
 */
export function equalJitter(options?: ExponentialBackoffOptions): Backoff {
  const e = parseExponential('equalJitter', options);
  return (input) => {
    const half = ceiling(e, input.attempt) / 2;
    return half + input.random() * half;
  };
}

/**
 * Decorrelated jitter: `min(capMs, U(baseMs, 3 · previous))`, where `previous` is the delay it returned before the
 * previous retry of the same call (`baseMs` before the first). Each delay depends on the last, not on the attempt
 * number (Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015; cockatiel's and Polly's
 * default).
 *
 * @throws {TypeError | RangeError} when an option is invalid or unknown (`baseMs` must be > 0).
 * @example
 * ```ts
 * retry({ backoff: decorrelatedJitter({ baseMs: 100, capMs: 10_000 }) });
 * ```
 */
export function decorrelatedJitter(options?: DecorrelatedJitterOptions): Backoff {
  const owner = 'decorrelatedJitter';
  const o = v.optionsObject<DecorrelatedJitterOptions>(owner, options, v.keys('baseMs', 'capMs'));
  const baseMs = v.opt(o.baseMs, DEFAULT_BACKOFF_BASE_MS, (x) => v.positive(owner, 'baseMs', x));
  const capMs = v.opt(o.capMs, Math.max(DEFAULT_BACKOFF_CAP_MS, baseMs), (x) => v.between(owner, 'capMs', x, baseMs, Number.MAX_VALUE));
  return (input) => {
    // A previous delay outside [base, cap] (first retry, or a caller feeding its own values) is clamped, so the
    // range never collapses or grows without bound (cockatiel#86: NaN after many iterations).
    const p = input.previousDelayMs;
    const prev = p >= baseMs ? (p <= capMs ? p : capMs) : baseMs;
    const d = baseMs + input.random() * (3 * prev - baseMs);
    return d < capMs ? d : capMs;
  };
}
