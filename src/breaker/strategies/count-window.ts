/**
 * Count-based sliding window: failure rate (and optionally slow-call rate) over the last `size` calls
 * (resilience4j's COUNT_BASED window, cockatiel's CountBreaker).
 */
import * as v from '../../core/validate.js';
import {
  checkSaved,
  parseRateThresholds,
  RATE_KEYS,
  rateTrip,
  windowStats,
  type BreakerStrategy,
  type BreakerWindowStats,
  type BreakerRateOptions,
  type RateThresholds,
  type SavedBreakerWindow,
  type BreakerTripReason,
} from './strategy.js';

/** Options of {@link countWindow}. */
export interface CountWindowOptions extends BreakerRateOptions {
  /**
   * Calls the window remembers. Integer in [1, 1 000 000] ({@link MAX_COUNT_WINDOW_SIZE}). Default 100
   * (resilience4j's default): at 800 calls/s it spans 125 ms, so a dead dependency (every call failing) trips a 50 %
   * threshold after 50 calls, about 63 ms. The window is allocated up front, one byte per call.
   */
  size?: number;
}

const KIND = 'countWindow';
const KNOWN = v.keys('size', ...RATE_KEYS);

/**
 * Largest `size` of a count window (and of {@link slowCallRate}'s count window): 1 000 000 calls, 1 MB allocated up
 * front. A window that long spans 100 s even at 10 000 calls/s; a longer memory is a time window's job
 * ({@link timeWindow}), whose cost does not grow with traffic.
 */
export const MAX_COUNT_WINDOW_SIZE = 1_000_000;

/** @internal validates a count window's `size`. */
export function parseSize(owner: string, value: unknown): number {
  const size = v.opt(value, 100, (x) => v.integer(owner, 'size', x, 1));
  if (size > MAX_COUNT_WINDOW_SIZE) {
    throw new RangeError(`${owner}: option "size" must be an integer in [1, ${MAX_COUNT_WINDOW_SIZE}] (the window is allocated up front; use timeWindow for a longer memory), got ${size}`);
  }
  return size;
}
/** Outcome codes in the ring: bit 0 = failure, bit 1 = slow. */
const FAILED = 1;
const SLOW = 2;

/** @internal shared with {@link slowCallRate}. */
export class CountWindow implements BreakerStrategy {
  readonly kind = KIND;
  readonly usesTime = false;
  readonly slowCallDurationMs: number;
  readonly rateThreshold: number;
  private readonly ring: Uint8Array;
  private next = 0;
  private calls = 0;
  private failures = 0;
  private slowCalls = 0;

  constructor(
    readonly size: number,
    readonly thresholds: RateThresholds,
  ) {
    this.ring = new Uint8Array(size);
    this.slowCallDurationMs = thresholds.slowCallDurationMs;
    this.rateThreshold = Number.isFinite(thresholds.failureRateThreshold) ? thresholds.failureRateThreshold : thresholds.slowCallRateThreshold;
  }

  record(success: boolean, slow: boolean): BreakerTripReason | undefined {
    this.push((success ? 0 : FAILED) | (slow ? SLOW : 0));
    return rateTrip(this.thresholds, this.calls, this.failures, this.slowCalls);
  }

  private push(code: number): void {
    const i = this.next;
    if (this.calls === this.size) {
      const old = this.ring[i]!;
      this.failures -= old & FAILED;
      this.slowCalls -= old >> 1;
    } else {
      this.calls++;
    }
    this.ring[i] = code;
    this.failures += code & FAILED;
    this.slowCalls += code >> 1;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  stats(): BreakerWindowStats {
    return windowStats(this.calls, this.failures, this.slowCalls);
  }

  reset(): void {
    this.next = 0;
    this.calls = 0;
    this.failures = 0;
    this.slowCalls = 0;
  }

  /** Saves the outcome codes, oldest first (bit 0 = failure, bit 1 = slow). */
  save(): SavedBreakerWindow {
    const outcomes: number[] = [];
    const start = this.calls === this.size ? this.next : 0;
    for (let k = 0; k < this.calls; k++) outcomes.push(this.ring[(start + k) % this.size]!);
    return { kind: KIND, outcomes };
  }

  /** Restores the newest `size` saved outcomes. */
  restore(saved: SavedBreakerWindow): void {
    const s = checkSaved(KIND, saved, KIND);
    const outcomes = s.outcomes;
    if (!Array.isArray(outcomes) || !outcomes.every((c) => c === 0 || c === 1 || c === 2 || c === 3)) {
      throw new TypeError(`${KIND}.restore: "outcomes" must be an array of codes 0..3, got ${JSON.stringify(outcomes)}`);
    }
    this.reset();
    for (let k = Math.max(0, outcomes.length - this.size); k < outcomes.length; k++) this.push(outcomes[k] as number);
  }
}

/**
 * Creates a count-based sliding-window strategy for {@link circuitBreaker}: the breaker opens when, over the last
 * `size` calls and with at least `minimumCalls` of them, the failure rate reaches `failureRateThreshold` or the
 * slow-call rate reaches `slowCallRateThreshold` (when `slowCallDurationMs` is set). O(1) per call, `size` bytes of
 * memory. This is the breaker's default strategy.
 *
 * @throws {TypeError | RangeError} naming the invalid option (e.g. `minimumCalls` above `size`, a rate above 1, `size`
 * above {@link MAX_COUNT_WINDOW_SIZE}, an unknown option name).
 * @example
 * ```ts
 * // open at 50 % failures or 80 % of calls slower than 2 s, over the last 50 calls, once 10 calls were seen
 * const strategy = countWindow({ size: 50, minimumCalls: 10, slowCallDurationMs: 2_000, slowCallRateThreshold: 0.8 });
 * const breaker = circuitBreaker({ strategy });
 * ```
 */
export function countWindow(options: CountWindowOptions = {}): BreakerStrategy {
  const o = v.optionsObject<CountWindowOptions>(KIND, options, KNOWN);
  const size = parseSize(KIND, o.size);
  return new CountWindow(size, parseRateThresholds(KIND, o, true, size));
}
