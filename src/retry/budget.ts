/**
 * Retry budgets: a limit on retries across many calls, so that a failing dependency sees at most a bounded share of
 * extra load, whatever each call's `maxAttempts`. Pure, synchronous and timer-free: time comes in as an argument
 * (the retry policy passes its clock, which a budget reads only if it needs the time, so a time-free budget costs no
 * clock read per call), so a budget can be tested by feeding it calls and shared by any number of retry policies on
 * one clock.
 *
 * Two models:
 * - {@link ratioBudget}: retries ≤ `ratio` × recent requests + `minPerSecond` (Finagle `RetryBudget`, tower
 *   `TpsBudget`, Envoy `retry_budget`, the Google SRE book's per-client 10 %).
 * - {@link tokenBudget}: a retry costs tokens, a success refunds (AWS SDK standard-mode retry quota; Marc Brooker's
 *   "token bucket for retries").
 */
import { isTimeoutError } from '../core/errors.js';
import * as v from '../core/validate.js';

/** What every budget reports. */
export interface RetryBudgetStats {
  /** `'ratio'` or `'token'` for the built-in budgets. */
  readonly kind: string;
  /** Retries that could be granted now, back to back (fractional when partly funded). */
  readonly available: number;
  /** First attempts recorded. */
  readonly requests: number;
  /** Retries granted and not refunded (a retry cancelled during its backoff is refunded). */
  readonly retriesGranted: number;
  /** Retries refused because the budget was empty. */
  readonly retriesRefused: number;
}

/**
 * Where a budget reads the time: the retry policy's clock (any `{ now() }` in milliseconds). A budget reads it only
 * when it needs the time.
 */
export interface BudgetClock {
  now(): number;
}

/**
 * A retry budget. Retry policies call it; users create one with {@link ratioBudget} or {@link tokenBudget} and pass
 * it to as many policies as should share it (on one clock). A time earlier than one already seen counts as that time.
 */
export interface RetryBudget {
  /** `'ratio'`, `'token'`, or a custom name. */
  readonly kind: string;
  /** Records the first attempt of a call (a request). */
  recordRequest(clock: BudgetClock): void;
  /**
   * Asks for one retry of a call whose last attempt failed with `cause` (an error, or a result to retry). Withdraws
   * and returns the cost (> 0) when allowed; returns 0, withdrawing nothing, when the budget is empty.
   */
  tryRetry(clock: BudgetClock, cause: unknown): number;
  /**
   * Records that a call succeeded. `retryCost` is what its last retry withdrew (the value `tryRetry` returned), or 0
   * when it succeeded at its first attempt.
   */
  recordSuccess(clock: BudgetClock, retryCost: number): void;
  /**
   * Optional: gives back `cost` (a value `tryRetry` returned) for a retry that was granted but never started (the
   * call was aborted, or the policy disposed, during the backoff), so the budget is charged exactly once per retry
   * that runs. The built-in budgets implement it; a budget without it keeps the charge.
   */
  refundRetry?(clock: BudgetClock, cost: number): void;
  /** A snapshot at `clock.now()`. */
  stats(clock: BudgetClock): RetryBudgetStats;
}

/** The counts every built-in budget keeps for {@link RetryBudgetStats}. */
abstract class BudgetCounts {
  protected requests = 0;
  protected granted = 0;
  protected refused = 0;

  protected counts(available: number): Omit<RetryBudgetStats, 'kind'> {
    return { available, requests: this.requests, retriesGranted: this.granted, retriesRefused: this.refused };
  }
}

// ---- ratio budget -------------------------------------------------------------------------------------------------

/** Options of {@link ratioBudget}. */
export interface RatioBudgetOptions {
  /**
   * Retries allowed per request, as a fraction (0.1 = one retry per ten requests). Finite, ≥ 0. Default 0.1, the
   * Google SRE book's per-client retry ratio (Finagle and tower default to 0.2).
   */
  ratio?: number;
  /**
   * Retries allowed per second whatever the traffic, so a client with few requests can still retry. Finite, ≥ 0.
   * Default 10 (Finagle `minRetriesPerSec`, tower `min_per_sec`).
   */
  minPerSecond?: number;
  /**
   * How long a request's deposit stays spendable, ms; also sets the floor's reserve (`minPerSecond · windowMs/1000`
   * retries). Finite, > 0. Default 10 000 (Finagle and tower `ttl` 10 s).
   */
  windowMs?: number;
}

