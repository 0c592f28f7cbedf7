/**
 * Time-based sliding window: failure rate (and optionally slow-call rate) over the last `windowMs`, kept in
 * `buckets` buckets (resilience4j's TIME_BASED window, opossum's rolling buckets), rotated lazily: no timer.
 */
import * as v from '../../core/validate.js';
import {
  checkSaved,
  parseRateThresholds,
  RATE_KEYS,
  rateTrip,
  savedCount,
  windowStats,
  type BreakerStrategy,
  type BreakerWindowStats,
  type BreakerRateOptions,
  type RateThresholds,
  type SavedBreakerWindow,
  type BreakerTripReason,
} from './strategy.js';

/** Options of {@link timeWindow}. */
export interface TimeWindowOptions extends BreakerRateOptions {
  /**
   * Length of the window, ms. Finite, > 0, and at least 1 ms per bucket (`windowMs / buckets ≥ 1`). Default 10 000
   * (opossum's rolling window): long enough to hold `minimumCalls` calls at a few calls per second.
   */
  windowMs?: number;
  /**
   * Buckets the window is cut into; the oldest bucket leaves the window whole, so the window covers between
   * `windowMs − windowMs/buckets` and `windowMs`. Integer in [1, 10 000] ({@link MAX_TIME_WINDOW_BUCKETS}), at most
   * one per ms of `windowMs`. Default 10.
   */
  buckets?: number;
}

const KIND = 'timeWindow';
const KNOWN = v.keys('windowMs', 'buckets', ...RATE_KEYS);

/**
 * Most buckets of a time window (and of {@link slowCallRate}'s time window): 10 000. The buckets are allocated up front
 * (32 bytes each, 320 kB at the cap) and an idle gap costs up to one step per bucket; 10 000 already gives a one-hour
 * window a bucket per 0.36 s, finer than any breaker decision needs.
 */
export const MAX_TIME_WINDOW_BUCKETS = 10_000;

/**
 * @internal validates `windowMs` and `buckets` of a time window. A bucket is at least 1 ms wide: bucket numbers
 * (`floor(at / bucketMs)`) then stay exact integers for any clock below 9·10¹⁵ ms (285 000 years), where narrower
 * buckets on a clock with a large origin (Date.now-sized) would lose integer precision and stop rotating.
 */
export function parseTimeWindow(owner: string, windowMsValue: unknown, bucketsValue: unknown): { windowMs: number; buckets: number } {
  const windowMs = v.opt(windowMsValue, 10_000, (x) => v.positive(owner, 'windowMs', x));
  const buckets = v.opt(bucketsValue, 10, (x) => v.integer(owner, 'buckets', x, 1));
  if (buckets > MAX_TIME_WINDOW_BUCKETS) {
    throw new RangeError(`${owner}: option "buckets" must be an integer in [1, ${MAX_TIME_WINDOW_BUCKETS}] (the buckets are allocated up front), got ${buckets}`);
  }
  if (windowMs / buckets < 1) {
    throw new RangeError(`${owner}: option "windowMs" must be at least 1 ms per bucket (windowMs / buckets >= 1), got windowMs ${windowMs} with ${buckets} bucket(s)`);
  }
  return { windowMs, buckets };
}

/** @internal shared with {@link slowCallRate}. */
export class TimeWindow implements BreakerStrategy {
  readonly kind = KIND;
  readonly usesTime = true;
  readonly slowCallDurationMs: number;
  readonly rateThreshold: number;
  readonly bucketMs: number;
  private readonly epochs: Float64Array;
  private readonly bucketCalls: Float64Array;
  private readonly bucketFailures: Float64Array;
  private readonly bucketSlow: Float64Array;
  /** Bucket number (`floor(at / bucketMs)`) of the newest bucket. */
  private head = -Infinity;
  private calls = 0;
  private failures = 0;
  private slowCalls = 0;

  constructor(
    readonly windowMs: number,
    readonly buckets: number,
    readonly thresholds: RateThresholds,
  ) {
    this.bucketMs = windowMs / buckets;
    this.epochs = new Float64Array(buckets).fill(-Infinity);
    this.bucketCalls = new Float64Array(buckets);
    this.bucketFailures = new Float64Array(buckets);
    this.bucketSlow = new Float64Array(buckets);
    this.slowCallDurationMs = thresholds.slowCallDurationMs;
    this.rateThreshold = Number.isFinite(thresholds.failureRateThreshold) ? thresholds.failureRateThreshold : thresholds.slowCallRateThreshold;
  }

  private slot(epoch: number): number {
    const n = this.buckets;
    return ((epoch % n) + n) % n;
  }

  /** Drops the buckets that left the window by `at`. Time never runs backwards; an older `at` counts as now. */
  private rotate(at: number): number {
    const epoch = Math.floor(at / this.bucketMs);
    if (epoch <= this.head) return this.head;
    const gap = epoch - this.head;
    if (gap >= this.buckets) {
      this.clear();
    } else {
      // Counted by steps, not by bucket number, so that the loop ends whatever the magnitude of the epochs.
      for (let k = 1; k <= gap; k++) this.drop(this.slot(this.head + k));
    }
    this.head = epoch;
    return epoch;
  }

  private drop(i: number): void {
    this.calls -= this.bucketCalls[i]!;
    this.failures -= this.bucketFailures[i]!;
    this.slowCalls -= this.bucketSlow[i]!;
    this.bucketCalls[i] = 0;
    this.bucketFailures[i] = 0;
    this.bucketSlow[i] = 0;
    this.epochs[i] = -Infinity;
  }

