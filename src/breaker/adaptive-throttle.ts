/**
 * Adaptive throttle: client-side throttling from the Google SRE book (B. Beyer et al., "Site Reliability
 * Engineering", O'Reilly 2016, ch. 21 "Handling Overload", https://sre.google/sre-book/handling-overload/). Each
 * client remembers, over a sliding window, how many calls it attempted (`requests`, its own local refusals
 * included) and how many the dependency accepted (`accepts`), and refuses a new call locally with probability
 *
 *     p = max(0, (requests − K · accepts) / (requests + 1)),   capped at `maxRejectionProbability`.
 *
 * While the dependency accepts everything, p stays 0 (requests ≤ K · accepts). When it starts refusing, the client
 * sheds just enough that what it still sends is about K times what gets accepted, so a dependency that answers one
 * call in two keeps working at its capacity instead of spending it on refusals. A breaker stops calls to a
 * hard-down dependency; the throttle is graded, for one that is partly overloaded (pair them:
 * `pipeline(adaptiveThrottle(), circuitBreaker())`).
 */
import { NEVER_ABORTED, Context, DEFAULT_CONTEXT, executeContext, type ExecuteOptions, type Task } from '../core/context.js';
import { RejectedError, isRejectedError } from '../core/errors.js';
import { COMMON_KEYS, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { KIND, RUN, type Policy } from '../core/policy.js';
import type { RandomSource } from '../core/random.js';
import { settle } from '../core/safe-call.js';
import { Telemetry, type LimiterCounts, type LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { METRIC } from '../metrics/metrics.js';
import { parseTimeWindow, TimeWindow } from './strategies/time-window.js';

/** Options of {@link adaptiveThrottle}. */
export interface AdaptiveThrottleOptions extends CommonOptions {
  /**
   * K, the SRE book's multiplier: the client keeps sending about K times what the dependency accepts. Lower is more
   * aggressive (K = 1.1: refuse almost as soon as the dependency does), higher wastes more of the dependency's
   * capacity on refusals but reacts later. ≥ 1. Default 2 (the book's).
   */
  k?: number;
  /** Length of the sliding window, ms (> 0, ≥ 1 ms per bucket). Default 10 000. */
  windowMs?: number;
  /** Buckets of the window; the oldest leaves whole. Integer in [1, 10 000]. Default 10. */
  buckets?: number;
  /** Highest probability of a local refusal, in [0, 1]. Default 0.9: one call in ten still probes the dependency. */
  maxRejectionProbability?: number;
  /**
   * Fewest requests the window must hold before anything is refused. Integer ≥ 0. Default 50: without it one failed
   * call in a quiet window (requests 1, accepts 0) would refuse half the next calls, and behind an open circuit
   * breaker its few probes would be throttled too (delaying the breaker's recovery).
   */
  minRequests?: number;
  /**
   * Whether a failed call counts as refused by the dependency (not accepted). Default: every error except an abort by
   * the caller's signal and a sluice rejection from a layer inside (neither reached the dependency; both are left
   * out of the window altogether).
   */
  isFailure?: (error: unknown) => boolean;
}

const THROTTLE_KEYS = v.keys(...COMMON_KEYS, 'k', 'windowMs', 'buckets', 'maxRejectionProbability', 'minRequests', 'isFailure');

/**
 * The SRE book's client-side rejection probability, max(0, (requests − k·accepts) / (requests + 1)), capped at
 * `max`. Pure; 0 for an empty window.
 * @example
 * ```ts
 * throttleProbability(100, 25, 2, 0.9); // 0.495: half the calls are refused once a quarter are accepted
 * ```
 */
export function throttleProbability(requests: number, accepts: number, k: number, max: number): number {
  const p = (requests - k * accepts) / (requests + 1);
  return p > 0 ? (p < max ? p : max) : 0;
}

/** Snapshot returned by {@link AdaptiveThrottle.stats}. */
export interface AdaptiveThrottleStats extends LimiterCounts {
  name: string;
  /** Calls attempted in the window, local refusals included (calls admitted = requests − local refusals). */
  requests: number;
  /** Calls the dependency accepted in the window. */
  accepts: number;
  /** Probability that a call is refused locally now. */
  rejectionProbability: number;
  disposed: boolean;
}

/**
 * A client-side throttle, made by {@link adaptiveThrottle}. A refusal rejects with a {@link RejectedError} of code
 * `THROTTLED`.
 * @example
 * ```ts
 * const throttle: AdaptiveThrottle = adaptiveThrottle();
 * const r = await throttle.execute(() => callDependency());
 * ```
 */
export interface AdaptiveThrottle extends Policy {
  /** Typed events: `reject`, `dispose`. */
  readonly events: Telemetry<LimiterEvents>['events'];
  stats(): AdaptiveThrottleStats;
}

class AdaptiveThrottleImpl implements AdaptiveThrottle {
  readonly [KIND] = 'adaptiveThrottle';
  readonly name: string;
  readonly clock: Policy['clock'];
  private readonly random: RandomSource;
  private readonly t: Telemetry<LimiterEvents>;
  /** Requests as calls and refusals by the dependency as failures (requests − accepts). */
  private readonly window: TimeWindow;
  private readonly k: number;
  private readonly max: number;
  private readonly minRequests: number;
  private readonly isFailure: ((error: unknown) => boolean) | undefined;
  private isDisposed = false;

  constructor(options: AdaptiveThrottleOptions) {
    const owner = 'adaptiveThrottle';
    const o = v.optionsObject<AdaptiveThrottleOptions>(owner, options, THROTTLE_KEYS);
    const common = parseCommon(owner, o);
    this.k = v.opt(o.k, 2, (x) => v.between(owner, 'k', x, 1, Number.MAX_VALUE));
    const { windowMs, buckets } = parseTimeWindow(owner, o.windowMs, o.buckets);
    this.max = v.opt(o.maxRejectionProbability, 0.9, (x) => v.between(owner, 'maxRejectionProbability', x, 0, 1));
    this.minRequests = v.opt(o.minRequests, 50, (x) => v.integer(owner, 'minRequests', x, 0));
    this.isFailure = v.opt<((error: unknown) => boolean) | undefined>(o.isFailure, undefined, (x) => v.func<(error: unknown) => boolean>(owner, 'isFailure', x));
    this.window = new TimeWindow(windowMs, buckets, { failureRateThreshold: Infinity, slowCallRateThreshold: Infinity, slowCallDurationMs: Infinity, minimumCalls: 1 });
    this.name = common.name;
    this.clock = common.clock;
    this.random = common.random;
    this.t = new Telemetry<LimiterEvents>(owner, this.name, common.metrics);
    this.t.gauge(METRIC.throttleProbability, {}, () => this.probability(this.clock.now()));
  }

  get events(): Telemetry<LimiterEvents>['events'] {
    return this.t.events;
  }

  private probability(now: number): number {
    const requests = this.window.callsAt(now);
    if (requests < this.minRequests) return 0;
    return throttleProbability(requests, requests - this.window.failureCount, this.k, this.max);
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    if (this.isDisposed) return this.t.refuseDisposed(ctx.cost);
    const signal = ctx.signal;
    if (signal !== NEVER_ABORTED && signal.aborted) return Promise.reject(signal.reason);
    const now = this.clock.now();
    const p = this.probability(now);
    if (p > 0 && this.random() < p) {
      // A local refusal is a request that was not accepted: it keeps p up while the dependency refuses.
      this.window.record(false, false, now);
      const retryAfterMs = this.window.bucketMs;
      this.t.rejected('THROTTLED', retryAfterMs, ctx.cost);
      return Promise.reject(new RejectedError('THROTTLED', this.name, retryAfterMs, `${this.name}: throttled locally (p = ${p.toFixed(3)})`));
    }
    this.t.counts.admitted++;
    this.lastAdmittedAt = now;
    let run: unknown;
    try {
      run = next(ctx);
    } catch (e) {
      run = Promise.reject(e);
    }
    // Calls without a signal share both handlers: no closure per call.
    return settle(run, this.onAccepted as (v: unknown) => T, signal === NEVER_ABORTED ? this.onFailedShared : (error: unknown) => this.onFailed(error, signal));
  }

  /**
   * Outcomes are filed at the latest admission's time rather than read from the clock again: a bucket is a tenth of
   * the window, so the difference (at most the call's duration, and never later than now) does not matter, and the
   * success path saves a clock read.
   */
  private lastAdmittedAt = 0;
  private readonly onAccepted = (value: unknown): unknown => {
    this.window.record(true, false, this.lastAdmittedAt);
    return value;
  };
  private readonly onFailedShared = (error: unknown): never => this.onFailed(error, NEVER_ABORTED);

  private onFailed(error: unknown, signal: AbortSignal): never {
    this.recordFailure(error, signal);
    throw error;
  }

  private recordFailure(error: unknown, signal: AbortSignal): void {
    let failed: boolean;
    if (this.isFailure !== undefined) {
      try {
        failed = this.isFailure(error) === true;
      } catch {
        failed = true;
      }
    } else {
      // Neither an impatient caller nor a refusal inside this throttle says anything of the dependency.
      if ((signal !== NEVER_ABORTED && signal.aborted) || isRejectedError(error)) return;
      failed = true;
    }
    this.window.record(!failed, false, this.lastAdmittedAt);
  }

  stats(): AdaptiveThrottleStats {
    const now = this.clock.now();
    const requests = this.window.callsAt(now);
    return {
      name: this.name,
      ...this.t.snapshotCounts(),
      requests,
      accepts: requests - this.window.failureCount,
      rejectionProbability: this.probability(now),
      disposed: this.isDisposed,
    };
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.t.disposed(0);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Creates an adaptive throttle (Google SRE book client-side throttling): over the last `windowMs` it counts the calls
 * attempted and those the dependency accepted, and refuses a call locally (`THROTTLED`) with probability
 * max(0, (requests − K·accepts) / (requests + 1)), at most `maxRejectionProbability`, once the window holds
 * `minRequests`. Defaults: K = 2, a 10 s window in 10 buckets, at most 0.9, from 50 requests. It arms no timer (the window rotates lazily) and holds no permit.
 *
 * **At capacity** (the dependency refusing a share of calls), it sends about K times what is accepted and refuses the
 * rest at once, each refusal with `retryAfterMs` = one bucket (the time until the probability is re-weighed by a new
 * bucket). A success counts as accepted; an error as not accepted unless `isFailure` says otherwise; caller aborts
 * and inner sluice rejections are not counted.
 *
 * @throws {TypeError | RangeError} on an invalid or unknown option, naming it.
 * @example
 * ```ts
 * const guarded = pipeline(adaptiveThrottle({ k: 1.5 }), circuitBreaker(), timeout({ timeoutMs: 2000 }));
 * await guarded.execute(({ signal }) => fetch(url, { signal }));
 * ```
 */
export function adaptiveThrottle(options: AdaptiveThrottleOptions = {}): AdaptiveThrottle {
  return new AdaptiveThrottleImpl(options);
}