/** Snapshot of a {@link ratioBudget}. */
export interface RatioBudgetStats extends RetryBudgetStats {
  readonly kind: 'ratio';
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
  /** Retries funded by requests of the last window, not yet spent. */
  readonly deposits: number;
  /** Retries left in the floor's reserve (at most `minPerSecond · windowMs / 1000`). */
  readonly reserve: number;
}

/** A ratio budget. */
export interface RatioBudget extends RetryBudget {
  readonly kind: 'ratio';
  refundRetry(clock: BudgetClock, cost: number): void;
  stats(clock: BudgetClock): RatioBudgetStats;
}

/** Deposits live in this many time slices; a deposit expires between `(SLICES−1)/SLICES` and 1 window after it. */
const SLICES = 10;
/** Float tolerance, in retries, for "one whole retry is available". */
const EPS = 1e-9;

class RatioBudgetImpl extends BudgetCounts implements RatioBudget {
  readonly kind = 'ratio' as const;
  private readonly sliceMs: number;
  private readonly reserveCap: number;
  private readonly perMs: number;
  /** Unspent deposits per slice, indexed by absolute slice number mod SLICES. */
  private readonly slices = new Float64Array(SLICES);
  private newest = -Infinity;
  private reserve: number;
  private last = -Infinity;

  constructor(
    readonly ratio: number,
    readonly minPerSecond: number,
    readonly windowMs: number,
  ) {
    super();
    this.sliceMs = windowMs / SLICES;
    this.reserveCap = (minPerSecond * windowMs) / 1000;
    this.perMs = minPerSecond / 1000;
    this.reserve = this.reserveCap;
  }

  /** Brings slices and reserve up to `now`; returns the current absolute slice number. */
  private advance(nowMs: number): number {
    if (nowMs > this.last) {
      if (this.last !== -Infinity) {
        const r = this.reserve + (nowMs - this.last) * this.perMs;
        this.reserve = r < this.reserveCap ? r : this.reserveCap;
      }
      this.last = nowMs;
    }
    const slice = Math.floor(this.last / this.sliceMs);
    if (slice > this.newest) {
      // Expire every slice that left the window (all of them after a long idle spell).
      const gap = this.newest === -Infinity ? SLICES : Math.min(SLICES, slice - this.newest);
      for (let i = 0; i < gap; i++) this.slices[mod(slice - i)] = 0;
      this.newest = slice;
    }
    return slice;
  }

  private deposited(): number {
    let sum = 0;
    for (let i = 0; i < SLICES; i++) sum += this.slices[i]!;
    return sum;
  }

  recordRequest(clock: BudgetClock): void {
    const slice = this.advance(clock.now());
    this.requests++;
    if (this.ratio > 0) this.slices[mod(slice)]! += this.ratio;
  }

  tryRetry(clock: BudgetClock, _cause: unknown): number {
    const slice = this.advance(clock.now());
    if (this.deposited() + this.reserve < 1 - EPS) {
      this.refused++;
      return 0;
    }
    // Spend the oldest deposits first (they expire first), then the reserve. Whatever the tolerance let through
    // leaves the reserve slightly negative rather than being forgiven, so no retry is ever created from rounding.
    let need = 1;
    for (let i = SLICES - 1; i >= 0 && need > 0; i--) {
      const k = mod(slice - i);
      const have = this.slices[k]!;
      if (have <= 0) continue;
      const take = have < need ? have : need;
      this.slices[k] = have - take;
      need -= take;
    }
    this.reserve -= need;
    this.granted++;
    return 1;
  }

  recordSuccess(_clock: BudgetClock, _retryCost: number): void {}

  refundRetry(clock: BudgetClock, cost: number): void {
    if (!(cost > 0)) return;
    const slice = this.advance(clock.now());
    // Back into the reserve up to its cap, the rest into the oldest live slice (it expires first). The grant is
    // undone, so every bound that counts granted retries still holds.
    const room = this.reserveCap - this.reserve;
    const toReserve = room > 0 ? (room < cost ? room : cost) : 0;
    this.reserve += toReserve;
    if (cost > toReserve) this.slices[mod(slice - (SLICES - 1))]! += cost - toReserve;
    this.granted--;
  }

