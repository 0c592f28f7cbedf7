/**
 * Measurements of a simulation run: per-bucket time series (250 ms by default), summaries over any window,
 * per-tenant and per-class figures, Jain's fairness index (R. Jain, D. Chiu, W. Hawe, "A Quantitative Measure of
 * Fairness and Discrimination for Resource Allocation in Shared Computer Systems", DEC TR-301, 1984) and a
 * convergence time after a load or capacity step ({@link convergenceTimeMs}).
 */
import * as hdr from 'hdr-histogram-js';

/** Latency percentiles of successful requests, ms (NaN when there were none). */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * One time bucket of a run. Counts are events whose outcome fell in the bucket; rates are per second of the bucket's
 * simulated time (the last bucket may be cut short by the run's end).
 */
export interface SimBucket {
  /** Bucket start, virtual ms. */
  tMs: number;
  /** First attempts (requests) that arrived. */
  arrivals: number;
  /** Calls made to the policy (first attempts plus client retries). */
  attempts: number;
  /** Attempts that reached the downstream. */
  sent: number;
  /** Requests that succeeded within their deadline. */
  successes: number;
  /** `successes` per second. */
  goodputPerSecond: number;
  /** Downstream completions per second (useful or not). */
  throughputPerSecond: number;
  /** Attempts whose caller gave up at its deadline. */
  timeouts: number;
  /** Attempts failed by the downstream (down, overloaded, error). */
  errors: number;
  /** Attempts refused locally by a sluice policy. */
  rejected: number;
  /** `rejected` by `RejectedError.code`. */
  rejectedBy: Record<string, number>;
  /** Downstream service time spent on calls nobody was waiting for, ms. */
  wastedMs: number;
  /** Downstream service time spent, ms. */
  busyMs: number;
  /** Median latency of the bucket's successes, ms. */
  p50Ms: number;
  /** 99th percentile latency of the bucket's successes, ms. */
  p99Ms: number;
  /** Limit in force at the bucket's end (from the policy's `stats()`), or NaN. */
  limit: number;
  /** In-flight count at the policy at the bucket's end, or NaN. */
  inflight: number;
  /** Callers queued at the policy at the bucket's end, or NaN. */
  queued: number;
  /** Calls in the downstream (serving + queued) at the bucket's end. */
  downstreamInflight: number;
  /** Calls queued in the downstream at the bucket's end. */
  downstreamQueued: number;
  /** Downstream capacity at the bucket's end, calls per second. */
  capacityPerSecond: number;
}

/**
 * Figures over a window of a run. Rates are per second of the window's simulated time: a last bucket cut short by
 * the run's end counts for the part that was simulated.
 */
export interface SimSummary {
  /** Window start, ms (aligned to a bucket). */
  fromMs: number;
  /** Window end, ms (aligned to a bucket, or the run's end when that comes first). */
  toMs: number;
  /** First attempts per second. */
  offeredPerSecond: number;
  /** Successes within the deadline per second. */
  goodputPerSecond: number;
  /** Downstream completions per second. */
  throughputPerSecond: number;
  /** First attempts. */
  arrivals: number;
  /** Calls made to the policy (first attempts plus client retries). */
  attempts: number;
  /** Requests answered within their deadline. */
  successes: number;
  /** Attempts whose caller gave up at its deadline. */
  timeouts: number;
  /** Attempts failed by the downstream. */
  errors: number;
  /** Attempts refused locally by a sluice policy. */
  rejected: number;
  /** `rejected` by `RejectedError.code`. */
  rejectedBy: Record<string, number>;
  /** rejected / attempts. */
  rejectionRate: number;
  /** Latency of successes (hdr-histogram-js, 3 significant digits). */
  latency: LatencySummary;
  /** Median time from an attempt's start to its local rejection, over the rejections in the window, ms (NaN when none). */
  rejectLatencyP50Ms: number;
  /** Downstream service time spent (completions in the window), ms. busyMs / (c · window) is the utilisation. */
  busyMs: number;
  /** Downstream service time wasted on abandoned or late calls, ms. */
  wastedMs: number;
  /** wastedMs / busyMs (0 when idle). */
  wastedFraction: number;
  /**
   * Retry amplification: attempts sent to the downstream / first attempts (1 when nobody retries; see "Addressing
   * Cascading Failures" in Google's Site Reliability Engineering book, O'Reilly 2016).
   */
  amplification: number;
  /** Mean of the sampled limit, in-flight and queue length (NaN when the policy reports none). */
  meanLimit: number;
  meanInflight: number;
  meanQueued: number;
  /** Mean downstream capacity over the window, per second. */
  capacityPerSecond: number;
}

/** Figures of one tenant or priority class over a window. */
export interface GroupSummary {
  /** Tenant name (`-` for none) or priority. */
  key: string;
  /** First attempts per second. */
  offeredPerSecond: number;
  /** Successes within the deadline per second. */
  goodputPerSecond: number;
  /** goodput / offered (1 when nothing was offered). */
  shareOfDemand: number;
  /** Attempts refused locally. */
  rejected: number;
  /** Attempts whose caller gave up. */
  timeouts: number;
  /** Latency of the group's successes. */
  latency: LatencySummary;
}

/** @internal counters of one population (all requests, one tenant, one class). */
export class Track {
  readonly arrivals: Float64Array;
  readonly attempts: Float64Array;
  readonly successes: Float64Array;
  readonly rejected: Float64Array;
  readonly timeouts: Float64Array;
  readonly errors: Float64Array;
  readonly latencies: number[][];

  constructor(readonly key: string, n: number) {
    this.arrivals = new Float64Array(n);
    this.attempts = new Float64Array(n);
    this.successes = new Float64Array(n);
    this.rejected = new Float64Array(n);
    this.timeouts = new Float64Array(n);
    this.errors = new Float64Array(n);
    this.latencies = Array.from({ length: n }, () => []);
  }
}

/** @internal everything recorded during a run. */
export class Recorder {
  readonly n: number;
  readonly all: Track;
  readonly tenants = new Map<string, Track>();
  readonly classes = new Map<string, Track>();
  readonly sent: Float64Array;
  readonly completed: Float64Array;
  readonly wasted: Float64Array;
  readonly busy: Float64Array;
  readonly byCode = new Map<string, Float64Array>();
  /** Per bucket: time from an attempt's start to its local rejection, ms. */
  readonly rejectLatencies: number[][];
  readonly gauges: { limit: Float64Array; inflight: Float64Array; queued: Float64Array; dsInflight: Float64Array; dsQueued: Float64Array; capacity: Float64Array };

  constructor(
    readonly bucketMs: number,
    readonly endMs: number,
  ) {
    this.n = Math.max(1, Math.ceil(endMs / bucketMs));
    const n = this.n;
    this.all = new Track('all', n);
    this.sent = new Float64Array(n);
    this.completed = new Float64Array(n);
    this.wasted = new Float64Array(n);
    this.busy = new Float64Array(n);
    this.rejectLatencies = Array.from({ length: n }, () => []);
    const nan = (): Float64Array => new Float64Array(n).fill(NaN);
    this.gauges = { limit: nan(), inflight: nan(), queued: nan(), dsInflight: nan(), dsQueued: nan(), capacity: nan() };
  }

  /** Bucket index of time `t`, or -1 past the end (events after the horizon are not recorded). */
  bucket(t: number): number {
    const i = Math.floor(t / this.bucketMs);
    return i < this.n ? i : -1;
  }

  /** End of bucket `i`, ms: the run's end for a last bucket that is only partly simulated. */
  bucketEnd(i: number): number {
    const end = (i + 1) * this.bucketMs;
    return end < this.endMs ? end : this.endMs;
  }

  /** Simulated time covered by buckets [from, to), ms (a partly simulated last bucket counts for its part only). */
  span(from: number, to: number): number {
    return to > from ? this.bucketEnd(to - 1) - from * this.bucketMs : 0;
  }

  track(map: Map<string, Track>, key: string): Track {
    let t = map.get(key);
    if (t === undefined) {
      t = new Track(key, this.n);
      map.set(key, t);
    }
    return t;
  }

  rejection(i: number, code: string): void {
    let a = this.byCode.get(code);
    if (a === undefined) {
      a = new Float64Array(this.n);
      this.byCode.set(code, a);
    }
    a[i]!++;
  }
}

function sum(a: Float64Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]!;
  return s;
}

