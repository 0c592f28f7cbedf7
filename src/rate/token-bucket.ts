/**
 * Token bucket: admits bursts up to `capacity` and a sustained rate of `refillPerSecond` tokens.
 */
import { NOOP_PERMIT, type Permit } from '../core/permit.js';
import type { Limiter } from '../core/policy.js';
import { COMMON_KEYS, QUEUE_KEYS, QueueingLimiter, parseCommon, type CommonOptions, type QueueOptions, type QueueingStats } from '../core/limiter-base.js';
import type { LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { FifoQueue } from '../core/queue.js';
import { Alarm, type Waiter } from '../core/waiters.js';
import { METRIC } from '../metrics/metrics.js';
import { TOLERANCE, checkCapacity, checkRate, readyAt } from './float-time.js';

/** Options of {@link tokenBucket}. */
export interface TokenBucketOptions extends CommonOptions, QueueOptions {
  /**
   * Burst size: most tokens the bucket holds. In [1e-6, 1e15] (below 2^53, so integer costs are subtracted exactly).
   * Required.
   */
  capacity: number;
  /**
   * Tokens added per second. In [1e-6, 1e12]: from one token per ~11.6 days (below that a wait is no sensible timer,
   * and near 1e-306 the arithmetic overflows) to far more than one process can call. Required.
   */
  refillPerSecond: number;
  /** Tokens at creation, in [0, capacity]. Default: `capacity` (a full bucket). */
  initialTokens?: number;
}

/** Settings that {@link TokenBucket.configure} can change at run time. */
export interface TokenBucketConfig {
  /** New capacity, in [1e-6, 1e15]. */
  capacity?: number;
  /** New rate, per second, in [1e-6, 1e12]. */
  refillPerSecond?: number;
  /**
   * Tokens available now, in [0, capacity] (the new capacity when both are given): replaces what the bucket has
   * earned, for a quota someone else counts (a server's `RateLimit: r=...`). Default: keep the tokens earned so far.
   */
  tokens?: number;
}

/** Snapshot returned by {@link TokenBucket.stats}. */
export interface TokenBucketStats extends QueueingStats {
  /** Tokens available now (after refill), not counting tokens promised to waiters. */
  tokens: number;
  capacity: number;
  refillPerSecond: number;
  /** Sum of the costs of queued callers. */
  queuedCost: number;
}

/** A token bucket limiter. */
export interface TokenBucket extends Limiter {
  readonly events: QueueingLimiter<LimiterEvents>['events'];
  /**
   * Changes capacity, rate and/or the tokens available now. Tokens earned so far are accounted at the old rate first;
   * tokens above a smaller capacity are dropped; `tokens` replaces them. Waiters that can no longer be served within their `maxWaitMs` or deadline are refused
   * (`MAX_WAIT_EXCEEDED` / `DEADLINE_EXCEEDED`); waiters whose cost exceeds the new capacity are refused with
   * `RATE_LIMITED` and `retryAfterMs: Infinity`.
   * @throws {RangeError | TypeError} on invalid values or an unknown option name (the message names it).
   */
  configure(config: TokenBucketConfig): void;
  stats(): TokenBucketStats;
}

const KNOWN = v.keys(...COMMON_KEYS, ...QUEUE_KEYS, 'capacity', 'refillPerSecond', 'initialTokens');
const CONFIG_KNOWN = v.keys('capacity', 'refillPerSecond', 'tokens');

class TokenBucketImpl extends QueueingLimiter<LimiterEvents, FifoQueue<Waiter>> implements TokenBucket {
  protected readonly busyReason = 'RATE_LIMITED' as const;
  // Numeric state starts as a number, not as the class-field default `undefined`: a field that first holds
  // `undefined` gets V8's tagged representation, and then every write of a fraction allocates a heap number
  // (16 bytes per uncontended call, measured in bench/suites/rate.ts). The constructor sets the real values.
  private capacity = 0;
  private ratePerMs = 0;
  /** Tokens at time `last`. May dip to `-tol` (rounding), never lower. */
  private tokens = 0;
  /** Clock time `tokens` was brought up to date. State is an amount plus a time, never a due time (float-time.ts). */
  private last = 0;
  /** Rounding tolerance in tokens: TOLERANCE · capacity. */
  private tol = 0;
  private readonly alarm = new Alarm(this.clock, () => this.reschedule());

  constructor(options: TokenBucketOptions) {
    const o = v.optionsObject<TokenBucketOptions>('tokenBucket', options, KNOWN);
    if (o.capacity === undefined) throw new TypeError('tokenBucket: option "capacity" is required');
    if (o.refillPerSecond === undefined) throw new TypeError('tokenBucket: option "refillPerSecond" is required');
    // Validated before super(), which registers the bucket with its metrics sink.
    const capacity = checkCapacity('tokenBucket', o.capacity);
    const ratePerMs = checkRate('tokenBucket', 'refillPerSecond', o.refillPerSecond) / 1000;
    const tokens = v.opt(o.initialTokens, capacity, (x) => v.between('tokenBucket', 'initialTokens', x, 0, capacity));
    super('tokenBucket', parseCommon('tokenBucket', o), o, { maxQueue: 0, maxWaitMs: Infinity }, new FifoQueue<Waiter>());
    this.capacity = capacity;
    this.ratePerMs = ratePerMs;
    this.tol = TOLERANCE * capacity;
    this.tokens = tokens;
    this.last = this.clock.now();
    this.t.gauge(METRIC.tokens, {}, () => this.currentTokens());
  }

  private refill(now: number): void {
    if (now > this.last) {
      const t = this.tokens + (now - this.last) * this.ratePerMs;
      this.tokens = t < this.capacity ? t : this.capacity;
      this.last = now;
    }
  }

  private currentTokens(): number {
    this.refill(this.clock.now());
    return this.tokens;
  }

  /**
   * Whether `cost` tokens are there (after `refill`). A shortfall within rounding (`tol`, relative to capacity) counts
   * as none. The tolerance does not grow with the clock's values or the rate: a shortfall too small for the clock to
   * resolve is waited for until the next representable instant (`readyAt`), never admitted early.
   */
  private fits(cost: number): boolean {
    return cost - this.tokens <= this.tol;
  }

  /** When `need` tokens (beyond those there now) will have been earned; `need` may exceed capacity (a queue). */
  private readyAt(need: number): number {
    return readyAt(need - this.tokens, this.last, this.ratePerMs);
  }

  protected take(cost: number, now: number): Permit | undefined {
    this.refill(now);
    if (this.fits(cost)) {
      this.tokens -= cost;
      return NOOP_PERMIT;
    }
    return undefined;
  }

  protected estimateWaitMs(cost: number, now: number): number {
    this.refill(now);
    const need = this.queue.cost + cost;
    if (need - this.tokens <= this.tol) return 0;
    const wait = this.readyAt(need) - now;
    return wait > 0 ? wait : 0;
  }

  protected override checkCost(cost: number): void {
    if (cost > this.capacity) {
      throw new RangeError(`${this.name}: cost ${cost} exceeds capacity ${this.capacity}; such a call could never be admitted`);
    }
  }

  protected override onDispose(): void {
    this.alarm.clear();
  }

  protected reschedule(now = this.clock.now()): void {
    this.refill(now);
    let head = this.queue.head;
    while (head !== undefined && this.fits(head.cost)) {
      this.tokens -= head.cost;
      this.grant(head, NOOP_PERMIT, now);
      head = this.queue.head;
    }
    // readyAt is strictly later than now when the head does not fit: never a zero-delay timer.
    if (head === undefined) this.alarm.clear();
    else this.alarm.set(this.readyAt(head.cost));
  }

  configure(config: TokenBucketConfig): void {
    const c = v.optionsObject<TokenBucketConfig>('tokenBucket.configure', config, CONFIG_KNOWN);
    const capacity = v.opt(c.capacity, this.capacity, (x) => checkCapacity('tokenBucket.configure', x));
    const ratePerMs = v.opt(c.refillPerSecond, undefined, (x) => checkRate('tokenBucket.configure', 'refillPerSecond', x) / 1000) ?? this.ratePerMs;
    const tokens = v.opt(c.tokens, undefined, (x) => v.between('tokenBucket.configure', 'tokens', x, 0, capacity));
    const now = this.clock.now();
    this.refill(now); // earn at the old rate up to now
    this.capacity = capacity;
    this.ratePerMs = ratePerMs;
    this.tol = TOLERANCE * capacity;
    if (tokens !== undefined) this.tokens = tokens;
    else if (this.tokens > capacity) this.tokens = capacity;
    // Re-check every waiter against its bounds under the new schedule, in queue order.
    let ahead = 0;
    for (const w of this.queue) {
      if (w.cost > capacity) {
        this.evict(w, 'RATE_LIMITED', Infinity);
        continue;
      }
      const readyAt = Math.max(now, this.readyAt(ahead + w.cost));
      if (readyAt - w.enqueuedAt > this.maxWaitMs) this.evict(w, 'MAX_WAIT_EXCEEDED', readyAt - now);
      else if (w.deadline !== undefined && readyAt >= w.deadline) this.evict(w, 'DEADLINE_EXCEEDED', readyAt - now);
      else ahead += w.cost;
    }
    this.reschedule();
  }

  stats(): TokenBucketStats {
    return {
      ...this.baseStats(),
      tokens: this.currentTokens(),
      capacity: this.capacity,
      refillPerSecond: this.ratePerMs * 1000,
      queuedCost: this.queue.cost,
    };
  }
}

/**
 * Creates a token bucket. A call of cost `k` is admitted when `k` tokens are available; tokens refill continuously
 * at `refillPerSecond` up to `capacity`. Over any window of `w` seconds it admits at most
 * `capacity + refillPerSecond · w` tokens' worth of calls, on a clock of any origin (the only slack is float rounding,
 * at most 1e-12 · capacity tokens; a shortfall too small for the clock to resolve is waited for, never admitted).
 *
 * **At capacity:** `tryAcquire()` refuses with `RATE_LIMITED` and the exact `retryAfterMs` after which the same call
 * would be admitted if nothing else takes tokens. `acquire()`/`execute()` wait in a FIFO queue when `maxQueue > 0`
 * (default 0: refuse at once); a call whose wait would exceed `maxWaitMs` (default Infinity) or pass its deadline is
 * refused at once (`MAX_WAIT_EXCEEDED`, `DEADLINE_EXCEEDED`), and a full queue refuses with `QUEUE_FULL`. Waiting
 * calls never pass one another, and the bucket arms at most one timer however many wait. An aborted waiter leaves the
 * queue at once, rejecting with `signal.reason`, and its reservation goes to the next waiter.
 *
 * @throws {TypeError | RangeError} when an option is missing, out of range or unknown (the message names it and, for a
 * misspelt name, the closest known one).
 * @example
 * ```ts
 * const bucket = tokenBucket({ capacity: 20, refillPerSecond: 10, maxQueue: 100, maxWaitMs: 2_000 });
 * const res = await bucket.execute(({ signal }) => fetch('https://api.example.com', { signal }));
 * ```
 */
export function tokenBucket(options: TokenBucketOptions): TokenBucket {
  return new TokenBucketImpl(options);
}
