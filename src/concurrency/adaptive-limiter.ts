/**
 * Adaptive limiter: a bulkhead whose limit is found, not guessed. Every permit's end is a sample (its RTT, the calls
 * in flight when it started, whether it was dropped) for a limit algorithm (limits/), and the bulkhead's limit
 * follows the algorithm's answer. Queueing, disciplines, wait estimates and shedding are the bulkhead's.
 */
import { isRejectedError, isTimeoutError } from '../core/errors.js';
import { COMMON_KEYS, QUEUE_KEYS } from '../core/limiter-base.js';
import type { Permit, PermitOutcome } from '../core/permit.js';
import { reportError } from '../core/safe-call.js';
import * as v from '../core/validate.js';
import { BulkheadImpl, type Bulkhead, type BulkheadOptions, type BulkheadStats } from './bulkhead.js';
import { EventLoopLag } from './event-loop-lag.js';
import type { LimitAlgorithm } from './limits/algorithm.js';
import { sluiceLimit } from './limits/sluice.js';

/** Options of {@link adaptiveLimiter}. */
export interface AdaptiveLimiterOptions extends Omit<BulkheadOptions, 'limit'> {
  /**
   * The limit algorithm, fed one sample per permit that ends as success or drop. Default `sluiceLimit()`. Others:
   * `fixedLimit`, `aimdLimit`, `windowedLimit(vegasLimit())`, `windowedLimit(gradient2Limit())`,
   * `envoyGradientLimit`, or your own {@link LimitAlgorithm}. One algorithm object serves one limiter.
   */
  algorithm?: LimitAlgorithm;
  /**
   * How a call that failed with `error` ends, when the default does not fit: `'drop'` (the dependency is overloaded:
   * the algorithm backs off), `'ignore'` (no sample), `'success'` (a valid latency sample), or undefined for the
   * default. Default: a sluice `TimeoutError`, or an abort after the call's own `deadline`, is a drop; any other abort
   * of the call's signal (the caller gave up) and a sluice rejection from a layer inside (the call never reached the
   * dependency) are ignored; any other error is a sample (the dependency answered, with an error). Map the
   * dependency's pushback (HTTP 429/503, a "too busy" error) to `'drop'` here.
   */
  classify?: (error: unknown) => PermitOutcome | undefined;
  /**
   * Discount event-loop delay from every sample: a sample's RTT is its duration less the time this process's event
   * loop was measured to be stalled meanwhile (a timer on `clock`, every 10 ms while two or more calls are in flight,
   * cleared when none is), so local CPU saturation is not read as downstream congestion. Default true.
   */
  discountEventLoopDelay?: boolean;
  /**
   * Guaranteed shares of the limit, by partition: `{ checkout: 0.5, search: 0.3 }`. A call's partition is its
   * `tenant`. A partition whose calls hold less than its share (`ceil(share × limit)`, at least 1) is admitted even
   * when the limit is reached, so a burst of one partition cannot take the others' share; in flight may then exceed
   * the limit by at most the shares that were unused. Calls of other tenants (or none) share what the limit leaves.
   * Shares in (0, 1], summing to at most 1; at most 64 partitions. Default: none.
   */
  partitions?: Readonly<Record<string, number>>;
}

const ADAPTIVE_KEYS = v.keys(...COMMON_KEYS, ...QUEUE_KEYS, 'queue', 'algorithm', 'classify', 'discountEventLoopDelay', 'partitions');
/** Most partitions an adaptive limiter takes. */
const MAX_PARTITIONS = 64;
/** What the bulkhead constructor is handed: the user's options and the algorithm's initial limit. */
const BASE_KEYS = v.keys(...COMMON_KEYS, ...QUEUE_KEYS, 'queue', 'limit');
/** Event-loop delay monitor period while calls are in flight, ms. */
const LAG_INTERVAL_MS = 10;

