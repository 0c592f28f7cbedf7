/**
 * The service rate a saturated limiter observes: the time between completions while every permit was taken, per
 * unit of cost, smoothed by an exponentially weighted moving average. With every permit busy, completions leave at
 * the dependency's service rate whatever the arrival rate (c busy workers, mean service time S: one completion every
 * S / c on average), so this measures capacity, not demand. Pure: the limiter feeds it gaps it measured on its clock.
 */

/** Weight of a new gap in the average: about the last 20 completions dominate. */
const ALPHA = 0.05;

/**
 * Smoothed time per unit of cost between completions of a saturated limiter.
 * @example
 * ```ts
 * const rate = new ServiceRate();
 * rate.sample(2, 1); rate.sample(2, 1);
 * rate.msPerUnit; // 2
 * ```
 */
export class ServiceRate {
  /** Smoothed ms per unit of cost between saturated completions; NaN until the first sample. */
  msPerUnit = Number.NaN;

  /** One gap of `gapMs` between two completions while saturated, the later one freeing `units`. */
  sample(gapMs: number, units: number): void {
    if (!(gapMs >= 0) || !(units > 0)) return;
    const x = gapMs / units;
    const m = this.msPerUnit;
    this.msPerUnit = m !== m ? x : m + ALPHA * (x - m);
  }
}
