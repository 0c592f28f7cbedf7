/**
 * Service-time distributions for the simulated downstream. Each knows its mean, so the simulator can state the
 * downstream's capacity C = c / E[S] and the ideal goodput.
 */
import type { RandomSource } from '../core/random.js';
import * as v from '../core/validate.js';

/** A service-time distribution, in milliseconds. */
export interface ServiceTime {
  /** Short description for reports, e.g. `exp(40)`. */
  readonly name: string;
  /** Mean service time, ms. */
  readonly meanMs: number;
  /** Draws one service time, ms (≥ 0). */
  sample(random: RandomSource): number;
}

/**
 * Exponential service time (the M in M/M/c).
 * @param meanMs - mean, ms. Finite, > 0.
 * @throws {RangeError} on a bad mean.
 * @example
 * ```ts
 * const s = exponential(40); // p50 27.7 ms, p99 184 ms
 * ```
 */
export function exponential(meanMs: number): ServiceTime {
  const mean = v.positive('exponential', 'meanMs', meanMs);
  return { name: `exp(${mean})`, meanMs: mean, sample: (random) => -mean * Math.log(1 - random()) };
}

/**
 * Lognormal service time with the given mean and shape σ (the mean is preserved: μ = ln(mean) − σ²/2).
 * σ = 1 gives median 24.3 ms and p99 248 ms at mean 40 ms.
 * @param meanMs - mean, ms. Finite, > 0.
 * @param sigma - shape, ≥ 0. Default 1.
 * @throws {RangeError} on bad values.
 * @example
 * ```ts
 * const s = lognormal(40, 1);
 * ```
 */
export function lognormal(meanMs: number, sigma = 1): ServiceTime {
  const mean = v.positive('lognormal', 'meanMs', meanMs);
  const s = v.nonNegative('lognormal', 'sigma', sigma);
  const mu = Math.log(mean) - (s * s) / 2;
  return {
    name: `lognormal(${mean}, σ=${s})`,
    meanMs: mean,
    sample: (random) => {
      // Box–Muller; one normal per draw keeps the stream position independent of history.
      const u1 = 1 - random();
      const u2 = random();
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      return Math.exp(mu + s * z);
    },
  };
}

/**
 * Bimodal service time: `fastMs` with probability `1 − slowFraction`, else `slowMs`. The defaults, 90 % at 20 ms
 * and 10 % at 220 ms (mean 40 ms, like the default exponential), are the heavy-tailed variant of the scenarios in
 * docs/overload.md.
 * @param options.fastMs - default 20. @param options.slowMs - default 220. @param options.slowFraction - default 0.1.
 * @throws {RangeError} on bad values.
 * @example
 * ```ts
 * const s = bimodal({ fastMs: 20, slowMs: 220, slowFraction: 0.1 });
 * ```
 */
export function bimodal(options: { fastMs?: number; slowMs?: number; slowFraction?: number } = {}): ServiceTime {
  v.optionsObject('bimodal', options, v.keys('fastMs', 'slowMs', 'slowFraction'));
  const fast = v.opt(options.fastMs, 20, (x) => v.nonNegative('bimodal', 'fastMs', x));
  const slow = v.opt(options.slowMs, 220, (x) => v.nonNegative('bimodal', 'slowMs', x));
  const p = v.opt(options.slowFraction, 0.1, (x) => v.between('bimodal', 'slowFraction', x, 0, 1));
  const mean = (1 - p) * fast + p * slow;
  if (!(mean > 0)) throw new RangeError(`bimodal: mean service time must be > 0, got ${mean}`);
  return { name: `bimodal(${fast}/${slow}, ${p})`, meanMs: mean, sample: (random) => (random() < p ? slow : fast) };
}

/**
 * Constant service time.
 * @param ms - finite, > 0.
 * @throws {RangeError} on a bad value.
 * @example
 * ```ts
 * const s = deterministic(40);
 * ```
 */
export function deterministic(ms: number): ServiceTime {
  const d = v.positive('deterministic', 'ms', ms);
  return { name: `det(${d})`, meanMs: d, sample: () => d };
}

/**
 * A user-supplied distribution.
 * @param sample - draws one service time in ms from the given random source.
 * @param meanMs - its mean, ms (used for capacity and ideal figures).
 * @throws {TypeError | RangeError} on bad arguments.
 * @example
 * ```ts
 * const s = customService((r) => (r() < 0.5 ? 10 : 70), 40, 'coin');
 * ```
 */
export function customService(sample: (random: RandomSource) => number, meanMs: number, name = 'custom'): ServiceTime {
  const f = v.func<(random: RandomSource) => number>('customService', 'sample', sample);
  const mean = v.positive('customService', 'meanMs', meanMs);
  return { name, meanMs: mean, sample: f };
}