/** Snapshot returned by {@link AdaptiveLimiter.stats}. */
export interface AdaptiveLimiterStats extends BulkheadStats {
  /** The algorithm's name. */
  algorithm: string;
  /** Samples fed to the algorithm (permits that ended as success or drop). */
  samples: number;
  /** Of those, drops. */
  drops: number;
  /** Permits that ended as ignore (no sample). */
  ignored: number;
  /** Event-loop delay measured while calls were in flight, ms in total (0 when `discountEventLoopDelay` is false). */
  eventLoopDelayMs: number;
  /** Each partition's share, guaranteed limit now (`ceil(share × limit)`, ≥ 1) and units in flight. */
  partitions: Record<string, { share: number; guaranteed: number; inflight: number }>;
  /** The factor set by {@link AdaptiveLimiter.scaleLimit}, in (0, 1]; 1 unless a downstream signal scaled it. */
  limitScale: number;
  /** The limit enforced now: `max(1, floor(limit × limitScale))`. */
  effectiveLimit: number;
}

/** One partition's share and what its calls hold. */
class Partition {
  busy = 0;
  constructor(readonly share: number) {}
  guaranteed(limit: number): number {
    return Math.max(1, Math.ceil(this.share * limit));
  }
}

/**
 * A concurrency limiter whose limit follows the dependency, made by {@link adaptiveLimiter}. It is a
 * {@link Bulkhead} in every other respect (queue disciplines, `maxQueue`, `maxWaitMs`, deadlines, dry run), except
 * that `configure()` is not offered: the algorithm sets the limit.
 * @example
 * ```ts
 * const db: AdaptiveLimiter = adaptiveLimiter();
 * const rows = await db.execute(({ signal }) => pool.query(sql, { signal }));
 * ```
 */
export interface AdaptiveLimiter extends Omit<Bulkhead, 'configure' | 'stats'> {
  /** Counts and state: the bulkhead's, plus the algorithm's name and the samples it was fed. */
  stats(): AdaptiveLimiterStats;
  /**
   * Scales the limit the algorithm finds by `factor` in (0, 1], from now until the next call: the enforced limit is
   * `max(1, floor(limit × factor))`. For a signal the dependency sends about its own load (an HTTP load-factor
   * header), which should lower the limit before the dependency starts refusing, and let it back up as the load
   * falls. The algorithm keeps learning unscaled; `scaleLimit(1)` restores its limit (and admits waiters that fit).
   * @throws {RangeError} when `factor` is not a number in (0, 1].
   */
  scaleLimit(factor: number): void;
}