function meanDefined(a: Float64Array, from: number, to: number): number {
  let s = 0;
  let k = 0;
  for (let i = from; i < to; i++) {
    const x = a[i]!;
    if (!Number.isNaN(x)) {
      s += x;
      k++;
    }
  }
  return k === 0 ? NaN : s / k;
}

/**
 * Nearest-rank percentile of an ascending array (NaN when empty).
 * @example
 * ```ts
 * percentile([10, 20, 30, 40], 50); // 20
 * ```
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

const EMPTY_LATENCY: LatencySummary = Object.freeze({ count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN });

/** Latency summary of some buckets of a track, through an hdr histogram in microseconds. */
function latencyOf(track: Track, from: number, to: number): LatencySummary {
  let count = 0;
  for (let i = from; i < to; i++) count += track.latencies[i]!.length;
  if (count === 0) return EMPTY_LATENCY;
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  let total = 0;
  let max = 0;
  for (let i = from; i < to; i++) {
    for (const ms of track.latencies[i]!) {
      h.recordValue(Math.max(1, Math.round(ms * 1000)));
      total += ms;
      if (ms > max) max = ms;
    }
  }
  const at = (p: number): number => h.getValueAtPercentile(p) / 1000;
  const s: LatencySummary = { count, mean: total / count, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max };
  h.destroy();
  return s;
}

