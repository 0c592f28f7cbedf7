/**
 * sluice's own limit: Little's law on one window of attempts at a time, with a no-load RTT that, under load, only an
 * experiment can raise.
 *
 * The queue a dependency holds for us is, by Little's law (J. D. C. Little, Operations Research 9(3), 1961), its
 * throughput times the delay it adds: `Q = X · (rtt − base)`, where `base` is the RTT of an attempt that did not
 * wait. The limit moves so as to keep that queue at a small allowance `q`: `L ← L + ½(q − Q)`, up by at most `q` per
 * window. Latency-gradient limiters (Netflix Gradient2, Envoy) read every rise of the RTT as queueing, so when a
 * dependency merely gets slower they cut a limit that was right. Here a cut is an experiment: if the RTT of attempts
 * started after it does not fall while throughput falls with the limit, the rise was slower work, not a queue, and
 * the baseline moves up to the new RTT. With more than half the limit in use nothing else raises the baseline, so in
 * a long overload it cannot creep up to the recent RTT (the drift reported in failsafe-go/failsafe-go#127); only a window
 * faster than it by more than twice its standard error pulls it down, so noise does not drag it low either. While at
 * most half the limit is in use (no queue of ours to tell apart) the baseline follows the RTT.
 *
 * Windows are per time and per samples: one closes after `minWindowMs` once it holds `minSamples` attempts that
 * started inside it, and after `maxWindowMs` once it holds one (with longer RTTs it waits for one, up to 10 ×
 * `maxWindowMs`), so the limit adapts at 1–10 rps too (at such rates
 * `X · (rtt − base)` is a fraction of a call, and the limit rises to its headroom instead of reacting to noise).
 * While the limit is not reached, it stays within `headroom` × the most calls seen in flight recently (and never
 * below `initialLimit`), so an idle limiter cannot admit a burst it has never measured.
 */
import * as v from '../../core/validate.js';
import { BOUND_KEYS, clampLimit, parseBounds, usable, type LimitAlgorithm, type LimitBounds, type LimitSample } from './algorithm.js';

/** Options of {@link sluiceLimit}. */
export interface SluiceLimitOptions extends LimitBounds {
  /**
   * Calls the limiter lets the dependency queue, the allowance `q` (> 0). Default: √L, at least 3 (6 at L = 40). More
   * costs latency (each queued call adds one service time / workers), less costs throughput under random service.
   */
  queue?: number;
  /** While the limit is not reached, it stays ≤ `headroom` × the most calls in flight over the last 10 windows, ≥ 1. Default 2. */
  headroom?: number;
  /** Shortest window, ms (> 0). Default 100. */
  minWindowMs?: number;
  /** Window length, ms (≥ `minWindowMs`), after which a window closes with however few samples (at least one; it waits up to 10 × this for one). Default 1000. */
  maxWindowMs?: number;
  /** Samples (of attempts started inside the window) after which a window may close at `minWindowMs`. Integer ≥ 1. Default 20. */
  minSamples?: number;
}

/** A window with fewer drops than this fraction is the tail of a healthy dependency, not a signal. */
const DROP_THRESHOLD = 0.02;
/** Windows a peak of in-flight calls is remembered for the headroom bound. */
const PEAK_WINDOWS = 10;
/** A cut is an experiment only when it is at least this fraction of the limit. */
const EXPERIMENT_CUT = 0.1;

/** One window's figures, as the update reads them. */
interface Window {
  /** Completions per ms over the window (every sample). */
  x: number;
  /** Mean RTT of the attempts started inside the window, ms; NaN when none. */
  rtt: number;
  /** Standard error of that mean, ms (Infinity with fewer than 2). */
  se: number;
  /** Attempts started inside the window. */
  clean: number;
  /** Most calls in flight at any sample's start. */
  peak: number;
  /** Some attempt started with every permit taken. */
  full: boolean;
  /** Fraction of samples dropped. */
  drops: number;
}

