/**
 * AIMD: additive increase while the limit is in use, multiplicative decrease on a drop or a timeout. Loss-driven,
 * from Netflix concurrency-limits' `AIMDLimit` (https://github.com/Netflix/concurrency-limits): without drops it
 * climbs to `maxLimit`.
 */
import * as v from '../../core/validate.js';
import { BOUND_KEYS, clampLimit, parseBounds, usable, type LimitAlgorithm, type LimitBounds, type LimitSample } from './algorithm.js';

/** Options of {@link aimdLimit}. */
export interface AimdLimitOptions extends LimitBounds {
  /** Factor applied to the limit on a drop or a timeout, in [0.5, 1). Default 0.9. */
  backoffRatio?: number;
  /** An attempt slower than this counts as a drop, ms (> 0). Default 5000. */
  timeoutMs?: number;
}

class AimdLimit implements LimitAlgorithm {
  readonly name = 'aimd';
  limit: number;
  constructor(
    readonly min: number,
    readonly max: number,
    initial: number,
    private readonly backoffRatio: number,
    private readonly timeoutMs: number,
  ) {
    this.limit = initial;
  }

  sample(s: LimitSample, _now: number): number {
    if (!usable(s)) return this.limit;
    let next = this.limit;
    if (s.dropped || s.rttMs > this.timeoutMs) next = this.limit * this.backoffRatio;
    else if (s.inflight * 2 >= this.limit) next = this.limit + 1;
    return (this.limit = clampLimit(next, this.min, this.max, this.limit));
  }
}

/**
 * Additive-increase / multiplicative-decrease limit: +1 per sample while at least half the limit is in flight,
 * × `backoffRatio` on a drop or an attempt over `timeoutMs`. Defaults: initial 20, min 20, max 200.
 * @throws {TypeError | RangeError} on an invalid or unknown option.
 * @example
 * ```ts
 * const algo = aimdLimit({ minLimit: 5, maxLimit: 100 });
 * algo.sample({ rttMs: 30, inflight: 20, dropped: false }, 0); // 21
 * algo.sample({ rttMs: 30, inflight: 21, dropped: true }, 1); // 18
 * ```
 */
export function aimdLimit(options: AimdLimitOptions = {}): LimitAlgorithm {
  const o = v.optionsObject<AimdLimitOptions>('aimdLimit', options, v.keys(...BOUND_KEYS, 'backoffRatio', 'timeoutMs'));
  const { min, max, initial } = parseBounds('aimdLimit', o, { min: 20, max: 200, initial: 20 });
  const backoffRatio = v.opt(o.backoffRatio, 0.9, (x) => v.between('aimdLimit', 'backoffRatio', x, 0.5, 1));
  if (backoffRatio === 1) throw new RangeError('aimdLimit: option "backoffRatio" must be in [0.5, 1), got 1');
  const timeoutMs = v.opt(o.timeoutMs, 5000, (x) => v.positive('aimdLimit', 'timeoutMs', x));
  return new AimdLimit(min, max, initial, backoffRatio, timeoutMs);
}
