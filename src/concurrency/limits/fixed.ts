/** The fixed limit: samples change nothing. The baseline every adaptive algorithm is compared with. */
import * as v from '../../core/validate.js';
import type { LimitAlgorithm, LimitSample } from './algorithm.js';

/** Options of {@link fixedLimit}. */
export interface FixedLimitOptions {
  /** The limit. Integer ≥ 1. Required. */
  limit: number;
}

class FixedLimit implements LimitAlgorithm {
  readonly name = 'fixed';
  constructor(readonly limit: number) {}
  get min(): number {
    return this.limit;
  }
  get max(): number {
    return this.limit;
  }
  sample(_s: LimitSample, _now: number): number {
    return this.limit;
  }
}

/**
 * A limit that never moves, whatever the samples.
 * @throws {TypeError | RangeError} when `limit` is missing or not an integer ≥ 1, or an option is unknown.
 * @example
 * ```ts
 * const algo = fixedLimit({ limit: 40 });
 * algo.sample({ rttMs: 10, inflight: 40, dropped: true }, 0); // 40
 * ```
 */
export function fixedLimit(options: FixedLimitOptions): LimitAlgorithm {
  const o = v.optionsObject<FixedLimitOptions>('fixedLimit', options, v.keys('limit'));
  if (o.limit === undefined) throw new TypeError('fixedLimit: option "limit" is required');
  return new FixedLimit(v.integer('fixedLimit', 'limit', o.limit, 1));
}