  stats(clock: BudgetClock): RatioBudgetStats {
    this.advance(clock.now());
    const deposits = this.deposited();
    return {
      kind: 'ratio',
      ...this.counts(deposits + this.reserve),
      ratio: this.ratio,
      minPerSecond: this.minPerSecond,
      windowMs: this.windowMs,
      deposits,
      reserve: this.reserve,
    };
  }
}

const RATIO_KEYS = v.keys('ratio', 'minPerSecond', 'windowMs');
const TOKEN_KEYS = v.keys('capacity', 'initialTokens', 'retryCost', 'timeoutCost', 'successRefund', 'refundRetryCost', 'isTimeout');

function mod(slice: number): number {
  return ((slice % SLICES) + SLICES) % SLICES;
}

/**
 * A ratio retry budget (Finagle `RetryBudget`, tower `TpsBudget`, Envoy `retry_budget`): each request deposits
 * `ratio` of a retry, spendable for `windowMs`; each retry spends one. A floor of `minPerSecond` retries per second
 * comes from a reserve holding at most `minPerSecond · windowMs / 1000` retries, full at creation. Hence, from
 * creation to any time `t` (seconds):
 *
 * `retries ≤ ratio · requests + minPerSecond · t + minPerSecond · windowMs / 1000`
 *
 * and at any moment at most `ratio` × the last window's requests plus the reserve. Defaults: `ratio` 0.1 (SRE book),
 * `minPerSecond` 10, `windowMs` 10 000 (Finagle / tower), so the initial allowance is 100 retries.
 *
 * **When empty:** `tryRetry` returns 0 and the retry policy gives up with the last error (event `budgetExhausted`).
 * Share one budget between every retry policy that calls the same dependency.
 *
 * @throws {TypeError | RangeError} when an option is invalid or unknown (a misspelt name is refused, naming the closest known one).
 * @example
 * ```ts
 * const budget = ratioBudget({ ratio: 0.2, minPerSecond: 10 });
 * const users = retry({ budget }), orders = retry({ budget }); // one budget for one dependency
 * ```
 */
export function ratioBudget(options?: RatioBudgetOptions): RatioBudget {
  const owner = 'ratioBudget';
  const o = v.optionsObject<RatioBudgetOptions>(owner, options, RATIO_KEYS);
  const ratio = v.opt(o.ratio, 0.1, (x) => v.nonNegative(owner, 'ratio', x));
  const minPerSecond = v.opt(o.minPerSecond, 10, (x) => v.nonNegative(owner, 'minPerSecond', x));
  const windowMs = v.opt(o.windowMs, 10_000, (x) => v.positive(owner, 'windowMs', x));
  return new RatioBudgetImpl(ratio, minPerSecond, windowMs);
}

// ---- token budget -------------------------------------------------------------------------------------------------

/** Options of {@link tokenBudget}. */
export interface TokenBudgetOptions {
  /** Most tokens the budget holds. Finite, > 0. Default 500 (AWS SDK retry quota). */
  capacity?: number;
  /** Tokens at creation, in [0, capacity]. Default: `capacity`. */
  initialTokens?: number;
  /** Tokens a retry costs. Finite, > 0. Default 5 (AWS SDK standard mode). */
  retryCost?: number;
  /** Tokens a retry after a timeout costs. Finite, > 0. Default 10 (AWS SDK standard mode). */
  timeoutCost?: number;
  /** Tokens a call that succeeds at its first attempt refunds. Finite, ≥ 0. Default 1 (AWS SDK standard mode). */
  successRefund?: number;
  /**
   * Whether a call that succeeds after retrying gets its last retry's cost back (AWS SDK standard mode) instead of
   * `successRefund`. Default true.
   */
  refundRetryCost?: boolean;
  /**
   * Which failures count as timeouts (cost `timeoutCost`). Default: sluice's `isTimeoutError`. If it throws, the
   * failure is not a timeout.
   */
  isTimeout?: (cause: unknown) => boolean;
}

/** Snapshot of a {@link tokenBudget}. */
export interface TokenBudgetStats extends RetryBudgetStats {
  readonly kind: 'token';
  /** Tokens now. */
  readonly tokens: number;
  readonly capacity: number;
  readonly retryCost: number;
  readonly timeoutCost: number;
}

/** A token budget. */
export interface TokenBudget extends RetryBudget {
  readonly kind: 'token';
  refundRetry(clock: BudgetClock, cost: number): void;
  stats(clock: BudgetClock): TokenBudgetStats;
}

class TokenBudgetImpl extends BudgetCounts implements TokenBudget {
  readonly kind = 'token' as const;