/** Standard error of the mean of `n` values with sum `sum` and sum of squares `sumSq`. */
function standardError(sum: number, sumSq: number, n: number): number {
  const mean = sum / n;
  const variance = Math.max(0, (sumSq - n * mean * mean) / (n - 1));
  return Math.sqrt(variance / n);
}

class SluiceLimit implements LimitAlgorithm {
  readonly name = 'sluice';
  limit: number;
  /** The unrounded limit. */
  private estimate: number;
  /** No-load RTT, ms; NaN until the first window. */
  private base = NaN;
  // The open window.
  private openedAt = NaN;
  private count = 0;
  private dropCount = 0;
  private cleanCount = 0;
  private cleanSum = 0;
  private cleanSumSq = 0;
  private peak = 0;
  private full = false;
  /** Peaks of the last windows (a ring), for the headroom bound. */
  private readonly peaks = new Float64Array(PEAK_WINDOWS);
  private peakAt = 0;
  /** The experiment under way: the window before the cut, and how many windows since failed to get faster. */
  private before: { rtt: number; x: number; cut: number } | undefined;
  private unanswered = 0;

  constructor(
    readonly min: number,
    readonly max: number,
    private readonly initial: number,
    private readonly queue: number | undefined,
    private readonly headroom: number,
    private readonly minWindowMs: number,
    private readonly maxWindowMs: number,
    private readonly minSamples: number,
  ) {
    this.limit = this.estimate = initial;
  }

  /** The base RTT, ms (NaN until measured). For diagnostics and tests. */
  get baseRttMs(): number {
    return this.base;
  }

  sample(s: LimitSample, now: number): number {
    if (!usable(s) || !(now === now)) return this.limit;
    if (this.openedAt !== this.openedAt) this.openedAt = now;
    this.count++;
    if (s.dropped) this.dropCount++;
    if (s.inflight > this.peak) this.peak = s.inflight;
    if (s.inflight >= this.limit) this.full = true;
    // Only attempts that started inside the window tell its RTT: earlier ones ran under an earlier limit.
    if (now - s.rttMs >= this.openedAt) {
      this.cleanCount++;
      this.cleanSum += s.rttMs;
      this.cleanSumSq += s.rttMs * s.rttMs;
    }
    const elapsed = now - this.openedAt;
    // A window closes once it holds minSamples attempts started in it, or after maxWindowMs with at least one (with
    // RTTs longer than that, it waits for one, up to 10 × maxWindowMs).
    if (elapsed < this.minWindowMs) return this.limit;
    if (this.cleanCount < this.minSamples && (elapsed < this.maxWindowMs || (this.cleanCount === 0 && elapsed < 10 * this.maxWindowMs))) return this.limit;
    this.update({
      x: this.count / Math.max(elapsed, 1e-3),
      rtt: this.cleanCount === 0 ? NaN : this.cleanSum / this.cleanCount,
      se: this.cleanCount < 2 ? Infinity : standardError(this.cleanSum, this.cleanSumSq, this.cleanCount),
      clean: this.cleanCount,
      peak: this.peak,
      full: this.full,
      drops: this.dropCount / this.count,
    });
    this.openedAt = now;
    this.count = this.dropCount = this.cleanCount = this.cleanSum = this.cleanSumSq = this.peak = 0;
    this.full = false;
    return this.limit;
  }

  private update(w: Window): void {
    this.peaks[this.peakAt] = w.peak;
    this.peakAt = (this.peakAt + 1) % PEAK_WINDOWS;
    const old = this.estimate;
    let next = old;
    const q = this.queue ?? Math.max(3, Math.sqrt(old));
    if (w.rtt === w.rtt) {
      this.learnBase(w);
      const waiting = w.x * Math.max(0, w.rtt - this.base);
      next = old + Math.min(q, 0.5 * (q - waiting));
    }
    // The dependency said so: timeouts and pushback cut in proportion, whatever the RTT says.
    if (w.drops >= DROP_THRESHOLD) next = Math.min(next, old * Math.max(0.5, 1 - w.drops));
    if (!w.full) {
      // Not reached: bounded headroom over what is actually used.
      let used = 0;
      for (const p of this.peaks) if (p > used) used = p;
      const cap = Math.max(this.initial, this.headroom * used);
      if (next > cap) next = Math.max(cap, Math.min(next, old));
    }
    this.estimate = Math.min(this.max, Math.max(this.min, next));
    const cut = old - this.estimate;
    if (w.rtt === w.rtt && this.before === undefined && cut >= Math.max(1, EXPERIMENT_CUT * old) && w.drops < DROP_THRESHOLD) {
      this.before = { rtt: w.rtt, x: w.x, cut: cut / old };
      this.unanswered = 0;
    }
    this.limit = clampLimit(this.estimate, this.min, this.max, this.limit);
  }

