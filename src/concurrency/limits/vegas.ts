/**
 * Vegas: TCP Vegas' queue estimate mapped to concurrency (L. Brakmo and L. Peterson, "TCP Vegas", IEEE JSAC 13(8),
 * 1995), with the defaults of Netflix concurrency-limits' `VegasLimit` (https://github.com/Netflix/concurrency-limits).
 * The queue is estimated as L × (1 − rttNoLoad / rtt). Fed raw per-request samples its no-load RTT becomes an extreme
 * minimum and the limit collapses: wrap it in {@link windowedLimit}, as the comparison does.
 */
import { systemRandom, type RandomSource } from '../../core/random.js';
import * as v from '../../core/validate.js';
import { BOUND_KEYS, clampLimit, parseBounds, usable, type LimitAlgorithm, type LimitBounds, type LimitSample } from './algorithm.js';

/** Options of {@link vegasLimit}. */
export interface VegasLimitOptions extends LimitBounds {
  /** Weight of a new limit against the old one, in (0, 1]. Default 1 (no smoothing). */
  smoothing?: number;
  /** The no-load RTT is re-probed every about `probeMultiplier` × L samples (jittered). Integer ≥ 1. Default 30. */
  probeMultiplier?: number;
  /** Random source for the probe jitter. Default `Math.random`. */
  random?: RandomSource;
}

/** 1 below 100, then the number of digits minus one (2 for 100–999): Vegas' step unit. */
export function log10Root(limit: number): number {
  return Math.max(1, Math.floor(Math.log10(limit)));
}

class VegasLimit implements LimitAlgorithm {
  readonly name = 'vegas';
  limit: number;
  private rttNoLoad = 0;
  private probeCount = 0;
  private probeJitter: number;

  constructor(
    readonly min: number,
    readonly max: number,
    initial: number,
    private readonly smoothing: number,
    private readonly probeMultiplier: number,
    private readonly random: RandomSource,
  ) {
    this.limit = initial;
    this.probeJitter = this.jitter();
  }

  private jitter(): number {
    const r = this.random();
    return 0.5 + 0.5 * (r >= 0 && r < 1 ? r : 0.5);
  }

  sample(s: LimitSample, _now: number): number {
    if (!usable(s) || s.rttMs === 0) return this.limit;
    const L = this.limit;
    this.probeCount++;
    if (this.probeJitter * this.probeMultiplier * L <= this.probeCount) {
      this.probeJitter = this.jitter();
      this.probeCount = 0;
      this.rttNoLoad = s.rttMs;
      return L;
    }
    if (this.rttNoLoad === 0 || s.rttMs < this.rttNoLoad) {
      this.rttNoLoad = s.rttMs;
      return L;
    }
    const unit = log10Root(L);
    const alpha = 3 * unit;
    const beta = 6 * unit;
    const queue = Math.ceil(L * (1 - this.rttNoLoad / s.rttMs));
    let next: number;
    if (s.dropped) next = L - unit;
    else if (s.inflight * 2 < L) return L; // app-limited: no upward drift
    else if (queue <= unit) next = L + beta;
    else if (queue < alpha) next = L + unit;
    else if (queue > beta) next = L - unit;
    else return L;
    next = Math.min(this.max, Math.max(1, next));
    return (this.limit = clampLimit((1 - this.smoothing) * L + this.smoothing * next, this.min, this.max, L));
  }
}

/**
 * The Vegas limit: grows while the estimated queue is below α = 3·log10Root(L), shrinks above β = 6·log10Root(L)
 * or on a drop. Defaults: initial 20, min 1, max 1000, smoothing 1, probeMultiplier 30.
 * @throws {TypeError | RangeError} on an invalid or unknown option.
 * @example
 * ```ts
 * const algo = windowedLimit(vegasLimit({ random: seededRandom(1) }));
 * ```
 */
export function vegasLimit(options: VegasLimitOptions = {}): LimitAlgorithm {
  const o = v.optionsObject<VegasLimitOptions>('vegasLimit', options, v.keys(...BOUND_KEYS, 'smoothing', 'probeMultiplier', 'random'));
  const { min, max, initial } = parseBounds('vegasLimit', o, { min: 1, max: 1000, initial: 20 });
  const smoothing = v.opt(o.smoothing, 1, (x) => v.between('vegasLimit', 'smoothing', x, Number.MIN_VALUE, 1));
  const probeMultiplier = v.opt(o.probeMultiplier, 30, (x) => v.integer('vegasLimit', 'probeMultiplier', x, 1));
  const random = v.opt<RandomSource>(o.random, systemRandom, (x) => v.func('vegasLimit', 'random', x));
  return new VegasLimit(min, max, initial, smoothing, probeMultiplier, random);
}
