/**
 * Gradient2: the limit follows the ratio of a long-term RTT average to the current RTT, from Netflix
 * concurrency-limits' `Gradient2Limit` (https://github.com/Netflix/concurrency-limits), meant to be fed one sample
 * per window ({@link windowedLimit}). It has no absolute latency anchor, so in a long overload the long average
 * catches up with the current RTT and the limit drifts upward.
 */
import * as v from '../../core/validate.js';
import { BOUND_KEYS, clampLimit, parseBounds, usable, type LimitAlgorithm, type LimitBounds, type LimitSample } from './algorithm.js';

/** Options of {@link gradient2Limit}. */
export interface Gradient2LimitOptions extends LimitBounds {
  /** Weight of a new limit against the old one, in (0, 1]. Default 0.2. */
  smoothing?: number;
  /** Headroom added to L × gradient, calls (≥ 0). Default 4. */
  queueSize?: number;
  /** Samples the long RTT average spans (an EMA of factor 2 / (n + 1), after a 10-sample mean). Integer ≥ 1. Default 600. */
  longWindow?: number;
  /** RTT ratio tolerated before the limit falls, ≥ 1. Default 1.5. */
  rttTolerance?: number;
}

const WARMUP = 10;

class Gradient2Limit implements LimitAlgorithm {
  readonly name = 'gradient2';
  limit: number;
  /** The unrounded limit the formula works on. */
  private estimate: number;
  private longRtt = 0;
  private samples = 0;
  private readonly factor: number;

  constructor(
    readonly min: number,
    readonly max: number,
    initial: number,
    private readonly smoothing: number,
    private readonly queueSize: number,
    longWindow: number,
    private readonly rttTolerance: number,
  ) {
    this.limit = this.estimate = initial;
    this.factor = 2 / (longWindow + 1);
  }

  sample(s: LimitSample, _now: number): number {
    if (!usable(s) || s.rttMs === 0) return this.limit;
    const shortRtt = s.rttMs;
    this.samples++;
    if (this.samples <= WARMUP) this.longRtt += (shortRtt - this.longRtt) / this.samples;
    else this.longRtt += this.factor * (shortRtt - this.longRtt);
    if (this.longRtt / shortRtt > 2) this.longRtt *= 0.95; // fast decay once an overload ends
    if (s.inflight < this.estimate / 2) return this.limit; // app-limited
    const gradient = Math.min(1, Math.max(0.5, (this.rttTolerance * this.longRtt) / shortRtt));
    const next = this.estimate * gradient + this.queueSize;
    const smoothed = this.estimate * (1 - this.smoothing) + next * this.smoothing;
    this.estimate = Math.min(this.max, Math.max(this.min, smoothed));
    return (this.limit = clampLimit(this.estimate, this.min, this.max, this.limit));
  }
}

/**
 * The Gradient2 limit: L ← L(1 − s) + s(L·g + queueSize), g = clamp(tolerance × longRtt / rtt, 0.5, 1), held while
 * less than half the limit is in flight. Drops are ignored, as in the original. Defaults: initial 20, min 20,
 * max 200, smoothing 0.2, queueSize 4, longWindow 600, rttTolerance 1.5.
 * @throws {TypeError | RangeError} on an invalid or unknown option.
 * @example
 * ```ts
 * const algo = windowedLimit(gradient2Limit({ maxLimit: 500 }));
 * ```
 */
export function gradient2Limit(options: Gradient2LimitOptions = {}): LimitAlgorithm {
  const owner = 'gradient2Limit';
  const o = v.optionsObject<Gradient2LimitOptions>(owner, options, v.keys(...BOUND_KEYS, 'smoothing', 'queueSize', 'longWindow', 'rttTolerance'));
  const { min, max, initial } = parseBounds(owner, o, { min: 20, max: 200, initial: 20 });
  const smoothing = v.opt(o.smoothing, 0.2, (x) => v.between(owner, 'smoothing', x, Number.MIN_VALUE, 1));
  const queueSize = v.opt(o.queueSize, 4, (x) => v.nonNegative(owner, 'queueSize', x));
  const longWindow = v.opt(o.longWindow, 600, (x) => v.integer(owner, 'longWindow', x, 1));
  const rttTolerance = v.opt(o.rttTolerance, 1.5, (x) => v.between(owner, 'rttTolerance', x, 1, Number.MAX_VALUE));
  return new Gradient2Limit(min, max, initial, smoothing, queueSize, longWindow, rttTolerance);
}