  private clear(): void {
    this.epochs.fill(-Infinity);
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlow.fill(0);
    this.calls = 0;
    this.failures = 0;
    this.slowCalls = 0;
  }

  private add(epoch: number, calls: number, failures: number, slowCalls: number): void {
    const i = this.slot(epoch);
    this.epochs[i] = epoch;
    this.bucketCalls[i] = this.bucketCalls[i]! + calls;
    this.bucketFailures[i] = this.bucketFailures[i]! + failures;
    this.bucketSlow[i] = this.bucketSlow[i]! + slowCalls;
    this.calls += calls;
    this.failures += failures;
    this.slowCalls += slowCalls;
  }

  record(success: boolean, slow: boolean, at: number): BreakerTripReason | undefined {
    this.add(this.rotate(at), 1, success ? 0 : 1, slow ? 1 : 0);
    return rateTrip(this.thresholds, this.calls, this.failures, this.slowCalls);
  }

  /** Outcomes in the window at `at` (rotating it), without building a stats object. */
  callsAt(at: number): number {
    this.rotate(at);
    return this.calls;
  }

  /** Failed outcomes in the window as of the last rotation ({@link callsAt}, {@link record} or {@link stats}). */
  get failureCount(): number {
    return this.failures;
  }

  stats(at: number): BreakerWindowStats {
    this.rotate(at);
    return windowStats(this.calls, this.failures, this.slowCalls);
  }

  reset(): void {
    this.clear();
    this.head = -Infinity;
  }

  /** Saves non-empty buckets as `[ageMs, calls, failures, slowCalls]`, `ageMs` = how long before `at` it began. */
  save(at: number): SavedBreakerWindow {
    const head = this.rotate(at);
    const buckets: number[][] = [];
    for (let i = 0; i < this.buckets; i++) {
      const epoch = this.epochs[i]!;
      if (epoch === -Infinity || this.bucketCalls[i] === 0) continue;
      buckets.push([(head - epoch) * this.bucketMs, this.bucketCalls[i]!, this.bucketFailures[i]!, this.bucketSlow[i]!]);
    }
    buckets.sort((a, b) => b[0]! - a[0]!);
    return { kind: KIND, buckets };
  }

  /** Restores the saved buckets that still fall inside this window, re-based on `at`. */
  restore(saved: SavedBreakerWindow, at: number): void {
    const s = checkSaved(KIND, saved, KIND);
    if (!Array.isArray(s.buckets)) throw new TypeError(`${KIND}.restore: "buckets" must be an array, got ${JSON.stringify(s.buckets)}`);
    const rows = s.buckets.map((row: unknown) => {
      if (!Array.isArray(row) || row.length !== 4) throw new TypeError(`${KIND}.restore: a bucket must be [ageMs, calls, failures, slowCalls], got ${JSON.stringify(row)}`);
      const age = v.nonNegative(`${KIND}.restore`, 'ageMs', row[0]);
      const calls = savedCount(KIND, 'calls', row[1]);
      const failures = savedCount(KIND, 'failures', row[2]);
      const slowCalls = savedCount(KIND, 'slowCalls', row[3]);
      if (failures > calls || slowCalls > calls) {
        throw new RangeError(`${KIND}.restore: a bucket holds more failures or slow calls than calls: ${JSON.stringify(row)}`);
      }
      return [age, calls, failures, slowCalls] as const;
    });
    this.reset();
    const head = this.rotate(at);
    for (const [age, calls, failures, slowCalls] of rows) {
      // The epsilon absorbs the rounding of `k · bucketMs / bucketMs` when the saver had the same bucket width.
      const back = Math.floor(age / this.bucketMs + 1e-9);
      if (back < this.buckets) this.add(head - back, calls, failures, slowCalls);
    }
  }
}

/**
 * Creates a time-based sliding-window strategy for {@link circuitBreaker}: the breaker opens when, over the last
 * `windowMs` and with at least `minimumCalls` calls in it, the failure rate reaches `failureRateThreshold` or the
 * slow-call rate reaches `slowCallRateThreshold` (when `slowCallDurationMs` is set). Buckets rotate lazily when an
 * outcome is recorded or stats are read, so the strategy holds no timer (opossum's per-breaker `setInterval` is what
 * made its memory grow). O(1) per call amortised, O(buckets) memory.
 *
 * At full traffic a dead dependency takes about half the window to reach a 50 % failure rate; prefer
 * {@link countWindow} where detection must be fast, and this one where volume varies a lot (a count window at low
 * volume remembers calls from long ago).
 *
 * @throws {TypeError | RangeError} naming the invalid option (a rate outside (0, 1], `buckets` above
 * {@link MAX_TIME_WINDOW_BUCKETS}, buckets narrower than 1 ms, an unknown option name).
 * @example
 * ```ts
 * const breaker = circuitBreaker({ strategy: timeWindow({ windowMs: 30_000, buckets: 30, failureRateThreshold: 0.25 }) });
 * ```
 */
export function timeWindow(options: TimeWindowOptions = {}): BreakerStrategy {
  const o = v.optionsObject<TimeWindowOptions>(KIND, options, KNOWN);
  const { windowMs, buckets } = parseTimeWindow(KIND, o.windowMs, o.buckets);
  return new TimeWindow(windowMs, buckets, parseRateThresholds(KIND, o, true, Infinity));
}
