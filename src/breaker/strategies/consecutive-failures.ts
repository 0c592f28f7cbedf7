/**
 * Consecutive-failures strategy: open after `threshold` failures in a row (gobreaker's and failsafe-go's default rule).
 */
import * as v from '../../core/validate.js';
import { checkSaved, savedCount, windowStats, type BreakerStrategy, type BreakerWindowStats, type SavedBreakerWindow, type BreakerTripReason } from './strategy.js';

/** Options of {@link consecutiveFailures}. */
export interface ConsecutiveFailuresOptions {
  /**
   * Failures in a row that open the breaker. Integer ≥ 1. Default 5 (gobreaker opens after more than 5): one success
   * resets the run, so a flaky dependency that fails 1 call in 2 opens only with probability 2⁻⁵ per run.
   */
  threshold?: number;
}

const KIND = 'consecutiveFailures';
const KNOWN = v.keys('threshold');

class ConsecutiveFailures implements BreakerStrategy {
  readonly kind = KIND;
  readonly slowCallDurationMs = Infinity;
  readonly usesTime = false;
  readonly threshold: number;
  private run = 0;

  constructor(threshold: number) {
    this.threshold = threshold;
  }

  record(success: boolean): BreakerTripReason | undefined {
    if (success) {
      this.run = 0;
      return undefined;
    }
    return ++this.run >= this.threshold ? 'consecutiveFailures' : undefined;
  }

  stats(): BreakerWindowStats {
    return windowStats(this.run, this.run, 0);
  }

  reset(): void {
    this.run = 0;
  }

  save(): SavedBreakerWindow {
    return { kind: KIND, consecutiveFailures: this.run };
  }

  restore(saved: SavedBreakerWindow): void {
    const s = checkSaved(KIND, saved, KIND);
    this.run = savedCount(KIND, 'consecutiveFailures', s.consecutiveFailures);
  }
}

/**
 * Creates a consecutive-failures strategy for {@link circuitBreaker}: the breaker opens when `threshold` calls in a
 * row fail; any success resets the run. It ignores slowness and time. Simple and fast to detect a hard-down
 * dependency, but blind to a high-yet-interleaved failure rate (use {@link countWindow} for that).
 *
 * @throws {TypeError | RangeError} when `threshold` is not an integer ≥ 1, or an option name is unknown (the message
 * names the closest known one).
 * @example
 * ```ts
 * const breaker = circuitBreaker({ strategy: consecutiveFailures({ threshold: 3 }) });
 * ```
 */
export function consecutiveFailures(options: ConsecutiveFailuresOptions = {}): BreakerStrategy {
  const o = v.optionsObject<ConsecutiveFailuresOptions>(KIND, options, KNOWN);
  return new ConsecutiveFailures(v.opt(o.threshold, 5, (x) => v.integer(KIND, 'threshold', x, 1)));
}
