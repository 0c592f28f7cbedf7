/**
 * Envoy's adaptive-concurrency gradient controller
 * (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/adaptive_concurrency_filter): every
 * update interval the limit becomes L·g + √(L·g), g = clamp(minRTT·(1 + buffer) / sampleRTT, 0.5, 2), sampleRTT a
 * percentile of the interval's RTTs. minRTT is measured BBR-style: the limit is pinned to `minConcurrency` until
 * `requestCount` attempts that started after the pin have completed, and their percentile becomes minRTT; this repeats
 * every `minRttIntervalMs` (jittered) and after 5 updates in a row at `minConcurrency`. Updates happen at the first
 * sample after an interval's end (the algorithm has no timer).
 */
import { systemRandom, type RandomSource } from '../../core/random.js';
import * as v from '../../core/validate.js';
import { clampLimit, usable, type LimitAlgorithm, type LimitSample } from './algorithm.js';

/** Options of {@link envoyGradientLimit}. */
export interface EnvoyGradientLimitOptions {
  /** Time between limit updates, ms (> 0). Default 100. */
  updateIntervalMs?: number;
  /** Time between minRTT measurements, ms (≥ 0; 0 measures once). Default 60 000. */
  minRttIntervalMs?: number;
  /** Attempts a minRTT measurement takes. Integer ≥ 1. Default 50. */
  requestCount?: number;
  /** Random extra delay before a measurement, as a fraction of `minRttIntervalMs`, in [0, 1]. Default 0.15. */
  jitter?: number;
  /** The pinned limit while measuring, and the smallest limit. Integer ≥ 1. Default 3. */
  minConcurrency?: number;
  /** Latency headroom over minRTT, ≥ 0. Default 0.25. */
  buffer?: number;
  /** Largest limit. Integer ≥ `minConcurrency`. Default 1000. */
  maxLimit?: number;
  /** Percentile of the RTTs used for sampleRTT and minRTT, in (0, 1]. Default 0.5. */
  percentile?: number;
  /** Random source for the jitter. Default `Math.random`. */
  random?: RandomSource;
}

/** Most RTTs kept per update interval (more are dropped until the next update: memory stays bounded). */
const MAX_WINDOW = 4096;

function percentileOf(xs: number[], p: number): number {
  const sorted = xs.slice().sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

class EnvoyGradientLimit implements LimitAlgorithm {
  readonly name = 'envoy-gradient';
  limit: number;
  private minRtt = Number.NaN;
  private measuring = false;
  private epochStart = 0;
  private savedLimit: number;
  private readonly probe: number[] = [];
  private readonly window: number[] = [];
  private nextUpdateAt = -Infinity;
  private nextMinRttAt = -Infinity;
  private atMinimum = 0;

  constructor(
    readonly min: number,
    readonly max: number,
    private readonly updateIntervalMs: number,
    private readonly minRttIntervalMs: number,
    private readonly requestCount: number,
    private readonly jitter: number,
    private readonly buffer: number,
    private readonly percentile: number,
    private readonly random: RandomSource,
  ) {
    this.limit = this.savedLimit = min;
  }

  private startMeasuring(now: number): void {
    this.measuring = true;
    this.epochStart = now;
    this.savedLimit = this.limit;
    this.limit = this.min;
    this.probe.length = 0;
    this.atMinimum = 0;
  }

  sample(s: LimitSample, now: number): number {
    if (!usable(s) || now !== now) return this.limit;
    if (!this.measuring && (this.minRtt !== this.minRtt || (this.minRttIntervalMs > 0 && now >= this.nextMinRttAt))) this.startMeasuring(now);
    if (this.measuring) {
      // Only attempts that started under the pinned limit measure the unloaded RTT.
      if (now - s.rttMs < this.epochStart) return this.limit;
      this.probe.push(s.rttMs);
      if (this.probe.length < this.requestCount) return this.limit;
      this.minRtt = percentileOf(this.probe, this.percentile);
      this.measuring = false;
      this.limit = this.savedLimit;
      const r = this.random();
      this.nextMinRttAt = now + this.minRttIntervalMs * (1 + this.jitter * (r >= 0 && r < 1 ? r : 0.5));
      this.nextUpdateAt = now + this.updateIntervalMs;
      this.window.length = 0;
      return this.limit;
    }
    if (this.window.length < MAX_WINDOW) this.window.push(s.rttMs);
    if (now < this.nextUpdateAt) return this.limit;
    this.nextUpdateAt = now + this.updateIntervalMs;
    const sampleRtt = percentileOf(this.window, this.percentile);
    this.window.length = 0;
    const gradient = sampleRtt > 0 ? Math.min(2, Math.max(0.5, (this.minRtt * (1 + this.buffer)) / sampleRtt)) : 2;
    const scaled = this.limit * gradient;
    this.limit = clampLimit(scaled + Math.sqrt(scaled), this.min, this.max, this.limit);
    if (this.limit === this.min && ++this.atMinimum >= 5) this.startMeasuring(now);
    else if (this.limit !== this.min) this.atMinimum = 0;
    return this.limit;
  }
}

/**
 * Envoy's gradient controller as a limit algorithm. Defaults as Envoy's (update interval 100 ms as in its docs,
 * minRTT every 60 s with 15 % jitter over 50 attempts, minimum 3, buffer 25 %, max 1000, p50). Starts by measuring
 * minRTT at the pinned limit.
 * @throws {TypeError | RangeError} on an invalid or unknown option.
 * @example
 * ```ts
 * const algo = envoyGradientLimit({ updateIntervalMs: 250, random: seededRandom(1) });
 * ```
 */
export function envoyGradientLimit(options: EnvoyGradientLimitOptions = {}): LimitAlgorithm {
  const owner = 'envoyGradientLimit';
  const o = v.optionsObject<EnvoyGradientLimitOptions>(
    owner,
    options,
    v.keys('updateIntervalMs', 'minRttIntervalMs', 'requestCount', 'jitter', 'minConcurrency', 'buffer', 'maxLimit', 'percentile', 'random'),
  );
  const updateIntervalMs = v.opt(o.updateIntervalMs, 100, (x) => v.positive(owner, 'updateIntervalMs', x));
  const minRttIntervalMs = v.opt(o.minRttIntervalMs, 60_000, (x) => v.nonNegative(owner, 'minRttIntervalMs', x));
  const requestCount = v.opt(o.requestCount, 50, (x) => v.integer(owner, 'requestCount', x, 1));
  const jitter = v.opt(o.jitter, 0.15, (x) => v.between(owner, 'jitter', x, 0, 1));
  const minConcurrency = v.opt(o.minConcurrency, 3, (x) => v.integer(owner, 'minConcurrency', x, 1));
  const buffer = v.opt(o.buffer, 0.25, (x) => v.nonNegative(owner, 'buffer', x));
  const maxLimit = v.opt(o.maxLimit, Math.max(1000, minConcurrency), (x) => v.integer(owner, 'maxLimit', x, minConcurrency));
  const percentile = v.opt(o.percentile, 0.5, (x) => v.between(owner, 'percentile', x, Number.MIN_VALUE, 1));
  const random = v.opt<RandomSource>(o.random, systemRandom, (x) => v.func(owner, 'random', x));
  return new EnvoyGradientLimit(minConcurrency, maxLimit, updateIntervalMs, minRttIntervalMs, requestCount, jitter, buffer, percentile, random);
}