  constructor(
    private tokens: number,
    readonly capacity: number,
    readonly retryCost: number,
    readonly timeoutCost: number,
    readonly successRefund: number,
    readonly refundRetryCost: boolean,
    private readonly isTimeout: (cause: unknown) => boolean,
  ) {
    super();
  }

  recordRequest(_clock: BudgetClock): void {
    this.requests++;
  }

  tryRetry(_clock: BudgetClock, cause: unknown): number {
    const cost = this.timedOut(cause) ? this.timeoutCost : this.retryCost;
    if (this.tokens < cost) {
      this.refused++;
      return 0;
    }
    this.tokens -= cost;
    this.granted++;
    return cost;
  }

  /** Whether `cause` is a timeout; a classifier that throws (or a getter of `cause` that does) says no. */
  private timedOut(cause: unknown): boolean {
    try {
      return Boolean(this.isTimeout(cause));
    } catch {
      return false;
    }
  }

  refundRetry(_clock: BudgetClock, cost: number): void {
    if (!(cost > 0)) return;
    const t = this.tokens + cost;
    this.tokens = t < this.capacity ? t : this.capacity;
    this.granted--;
  }

  recordSuccess(_clock: BudgetClock, retryCost: number): void {
    const refund = retryCost > 0 && this.refundRetryCost ? retryCost : this.successRefund;
    const t = this.tokens + refund;
    this.tokens = t < this.capacity ? t : this.capacity;
  }

  stats(_clock: BudgetClock): TokenBudgetStats {
    return {
      kind: 'token',
      ...this.counts(this.tokens / this.retryCost),
      tokens: this.tokens,
      capacity: this.capacity,
      retryCost: this.retryCost,
      timeoutCost: this.timeoutCost,
    };
  }
}

/**
 * A token retry budget (AWS SDK standard-mode retry quota): a retry withdraws `retryCost` tokens (`timeoutCost`
 * after a timeout); a call that succeeds at once refunds `successRefund`, and one that succeeds after retrying gets
 * its last retry's cost back. Defaults 500 / 5 / 10 / +1 (botocore `quota.py`, aws-sdk-go-v2, `@smithy/util-retry`):
 * 100 retries from a full quota, then about one retry per five successes. With `{ capacity: 10, retryCost: 1,
 * timeoutCost: 1, successRefund: 0.1, refundRetryCost: false }` it is Marc Brooker's adaptive retry: like N retries
 * below a 10 % failure rate, like "0.1 retries" above it.
 *
 * **When empty** (fewer tokens than the retry costs): `tryRetry` returns 0 and the retry policy gives up with the
 * last error (event `budgetExhausted`). Tokens never exceed `capacity`. Time plays no part, so it never reads the
 * clock. This is {@link retry}'s default budget (one per policy unless you share one).
 *
 * @throws {TypeError | RangeError} when an option is invalid or unknown (a misspelt name is refused, naming the closest known one).
 * @example
 * ```ts
 * const budget = tokenBudget(); // AWS standard: 500 tokens, 5 per retry, 10 per timeout retry, +1 per success
 * const s3 = retry({ budget, maxAttempts: 3 });
 * ```
 */
export function tokenBudget(options?: TokenBudgetOptions): TokenBudget {
  const owner = 'tokenBudget';
  const o = v.optionsObject<TokenBudgetOptions>(owner, options, TOKEN_KEYS);
  const capacity = v.opt(o.capacity, 500, (x) => v.positive(owner, 'capacity', x));
  const initial = v.opt(o.initialTokens, capacity, (x) => v.between(owner, 'initialTokens', x, 0, capacity));
  const retryCost = v.opt(o.retryCost, 5, (x) => v.positive(owner, 'retryCost', x));
  const timeoutCost = v.opt(o.timeoutCost, 10, (x) => v.positive(owner, 'timeoutCost', x));
  const successRefund = v.opt(o.successRefund, 1, (x) => v.nonNegative(owner, 'successRefund', x));
  const refundRetryCost = v.opt(o.refundRetryCost, true, (x) => v.bool(owner, 'refundRetryCost', x));
  const isTimeout = v.opt(o.isTimeout, isTimeoutError, (x) => v.func<(cause: unknown) => boolean>(owner, 'isTimeout', x));
  return new TokenBudgetImpl(initial, capacity, retryCost, timeoutCost, successRefund, refundRetryCost, isTimeout);
}
