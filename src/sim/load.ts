/**
 * The load model: open-loop arrival processes (Poisson with scheduled rate changes, or a two-state Markov-modulated
 * Poisson process for bursts), and what each arrival carries (tenant, priority, cost, deadline, client retries).
 */
import type { RandomSource } from '../core/random.js';
import * as v from '../core/validate.js';

/** From `atMs` on, arrivals come at `perSecond` (until the next step). */
export interface RateStep {
  /** Virtual ms. */
  atMs: number;
  /** Mean arrival rate, per second, ≥ 0. */
  perSecond: number;
}

/**
 * A two-state MMPP: `lowPerSecond` for a sojourn of mean `meanLowMs`, then `highPerSecond` for a sojourn of mean
 * `meanHighMs`, and so on. Sojourns are exponential, or fixed when `periodic` is true. Starts in the low state.
 */
export interface BurstOptions {
  /** Poisson rate in the low state, per second, ≥ 0. */
  lowPerSecond: number;
  /** Poisson rate in the high (burst) state, per second, ≥ 0. */
  highPerSecond: number;
  /** Mean time in the low state, ms, > 0. */
  meanLowMs: number;
  /** Mean time in the high state, ms, > 0. */
  meanHighMs: number;
  /** Fixed sojourns instead of exponential ones. Default false. */
  periodic?: boolean;
}

/** A client-side retry loop (not a sluice policy): each attempt is a fresh `execute()` with its own deadline. */
export interface ClientRetry {
  /** Attempts per request, including the first. Integer ≥ 1. */
  maxAttempts: number;
  /** Delay before attempt `attempt` (2, 3, ...), ms. Default: no delay. */
  backoffMs?: (attempt: number, random: RandomSource) => number;
  /** Also retry local rejections (`RejectedError`). Default false: only timeouts and downstream errors. */
  retryRejected?: boolean;
}

/** One stream of requests. */
export interface LoadSource {
  /** Label in reports. Default: the tenant, else `source<i>`. */
  name?: string;
  /** Tenant key passed to `execute()`. Default none. */
  tenant?: string;
  /** Priority passed to `execute()`; also the class key in reports. Default 0. */
  priority?: number;
  /** Cost passed to `execute()`. Default 1. */
  cost?: number;
  /** Constant Poisson rate, per second. Used when neither `schedule` nor `bursts` is given. */
  perSecond?: number;
  /** Piecewise-constant Poisson rate. Before the first step the rate is `perSecond` (default 0). */
  schedule?: readonly RateStep[];
  /** Bursty MMPP-2 arrivals instead of a Poisson rate. */
  bursts?: BurstOptions;
  /** Caller deadline per attempt, ms after the attempt starts. Default: the simulation's `deadlineMs`. */
  deadlineMs?: number;
  /** Client-side retries. Default: none. */
  retry?: ClientRetry;
}

/**
 * Builds rate steps for a linear ramp from `fromPerSecond` to `toPerSecond` starting at `startMs` and lasting
 * `durationMs`, in steps of `stepMs` (default 250 ms). The last step holds `toPerSecond`.
 * @throws {RangeError} on bad values.
 * @example
 * ```ts
 * const schedule = [...ramp(200, 3000, 10_000, 20_000), { atMs: 90_000, perSecond: 0 }];
 * ```
 */
export function ramp(fromPerSecond: number, toPerSecond: number, startMs: number, durationMs: number, stepMs = 250): RateStep[] {
  v.nonNegative('ramp', 'fromPerSecond', fromPerSecond);
  v.nonNegative('ramp', 'toPerSecond', toPerSecond);
  v.nonNegative('ramp', 'startMs', startMs);
  v.positive('ramp', 'durationMs', durationMs);
  v.positive('ramp', 'stepMs', stepMs);
  const steps: RateStep[] = [];
  const n = Math.max(1, Math.round(durationMs / stepMs));
  for (let i = 0; i < n; i++) {
    // Each step holds the ramp's value at the middle of the step, so the mean rate is exact.
    steps.push({ atMs: startMs + (i * durationMs) / n, perSecond: fromPerSecond + ((toPerSecond - fromPerSecond) * (i + 0.5)) / n });
  }
  steps.push({ atMs: startMs + durationMs, perSecond: toPerSecond });
  return steps;
}

/** @internal a validated source. */
export interface ParsedSource {
  name: string;
  tenant: string | undefined;
  priority: number;
  cost: number;
  initialPerSecond: number;
  steps: RateStep[];
  bursts: Required<BurstOptions> | undefined;
  deadlineMs: number;
  retry: { maxAttempts: number; backoffMs: ((attempt: number, random: RandomSource) => number) | undefined; retryRejected: boolean };
}

const SOURCE_KEYS = v.keys('name', 'tenant', 'priority', 'cost', 'perSecond', 'schedule', 'bursts', 'deadlineMs', 'retry');
const STEP_KEYS = v.keys('atMs', 'perSecond');
const BURST_KEYS = v.keys('lowPerSecond', 'highPerSecond', 'meanLowMs', 'meanHighMs', 'periodic');
const RETRY_KEYS = v.keys('maxAttempts', 'backoffMs', 'retryRejected');

