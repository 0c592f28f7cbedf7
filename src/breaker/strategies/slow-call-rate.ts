/**
 * Slow-call-rate strategy: open when too many calls are slow, whatever their outcome (resilience4j's
 * `slowCallRateThreshold` used alone). To combine it with a failure rate, give `slowCallDurationMs` and
 * `slowCallRateThreshold` to {@link countWindow} or {@link timeWindow} instead.
 */
import * as v from '../../core/validate.js';
import { CountWindow, parseSize } from './count-window.js';
import { parseRateThresholds, type BreakerStrategy, type BreakerRateOptions } from './strategy.js';
import { TimeWindow, parseTimeWindow } from './time-window.js';

/** Options of {@link slowCallRate}. The window is count-based unless `windowMs` is given. */
export interface SlowCallRateOptions extends Omit<BreakerRateOptions, 'failureRateThreshold' | 'slowCallDurationMs'> {
  /** A call longer than this, in ms on the breaker's clock, is slow. Finite, > 0. Required. */
  slowCallDurationMs: number;
  /** Count-based window: calls remembered. Integer in [1, 1 000 000]. Default 100. Not with `windowMs`. */
  size?: number;
  /** Time-based window length, ms. Finite, ≥ 1 ms per bucket. Default: none (count-based). */
  windowMs?: number;
  /** Buckets of the time-based window. Integer in [1, 10 000]. Default 10. Only with `windowMs`. */
  buckets?: number;
}

const KIND = 'slowCallRate';
const KNOWN = v.keys('slowCallDurationMs', 'slowCallRateThreshold', 'minimumCalls', 'size', 'windowMs', 'buckets');

/**
 * Creates a strategy for {@link circuitBreaker} that opens on the share of slow calls alone: over the window (the last
 * `size` calls, or the last `windowMs` when given) and with at least `minimumCalls` calls, it opens when the fraction
 * of calls slower than `slowCallDurationMs` reaches `slowCallRateThreshold` (default 0.5). Failures are not counted
 * against any threshold (a slow failure still counts as slow). In half-open, a slow probe counts as a failed probe.
 *
 * @throws {TypeError | RangeError} when `slowCallDurationMs` is missing, an option is invalid (including `size` or
 * `buckets` above their caps and an unknown option name), or both `size` and `windowMs` are given.
 * @example
 * ```ts
 * // open when 60 % of the last 200 calls took more than 1.5 s
 * const breaker = circuitBreaker({ strategy: slowCallRate({ slowCallDurationMs: 1_500, slowCallRateThreshold: 0.6, size: 200 }) });
 * ```
 */
export function slowCallRate(options: SlowCallRateOptions): BreakerStrategy {
  const o = v.optionsObject<SlowCallRateOptions>(KIND, options, KNOWN);
  if (o.slowCallDurationMs === undefined) throw new TypeError(`${KIND}: option "slowCallDurationMs" is required`);
  if (o.windowMs !== undefined && o.size !== undefined) {
    throw new TypeError(`${KIND}: give option "size" (count window) or "windowMs" (time window), not both`);
  }
  if (o.windowMs === undefined) {
    if (o.buckets !== undefined) throw new TypeError(`${KIND}: option "buckets" needs option "windowMs"`);
    const size = parseSize(KIND, o.size);
    return new CountWindow(size, parseRateThresholds(KIND, o, false, size));
  }
  const { windowMs, buckets } = parseTimeWindow(KIND, o.windowMs, o.buckets);
  return new TimeWindow(windowMs, buckets, parseRateThresholds(KIND, o, false, Infinity));
}