/** An adaptive permit: remembers when it started and what was in flight, and reports both at its end. */
class SamplingPermit implements Permit {
  private done = false;
  constructor(
    private readonly owner: AdaptiveLimiterImpl,
    readonly units: number,
    readonly startedAt: number,
    readonly inflight: number,
    /** Event-loop delay total at the start. */
    readonly lagAtStart: number,
    /** The partition whose share it holds, if any. */
    readonly part: Partition | undefined,
  ) {}
  get released(): boolean {
    return this.done;
  }
  release(outcome?: PermitOutcome): void {
    if (this.done) return;
    this.done = true;
    this.owner.finish(this, outcome);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

class AdaptiveLimiterImpl extends BulkheadImpl implements AdaptiveLimiter {
  private readonly algorithm: LimitAlgorithm;
  private readonly classify: ((error: unknown) => PermitOutcome | undefined) | undefined;
  private readonly lag: EventLoopLag | undefined;
  private readonly ceiling: number;
  private readonly parts: Map<string, Partition> | undefined;
  private samples = 0;
  private drops = 0;
  private ignored = 0;
  private scale = 1;
  /** The algorithm's limit; the bulkhead's `limit` is the one enforced, `max(1, floor(algoLimit × scale))`. */
  private algoLimit: number;

  constructor(options: AdaptiveLimiterOptions) {
    const owner = 'adaptiveLimiter';
    const o = v.optionsObject<AdaptiveLimiterOptions>(owner, options, ADAPTIVE_KEYS);
    const algorithm = v.opt(o.algorithm, undefined, (x) => v.shaped<LimitAlgorithm>(owner, 'algorithm', x, ['sample'])) ?? sluiceLimit();
    const initial = algorithm.limit;
    const max = algorithm.max;
    if (typeof initial !== 'number' || !Number.isInteger(initial) || initial < 1 || !(max >= initial)) {
      throw new RangeError(`${owner}: option "algorithm" must have an integer limit >= 1 within its max, got limit ${v.describeValue(initial)}, max ${v.describeValue(max)}`);
    }
    const classify = v.opt<((error: unknown) => PermitOutcome | undefined) | undefined>(o.classify, undefined, (x) => v.func<(error: unknown) => PermitOutcome | undefined>(owner, 'classify', x));
    const discount = v.opt(o.discountEventLoopDelay, true, (x) => v.bool(owner, 'discountEventLoopDelay', x));
    const parts = o.partitions === undefined ? undefined : parsePartitions(owner, o.partitions);
    const rest: Record<string, unknown> = { ...o, limit: initial };
    delete rest.partitions;
    delete rest.algorithm;
    delete rest.classify;
    delete rest.discountEventLoopDelay;
    super(rest as unknown as BulkheadOptions, owner, BASE_KEYS);
    this.algorithm = algorithm;
    this.algoLimit = initial;
    this.classify = classify;
    this.ceiling = max;
    this.parts = parts;
    this.lag = discount ? new EventLoopLag(this.clock, LAG_INTERVAL_MS, () => this.inflight !== 0) : undefined;
  }

  protected override admit(units: number, tenant?: string): Permit {
    if ((this.inflight += units) > this.maxInflightSeen) this.maxInflightSeen = this.inflight;
    let part: Partition | undefined;
    if (this.parts !== undefined && tenant !== undefined && (part = this.parts.get(tenant)) !== undefined) part.busy += units;
    const now = this.clock.now();
    let lagAtStart = 0;
    if (this.lag !== undefined) {
      // Only while calls overlap: one call at a time arms no timer (and a stall then slows one call, not a queue).
      if (this.inflight > 1) this.lag.start(now);
      lagAtStart = this.lag.at(now);
    }
    return new SamplingPermit(this, units, now, this.inflight, lagAtStart, part);
  }

  /** @internal a permit's end: one sample for the algorithm (unless ignored), the new limit, then the release. */
  finish(p: SamplingPermit, outcome: PermitOutcome | undefined): void {
    if (outcome === 'ignore') this.ignored++;
    else {
      const now = this.clock.now();
      const lag = this.lag === undefined ? 0 : this.lag.at(now) - p.lagAtStart;
      const dropped = outcome === 'drop';
      this.samples++;
      if (dropped) this.drops++;
      try {
        const next = this.algorithm.sample({ rttMs: Math.max(0, now - p.startedAt - lag), inflight: p.inflight, dropped }, now);
        // A user's algorithm is trusted only with an integer in [1, its max].
        if (Number.isInteger(next) && next >= 1 && next <= this.ceiling) {
          this.algoLimit = next;
          this.limit = this.scale === 1 ? next : this.scaledLimit();
        }
      } catch (e) {
        reportError(e);
      }
    }
    if (p.part !== undefined) p.part.busy -= p.units;
    this.releaseUnits(p.units);
    if (this.inflight === 0) this.lag?.stop();
  }

  protected override fits(cost: number, tenant?: string): boolean {
    // A call too big for the current limit runs alone rather than never (the limit moves only with samples).
    if (this.inflight + cost <= this.limit || (this.inflight === 0 && cost <= this.ceiling)) return true;
    // A partition under its guaranteed share is admitted beyond the limit.
    const part = this.parts === undefined || tenant === undefined ? undefined : this.parts.get(tenant);
    return part !== undefined && part.busy + cost <= part.guaranteed(this.limit);
  }

  private scaledLimit(): number {
    return Math.max(1, Math.floor(this.algoLimit * this.scale));
  }

  scaleLimit(factor: number): void {
    const f = v.between(this.name, 'scaleLimit(factor)', factor, Number.MIN_VALUE, 1);
    if (f === this.scale) return;
    const grows = f > this.scale;
    this.scale = f;
    this.limit = this.scaledLimit();
    if (grows && !this.isDisposed) this.reschedule();
  }

  protected override costCeiling(): number {
    return this.ceiling;
  }

  protected override checkCost(cost: number): void {
    if (cost > this.ceiling) {
      throw new RangeError(`${this.name}: cost ${cost} exceeds the algorithm's maximum limit ${this.ceiling}; such a call could never be admitted`);
    }
  }

  protected override outcomeOf(error: unknown, signal: AbortSignal, deadline: number | undefined): PermitOutcome {
    if (this.classify !== undefined) {
      try {
        const o = this.classify(error);
        if (o === 'success' || o === 'drop' || o === 'ignore') return o;
      } catch (e) {
        reportError(e);
      }
    }
    if (isTimeoutError(error)) return 'drop';
    if (signal.aborted) {
      if (isTimeoutError(signal.reason)) return 'drop';
      return deadline !== undefined && this.clock.now() >= deadline ? 'drop' : 'ignore';
    }
    return isRejectedError(error) ? 'ignore' : 'success';
  }

  protected override onDispose(): void {
    super.onDispose();
    this.lag?.stop();
  }

  override configure(): void {
    throw new TypeError(`${this.name}: an adaptive limiter's limit is set by its algorithm (${this.algorithm.name}); it has no configure()`);
  }

  override stats(): AdaptiveLimiterStats {
    return {
      ...super.stats(),
      algorithm: this.algorithm.name,
      samples: this.samples,
      drops: this.drops,
      ignored: this.ignored,
      eventLoopDelayMs: this.lag === undefined ? 0 : this.lag.at(this.clock.now()),
      partitions: Object.fromEntries([...(this.parts ?? [])].map(([k, p]) => [k, { share: p.share, guaranteed: p.guaranteed(this.limit), inflight: p.busy }])),
      limit: this.algoLimit,
      limitScale: this.scale,
      effectiveLimit: this.limit,
    };
  }
}

/** Validates `partitions`: at most 64 names, shares in (0, 1] summing to at most 1. */
function parsePartitions(owner: string, x: unknown): Map<string, Partition> {
  const o = v.optionsObject<Record<string, number>>(`${owner}: option "partitions"`, x);
  const names = Object.keys(o);
  if (names.length > MAX_PARTITIONS) throw new RangeError(`${owner}: option "partitions" takes at most ${MAX_PARTITIONS} partitions, got ${names.length}`);
  const parts = new Map<string, Partition>();
  let total = 0;
  for (const name of names) {
    const share = v.between(owner, `partitions.${name}`, o[name], Number.MIN_VALUE, 1);
    total += share;
    parts.set(name, new Partition(share));
  }
  if (total > 1 + 1e-9) throw new RangeError(`${owner}: option "partitions" shares must sum to at most 1, got ${total}`);
  return parts;
}

/**
 * Creates an adaptive concurrency limiter: a bulkhead whose limit a limit algorithm sets from the latency and
 * outcome of every call, the way TCP finds its window, so nobody has to guess "limit: 40" for a dependency whose
 * capacity changes. The default algorithm is {@link sluiceLimit} (initial limit 20, between 1 and 1000).
 *
 * **Samples.** Each attempt is one sample when its permit ends: `execute()` classifies the outcome (see `classify`);
 * an `acquire()`d permit is released with `release('success' | 'drop' | 'ignore')` (default `'success'`). A sample's
 * RTT is measured from admission (not from the queue) to release, less the event-loop delay measured meanwhile. Put
 * the limiter inside a retry policy (`pipeline(retry(), adaptiveLimiter())`), so every attempt is measured and no
 * permit is held across a backoff.
 *
 * **At capacity** it behaves as a {@link bulkhead} with the current limit: `CONCURRENCY_LIMITED` at once by default
 * (`maxQueue: 0`), or a queue in the chosen discipline, with `maxWaitMs` and deadlines. When the limit falls below
 * what is in flight, running calls keep their permits and new ones wait until enough have ended. A call whose cost
 * exceeds the current limit (but not the algorithm's maximum) runs alone once nothing else is in flight. With
 * `partitions`, a partition under its guaranteed share is admitted even at the limit.
 *
 * @throws {TypeError | RangeError} on an invalid or unknown option (the message names it), or an `algorithm` that is
 * not a limit algorithm. A call whose `cost` exceeds the algorithm's maximum rejects with a RangeError.
 * @example
 * ```ts
 * const api = adaptiveLimiter({ maxWaitMs: 200, queue: 'priority' });
 * const res = await api.execute(({ signal }) => fetch(url, { signal }), { priority: 'critical' });
 * ```
 */
export function adaptiveLimiter(options: AdaptiveLimiterOptions = {}): AdaptiveLimiter {
  return new AdaptiveLimiterImpl(options);
}