/** @internal */
export function parseSource(s: LoadSource, i: number, defaultDeadlineMs: number): ParsedSource {
  const owner = `simulate: load[${i}]`;
  const o = v.optionsObject<LoadSource>(owner, s, SOURCE_KEYS);
  const tenant = o.tenant === undefined ? undefined : v.name(owner, 'tenant', o.tenant);
  const steps = (o.schedule ?? []).map((st, k) => {
    v.optionsObject<RateStep>(`${owner}: schedule[${k}]`, st, STEP_KEYS);
    return {
      atMs: v.nonNegative(owner, `schedule[${k}].atMs`, st.atMs),
      perSecond: v.nonNegative(owner, `schedule[${k}].perSecond`, st.perSecond),
    };
  });
  for (let k = 1; k < steps.length; k++) {
    if (steps[k]!.atMs < steps[k - 1]!.atMs) throw new RangeError(`${owner}: option "schedule" must be sorted by atMs, got ${steps[k]!.atMs} after ${steps[k - 1]!.atMs}`);
  }
  let bursts: Required<BurstOptions> | undefined;
  if (o.bursts !== undefined) {
    const b = v.optionsObject<BurstOptions>(`${owner}: bursts`, o.bursts, BURST_KEYS);
    bursts = {
      lowPerSecond: v.nonNegative(owner, 'bursts.lowPerSecond', b.lowPerSecond),
      highPerSecond: v.nonNegative(owner, 'bursts.highPerSecond', b.highPerSecond),
      meanLowMs: v.positive(owner, 'bursts.meanLowMs', b.meanLowMs),
      meanHighMs: v.positive(owner, 'bursts.meanHighMs', b.meanHighMs),
      periodic: v.opt(b.periodic, false, (x) => v.bool(owner, 'bursts.periodic', x)),
    };
  }
  const r = o.retry === undefined ? undefined : v.optionsObject<ClientRetry>(`${owner}: retry`, o.retry, RETRY_KEYS);
  return {
    name: o.name ?? tenant ?? `source${i}`,
    tenant,
    priority: v.opt(o.priority, 0, (x) => v.between(owner, 'priority', x, -Number.MAX_VALUE, Number.MAX_VALUE)),
    cost: v.opt(o.cost, 1, (x) => v.positive(owner, 'cost', x)),
    initialPerSecond: v.opt(o.perSecond, 0, (x) => v.nonNegative(owner, 'perSecond', x)),
    steps,
    bursts,
    deadlineMs: v.opt(o.deadlineMs, defaultDeadlineMs, (x) => v.nonNegativeOrInfinity(owner, 'deadlineMs', x)),
    retry: {
      maxAttempts: r === undefined ? 1 : v.integer(owner, 'retry.maxAttempts', r.maxAttempts, 1),
      backoffMs: r?.backoffMs === undefined ? undefined : v.func<(attempt: number, random: RandomSource) => number>(owner, 'retry.backoffMs', r.backoffMs),
      retryRejected: v.opt(r?.retryRejected, false, (x) => v.bool(owner, 'retry.retryRejected', x)),
    },
  };
}

/**
 * @internal Generates the arrival times of one source. Poisson arrivals are memoryless, so at a rate change the
 * pending draw is discarded and redrawn at the new rate.
 */
export class ArrivalProcess {
  private rate: number;
  private stepIndex = 0;
  private high = false;
  private nextChange: number;

  constructor(
    private readonly src: ParsedSource,
    private readonly random: RandomSource,
  ) {
    if (src.bursts !== undefined) {
      this.rate = src.bursts.lowPerSecond;
      this.nextChange = this.sojourn(false, 0);
    } else {
      this.rate = src.initialPerSecond;
      this.nextChange = src.steps.length > 0 ? src.steps[0]!.atMs : Infinity;
    }
  }

  /** Whether the process is in its high (burst) state; always false for Poisson sources. */
  get bursting(): boolean {
    return this.high;
  }

  private sojourn(high: boolean, from: number): number {
    const b = this.src.bursts!;
    const mean = high ? b.meanHighMs : b.meanLowMs;
    return from + (b.periodic ? mean : -mean * Math.log(1 - this.random()));
  }

  private applyChange(): void {
    const at = this.nextChange;
    if (this.src.bursts !== undefined) {
      this.high = !this.high;
      this.rate = this.high ? this.src.bursts.highPerSecond : this.src.bursts.lowPerSecond;
      this.nextChange = this.sojourn(this.high, at);
      return;
    }
    const steps = this.src.steps;
    // Apply every step due at this instant (several may share a time).
    while (this.stepIndex < steps.length && steps[this.stepIndex]!.atMs <= at) this.rate = steps[this.stepIndex++]!.perSecond;
    this.nextChange = this.stepIndex < steps.length ? steps[this.stepIndex]!.atMs : Infinity;
  }

  /** The first arrival strictly after `now`, or Infinity when the rate stays 0 for ever. */
  next(now: number): number {
    let t = now;
    for (;;) {
      if (this.rate > 0) {
        const gap = (-1000 * Math.log(1 - this.random())) / this.rate;
        if (t + gap < this.nextChange) return t + gap;
      }
      if (this.nextChange === Infinity) return Infinity;
      t = this.nextChange;
      this.applyChange();
    }
  }

  /** Mean rate at virtual time `t` for a Poisson schedule (the low rate for bursts), per second. */
  static rateAt(src: ParsedSource, t: number): number {
    if (src.bursts !== undefined) return src.bursts.lowPerSecond;
    let r = src.initialPerSecond;
    for (const s of src.steps) if (s.atMs <= t) r = s.perSecond;
    return r;
  }
}
