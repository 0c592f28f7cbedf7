/**
 * Windowed sampling: an algorithm fed one aggregated sample per window instead of every request, as Netflix
 * concurrency-limits' `WindowedLimit` does (https://github.com/Netflix/concurrency-limits). A window closes at the
 * first sample after its end; it is 2 × its minimum RTT long, clamped to [`minWindowMs`, `maxWindowMs`], and it feeds
 * the algorithm only when it holds at least `windowSize` samples: their mean RTT, the most calls in flight, and
 * whether any was dropped. Per-request RTTs of a random service time would otherwise make a minimum-RTT estimate an
 * extreme value (Vegas then collapses).
 */
import * as v from '../../core/validate.js';
import { usable, type LimitAlgorithm, type LimitSample } from './algorithm.js';

/** Options of {@link windowedLimit}. */
export interface WindowedLimitOptions {
  /** Shortest window, ms (> 0). Default 1000. */
  minWindowMs?: number;
  /** Longest window, ms (≥ `minWindowMs`). Default 1000. */
  maxWindowMs?: number;
  /** Fewest samples a window needs to update the limit. Integer ≥ 1. Default 10. */
  windowSize?: number;
  /** Samples faster than this are discarded, ms (≥ 0): a cached or failed-fast answer says nothing about queueing. Default 0.1. */
  minRttMs?: number;
}

class WindowedLimit implements LimitAlgorithm {
  readonly name: string;
  private nextUpdateAt = -Infinity;
  private count = 0;
  private sumRtt = 0;
  private minRtt = Infinity;
  private maxInflight = 0;
  private dropped = false;

  constructor(
    private readonly inner: LimitAlgorithm,
    private readonly minWindowMs: number,
    private readonly maxWindowMs: number,
    private readonly windowSize: number,
    private readonly minRttMs: number,
  ) {
    this.name = `windowed(${inner.name})`;
  }

  get limit(): number {
    return this.inner.limit;
  }
  get min(): number {
    return this.inner.min;
  }
  get max(): number {
    return this.inner.max;
  }

  sample(s: LimitSample, now: number): number {
    if (!usable(s) || !(s.rttMs >= this.minRttMs) || now !== now) return this.inner.limit;
    this.count++;
    this.sumRtt += s.rttMs;
    if (s.rttMs < this.minRtt) this.minRtt = s.rttMs;
    if (s.inflight > this.maxInflight) this.maxInflight = s.inflight;
    if (s.dropped) this.dropped = true;
    if (now < this.nextUpdateAt) return this.inner.limit;
    this.nextUpdateAt = now + Math.min(this.maxWindowMs, Math.max(this.minWindowMs, 2 * this.minRtt));
    if (this.count >= this.windowSize) {
      this.inner.sample({ rttMs: this.sumRtt / this.count, inflight: this.maxInflight, dropped: this.dropped }, now);
    }
    this.count = 0;
    this.sumRtt = 0;
    this.minRtt = Infinity;
    this.maxInflight = 0;
    this.dropped = false;
    return this.inner.limit;
  }
}

/**
 * Wraps an algorithm so that it sees one sample per window (mean RTT, most in flight, any drop).
 * @throws {TypeError | RangeError} on an invalid or unknown option, or when `algorithm` is not a limit algorithm.
 * @example
 * ```ts
 * const algo = windowedLimit(gradient2Limit(), { windowSize: 20 });
 * ```
 */
export function windowedLimit(algorithm: LimitAlgorithm, options: WindowedLimitOptions = {}): LimitAlgorithm {
  const owner = 'windowedLimit';
  const inner = v.shaped<LimitAlgorithm>(owner, 'algorithm', algorithm, ['sample']);
  const o = v.optionsObject<WindowedLimitOptions>(owner, options, v.keys('minWindowMs', 'maxWindowMs', 'windowSize', 'minRttMs'));
  const minWindowMs = v.opt(o.minWindowMs, 1000, (x) => v.positive(owner, 'minWindowMs', x));
  const maxWindowMs = v.opt(o.maxWindowMs, Math.max(1000, minWindowMs), (x) => v.between(owner, 'maxWindowMs', x, minWindowMs, Number.MAX_VALUE));
  const windowSize = v.opt(o.windowSize, 10, (x) => v.integer(owner, 'windowSize', x, 1));
  const minRttMs = v.opt(o.minRttMs, 0.1, (x) => v.nonNegative(owner, 'minRttMs', x));
  return new WindowedLimit(inner, minWindowMs, maxWindowMs, windowSize, minRttMs);
}