/** @internal bucket range [from, to) covering the window. */
export function bucketRange(r: Recorder, fromMs: number, toMs: number): [number, number] {
  const from = Math.max(0, Math.floor(fromMs / r.bucketMs));
  const to = Math.min(r.n, Math.ceil(toMs / r.bucketMs));
  return [from, Math.max(from, to)];
}

/** @internal */
export function summarize(r: Recorder, fromMs: number, toMs: number): SimSummary {
  const [from, to] = bucketRange(r, fromMs, toMs);
  const seconds = r.span(from, to) / 1000;
  const a = r.all;
  const arrivals = sum(a.arrivals, from, to);
  const attempts = sum(a.attempts, from, to);
  const successes = sum(a.successes, from, to);
  const rejected = sum(a.rejected, from, to);
  const rejectedBy: Record<string, number> = {};
  for (const [code, arr] of r.byCode) {
    const x = sum(arr, from, to);
    if (x > 0) rejectedBy[code] = x;
  }
  const busy = sum(r.busy, from, to);
  const wasted = sum(r.wasted, from, to);
  const sent = sum(r.sent, from, to);
  const rl: number[] = [];
  for (let i = from; i < to; i++) for (const x of r.rejectLatencies[i]!) rl.push(x);
  rl.sort((x, y) => x - y);
  const rate = (x: number): number => (seconds > 0 ? x / seconds : NaN);
  return {
    fromMs: from * r.bucketMs,
    toMs: to > from ? r.bucketEnd(to - 1) : from * r.bucketMs,
    offeredPerSecond: rate(arrivals),
    goodputPerSecond: rate(successes),
    throughputPerSecond: rate(sum(r.completed, from, to)),
    arrivals,
    attempts,
    successes,
    timeouts: sum(a.timeouts, from, to),
    errors: sum(a.errors, from, to),
    rejected,
    rejectedBy,
    rejectionRate: attempts > 0 ? rejected / attempts : 0,
    latency: latencyOf(a, from, to),
    rejectLatencyP50Ms: percentile(rl, 50),
    busyMs: busy,
    wastedMs: wasted,
    wastedFraction: busy > 0 ? wasted / busy : 0,
    amplification: arrivals > 0 ? sent / arrivals : NaN,
    meanLimit: meanDefined(r.gauges.limit, from, to),
    meanInflight: meanDefined(r.gauges.inflight, from, to),
    meanQueued: meanDefined(r.gauges.queued, from, to),
    capacityPerSecond: meanDefined(r.gauges.capacity, from, to),
  };
}

/** @internal */
export function summarizeGroup(r: Recorder, t: Track, fromMs: number, toMs: number): GroupSummary {
  const [from, to] = bucketRange(r, fromMs, toMs);
  const seconds = r.span(from, to) / 1000;
  const offered = sum(t.arrivals, from, to);
  const good = sum(t.successes, from, to);
  return {
    key: t.key,
    offeredPerSecond: seconds > 0 ? offered / seconds : NaN,
    goodputPerSecond: seconds > 0 ? good / seconds : NaN,
    shareOfDemand: offered > 0 ? good / offered : 1,
    rejected: sum(t.rejected, from, to),
    timeouts: sum(t.timeouts, from, to),
    latency: latencyOf(t, from, to),
  };
}

/** @internal */
export function buildSeries(r: Recorder): SimBucket[] {
  const out: SimBucket[] = [];
  for (let i = 0; i < r.n; i++) {
    const perSecond = 1000 / r.span(i, i + 1);
    const lat = r.all.latencies[i]!.slice().sort((x, y) => x - y);
    const rejectedBy: Record<string, number> = {};
    for (const [code, arr] of r.byCode) if (arr[i]! > 0) rejectedBy[code] = arr[i]!;
    out.push({
      tMs: i * r.bucketMs,
      arrivals: r.all.arrivals[i]!,
      attempts: r.all.attempts[i]!,
      sent: r.sent[i]!,
      successes: r.all.successes[i]!,
      goodputPerSecond: r.all.successes[i]! * perSecond,
      throughputPerSecond: r.completed[i]! * perSecond,
      timeouts: r.all.timeouts[i]!,
      errors: r.all.errors[i]!,
      rejected: r.all.rejected[i]!,
      rejectedBy,
      wastedMs: r.wasted[i]!,
      busyMs: r.busy[i]!,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      limit: r.gauges.limit[i]!,
      inflight: r.gauges.inflight[i]!,
      queued: r.gauges.queued[i]!,
      downstreamInflight: r.gauges.dsInflight[i]!,
      downstreamQueued: r.gauges.dsQueued[i]!,
      capacityPerSecond: r.gauges.capacity[i]!,
    });
  }
  return out;
}