  /**
   * Baseline: set by the first window. While at most half the limit is in use there is no queue of ours to tell
   * apart, and it follows the windows' RTT (an EMA, weighted by samples: unbiased, where a minimum would sink with
   * the noise). Nearer the limit it is frozen, except that a window faster by more than twice its standard error pulls
   * it down, and a cut that did not speed anything up raises it.
   */
  private learnBase(w: Window): void {
    if (this.base !== this.base) {
      this.base = w.rtt;
      return;
    }
    const weight = Math.min(1, w.clean / this.minSamples);
    if (!w.full && 2 * w.peak <= this.limit) this.base += 0.1 * weight * (w.rtt - this.base);
    else if (w.rtt < this.base - 2 * w.se) this.base += 0.2 * weight * (w.rtt - this.base);
    const b = this.before;
    if (b === undefined) return;
    // The cut bought lower latency (a queue), or throughput held (nothing learnt): the experiment is over.
    if (w.rtt < 0.9 * b.rtt || w.x > b.x * (1 - 0.25 * b.cut)) {
      this.before = undefined;
      return;
    }
    // Twice, latency held while throughput fell with the limit: the work got slower, and what the attempts started
    // after the cut take is the new no-load RTT.
    if (++this.unanswered >= 2) {
      this.base = Math.max(this.base, w.rtt);
      this.before = undefined;
    }
  }
}

/**
 * sluice's default limit algorithm: keeps the dependency's queue (throughput × added delay, by Little's law) at a
 * small allowance, tells a slower dependency from a queue by whether a cut lowers the RTT, and bounds its headroom
 * by the concurrency actually used. Defaults: initial 20, min 1, max 1000, queue √L (≥ 3), headroom 2, windows of
 * 100 ms to 1 s with 20 samples.
 * @throws {TypeError | RangeError} on an invalid or unknown option.
 * @example
 * ```ts
 * const limiter = adaptiveLimiter({ algorithm: sluiceLimit({ maxLimit: 200 }) });
 * ```
 */
export function sluiceLimit(options: SluiceLimitOptions = {}): LimitAlgorithm & { readonly baseRttMs: number } {
  const owner = 'sluiceLimit';
  const o = v.optionsObject<SluiceLimitOptions>(owner, options, v.keys(...BOUND_KEYS, 'queue', 'headroom', 'minWindowMs', 'maxWindowMs', 'minSamples'));
  const { min, max, initial } = parseBounds(owner, o, { min: 1, max: 1000, initial: 20 });
  const queue = v.opt<number | undefined>(o.queue, undefined, (x) => v.positive(owner, 'queue', x));
  const headroom = v.opt(o.headroom, 2, (x) => v.between(owner, 'headroom', x, 1, Number.MAX_VALUE));
  const minWindowMs = v.opt(o.minWindowMs, 100, (x) => v.positive(owner, 'minWindowMs', x));
  const maxWindowMs = v.opt(o.maxWindowMs, Math.max(1000, minWindowMs), (x) => v.between(owner, 'maxWindowMs', x, minWindowMs, Number.MAX_VALUE));
  const minSamples = v.opt(o.minSamples, 20, (x) => v.integer(owner, 'minSamples', x, 1));
  return new SluiceLimit(min, max, initial, queue, headroom, minWindowMs, maxWindowMs, minSamples);
}