/**
 * Jain's fairness index J = (Σx)² / (n·Σx²): 1 when every x is equal, 1/n when one takes everything.
 * Pass xᵢ = allocationᵢ / fairShareᵢ.
 * @returns NaN when every x is 0 (nobody got anything: fairness is undefined), and for an empty input.
 * @example
 * ```ts
 * jainIndex([1, 1]);      // 1
 * jainIndex([0.295, 1]);  // ≈ 0.77
 * ```
 */
export function jainIndex(xs: readonly number[]): number {
  let s = 0;
  let s2 = 0;
  for (const x of xs) {
    s += x;
    s2 += x * x;
  }
  return s2 === 0 ? NaN : (s * s) / (xs.length * s2);
}

/**
 * Max-min fair shares of `capacity` among `demands` (water filling): nobody gets more than it asks; what is left
 * is split equally among the rest.
 * @example
 * ```ts
 * maxMinFair([400, 3000], 1000); // [400, 600]
 * ```
 */
export function maxMinFair(demands: readonly number[], capacity: number): number[] {
  const share = new Array<number>(demands.length).fill(0);
  let left = capacity;
  let open = demands.map((_, i) => i);
  while (open.length > 0 && left > 1e-12) {
    const each = left / open.length;
    const next: number[] = [];
    let used = 0;
    for (const i of open) {
      const need = demands[i]! - share[i]!;
      if (need <= each) {
        share[i] = demands[i]!;
        used += need;
      } else {
        share[i] = share[i]! + each;
        used += each;
        next.push(i);
      }
    }
    left -= used;
    if (next.length === open.length) break;
    open = next;
  }
  return share;
}

/** Options of {@link convergenceTimeMs}. */
export interface ConvergenceOptions {
  /** The event's time, virtual ms. */
  afterMs: number;
  /** Ideal goodput per second in a bucket starting at `tMs` (e.g. min(λ, C)). */
  idealGoodputPerSecond: number | ((tMs: number) => number);
  /** Ideal p99 in a bucket, ms. */
  idealP99Ms: number | ((tMs: number) => number);
  /** Length of the window that must hold, ms. Default 1000. */
  windowMs?: number;
  /** Fraction of the ideal goodput a bucket needs. Default 0.9. */
  goodputFraction?: number;
  /** Most a bucket's p99 may exceed the ideal p99, as a factor. Default 1.5. */
  p99Factor?: number;
}

/**
 * Convergence time after an event (a load or capacity step): the first t ≥ the event such that every bucket in
 * [t, t + 1 s] has goodput ≥ 90 % of the ideal and p99 ≤ 1.5 × the ideal p99. A bucket with no success passes
 * only when its ideal goodput is 0.
 * @returns ms from the event, or Infinity when the series never converges.
 * @example
 * ```ts
 * const ms = convergenceTimeMs(result.series, { afterMs: 30_000, idealGoodputPerSecond: 1000, idealP99Ms: 186 });
 * ```
 */
export function convergenceTimeMs(series: readonly SimBucket[], options: ConvergenceOptions): number {
  const windowMs = options.windowMs ?? 1000;
  const gf = options.goodputFraction ?? 0.9;
  const pf = options.p99Factor ?? 1.5;
  const ideal = (x: number | ((t: number) => number), t: number): number => (typeof x === 'function' ? x(t) : x);
  if (series.length === 0) return Infinity;
  const bucketMs = series.length > 1 ? series[1]!.tMs - series[0]!.tMs : windowMs;
  const ok = series.map((b) => {
    const g = ideal(options.idealGoodputPerSecond, b.tMs);
    const p = ideal(options.idealP99Ms, b.tMs);
    if (b.goodputPerSecond < gf * g - 1e-9) return false;
    if (b.successes === 0) return g <= 0;
    return b.p99Ms <= pf * p;
  });
  const need = Math.max(1, Math.round(windowMs / bucketMs));
  const start = series.findIndex((b) => b.tMs + bucketMs > options.afterMs);
  if (start < 0) return Infinity;
  let run = 0;
  for (let i = start; i < series.length; i++) {
    run = ok[i] ? run + 1 : 0;
    if (run >= need) return Math.max(0, series[i - need + 1]!.tMs - options.afterMs);
  }
  return Infinity;
}
