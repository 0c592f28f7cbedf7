/**
 * A token bucket whose state lives in Redis, shared by every process that names the same `id`: one atomic GCRA
 * script per decision, on the server's clock.
 */
import type { Context } from '../core/context.js';
import { NOOP_PERMIT } from '../core/permit.js';
import type { Limiter } from '../core/policy.js';
import * as v from '../core/validate.js';
import { checkCapacity, checkRate } from '../rate/float-time.js';
import { tokenBucket } from '../rate/token-bucket.js';
import { GCRA } from './scripts.js';
import { StoreCallError } from './store.js';
import { STORE_KEYS, StoreLimiter, Subject, type Decision, type SharedLimiter, type StoreLimiterOptions, type StoreLimiterStats } from './store-limiter.js';

/** Options of {@link redisTokenBucket}. */
export interface RedisTokenBucketOptions extends StoreLimiterOptions {
  /** Burst size: most tokens the bucket holds, for all processes together. In [1e-6, 1e15]. Required. */
  capacity: number;
  /**
   * Tokens added per second, for all processes together. In [1e-6, 1e9], and with `capacity / refillPerSecond` (the
   * time to refill an empty bucket) at most 1e9 s: Redis keeps the bucket's state in whole nanoseconds. Required.
   */
  refillPerSecond: number;
  /**
   * Tokens to take from Redis at a time, in [1, capacity]: a call that finds no leased tokens left takes up to `batch`
   * (as many whole tokens as the bucket has, at least its cost) and leaves the rest for this process's next calls,
   * saving their round trips. The price: tokens leased but not yet used are spent later than Redis counted them, so
   * over any window the processes together may admit up to `instances × (batch − 1)` tokens more than
   * `capacity + refillPerSecond · window`. Default 1 (no batching: exact).
   */
  batch?: number;
  /** Leased tokens unused after this long, ms, are dropped (so a lease cannot be spent long after it was taken). > 0. Default 1000. */
  batchTtlMs?: number;
  /**
   * Whether a refusal is remembered locally, so that the same subject's calls are refused without a round trip until
   * the bucket can have refilled enough for them (computed from the tokens Redis reported and the rate: never longer
   * than Redis would refuse). Default true.
   */
  cacheRefusals?: boolean;
}

/** Snapshot returned by {@link RedisTokenBucket.stats}. */
export interface RedisTokenBucketStats extends StoreLimiterStats {
  capacity: number;
  refillPerSecond: number;
  batch: number;
  /** Tokens leased from Redis and not yet used, over every subject. */
  leasedTokens: number;
}

/** A token bucket shared through Redis. */
export interface RedisTokenBucket extends SharedLimiter {
  stats(): RedisTokenBucketStats;
}

/** A subject's local state: the last refusal, and tokens leased by batching. */
class TokenSubject extends Subject {
  /** Tokens Redis reported available at the last refusal, and the local time the request was sent (NaN: none). */
  blockedTokens = 0;
  blockedAt = NaN;
  /** Tokens leased and not yet used, and the local time they lapse. */
  leased = 0;
  leaseEnds = 0;
  /** The script call of a unit-cost call, made on first use (see `commandFor`). */
  unitCommand: string[] | undefined = undefined;
}

const KNOWN = v.keys(...STORE_KEYS, 'capacity', 'refillPerSecond', 'batch', 'batchTtlMs', 'cacheRefusals');
const OWNER = 'redisTokenBucket';

class RedisTokenBucketImpl extends StoreLimiter<TokenSubject> implements RedisTokenBucket {
  protected readonly busyReason = 'RATE_LIMITED' as const;
  private readonly capacity: number;
  private readonly ratePerMs: number;
  private readonly batch: number;
  private readonly batchTtlMs: number;
  private readonly cacheRefusals: boolean;
  /** The script's arguments that never change: µs per token, capacity. */
  private readonly intervalUs: string;
  private readonly capacityArg: string;

  constructor(options: RedisTokenBucketOptions) {
    const o = v.optionsObject<RedisTokenBucketOptions>(OWNER, options, KNOWN);
    if (o.capacity === undefined) throw new TypeError(`${OWNER}: option "capacity" is required`);
    if (o.refillPerSecond === undefined) throw new TypeError(`${OWNER}: option "refillPerSecond" is required`);
    const capacity = checkCapacity(OWNER, o.capacity);
    const rate = checkRate(OWNER, 'refillPerSecond', o.refillPerSecond);
    if (rate > 1e9) throw new RangeError(`${OWNER}: option "refillPerSecond" must be at most 1e9 (the state in Redis counts whole nanoseconds), got ${rate}`);
    if (capacity / rate > 1e9) {
      throw new RangeError(`${OWNER}: capacity / refillPerSecond (the time to refill an empty bucket) must be at most 1e9 s, got ${capacity / rate} s (capacity ${capacity}, refillPerSecond ${rate})`);
    }
    const batch = v.opt(o.batch, 1, (x) => v.between(OWNER, 'batch', x, 1, Math.max(1, capacity)));
    const batchTtlMs = v.opt(o.batchTtlMs, 1000, (x) => v.positive(OWNER, 'batchTtlMs', x));
    const cacheRefusals = v.opt(o.cacheRefusals, true, (x) => v.bool(OWNER, 'cacheRefusals', x));
    super(OWNER, o);
    this.capacity = capacity;
    this.ratePerMs = rate / 1000;
    this.batch = batch;
    this.batchTtlMs = batchTtlMs;
    this.cacheRefusals = cacheRefusals;
    this.intervalUs = String(1e6 / rate);
    this.capacityArg = String(capacity);
  }

  protected newSubject(subject: string | undefined, key: string): TokenSubject {
    return new TokenSubject(subject, key);
  }

  protected checkCost(cost: number): void {
    if (cost > this.capacity) throw new RangeError(`${this.name}: cost ${cost} exceeds capacity ${this.capacity}; such a call could never be admitted`);
  }

  protected makeLocal(): Limiter {
    const share = 1 / this.instances;
    // At least one call's worth of burst, so that a unit call can pass at the reduced rate.
    return tokenBucket({ capacity: Math.max(this.capacity * share, Math.min(1, this.capacity)), refillPerSecond: this.ratePerMs * 1000 * share, clock: this.clock });
  }

  protected async decide(s: TokenSubject, ctx: Context): Promise<Decision> {
    const cost = ctx.cost;
    const now = this.clock.now();
    if (s.leased > 0) {
      if (now >= s.leaseEnds) s.leased = 0;
      else if (s.leased >= cost) {
        s.leased -= cost;
        return ADMIT;
      }
    }
    if (s.blockedAt === s.blockedAt) {
      // At most this many tokens can be there now: what Redis reported, plus what the rate can have added since the
      // request was sent (no one gives tokens back). A call needing more is refused as Redis would refuse it.
      const most = s.blockedTokens + (now - s.blockedAt) * this.ratePerMs;
      if (most >= this.capacity) s.blockedAt = NaN;
      else if (cost - most > this.capacity * 1e-12) {
        this.cachedRefusals++;
        return { ok: false, reason: 'RATE_LIMITED', retryAfterMs: (cost - most) / this.ratePerMs };
      } else s.blockedAt = NaN;
    }
    const reply = await this.guard.send(GCRA, this.commandFor(s, cost));
    // One integer (reset µs when admitted, −retry µs when refused), or `{value, extra}` when batching.
    const value = Number(Array.isArray(reply) ? reply[0] : reply);
    if (!Number.isFinite(value) || value === 0) throw malformed(this.name);
    if (value < 0) {
      const retryUs = -value;
      if (this.cacheRefusals) {
        // Redis rounded the wait up to a whole µs: the tokens there were at least `cost − retry·rate` and fewer than
        // `cost − (retry − 1 µs)·rate`, and the cache keeps that upper bound.
        const available = cost - ((retryUs - 1) / 1000) * this.ratePerMs;
        s.blockedTokens = available > 0 ? available : 0;
        s.blockedAt = now;
      }
      return { ok: false, reason: 'RATE_LIMITED', retryAfterMs: retryUs / 1000 };
    }
    if (Array.isArray(reply)) {
      // A new lease replaces what was left of the last one (less than this call's cost, or lapsed): a process never
      // holds more than `batch − 1` tokens Redis has counted, which is what the over-admission bound rests on.
      const extra = Number(reply[1]);
      s.leased = extra > 0 ? extra : 0;
      s.leaseEnds = now + this.batchTtlMs;
    }
    // Whole tokens left: the capacity less the debt the reset time stands for (rounded up, so never too many).
    const remaining = Math.floor(this.capacity - (value / 1000) * this.ratePerMs + 1e-9);
    return { ok: true, permit: NOOP_PERMIT, remaining: remaining > 0 ? remaining : 0, resetMs: value / 1000 };
  }

  /**
   * The script call for `cost` on subject `s`: `EVALSHA sha 1 key T capacity cost [batch]`. The common one (cost 1,
   * no batching) is made once per subject and reused: no array per call.
   */
  private commandFor(s: TokenSubject, cost: number): string[] {
    if (cost === 1 && this.batch <= 1) return (s.unitCommand ??= GCRA.command([s.key], [this.intervalUs, this.capacityArg, '1']));
    const args = [this.intervalUs, this.capacityArg, String(cost)];
    if (this.batch > cost) args.push(String(this.batch));
    return GCRA.command([s.key], args);
  }

  stats(): RedisTokenBucketStats {
    let leased = 0;
    const now = this.clock.now();
    this.forEachSubject((s) => {
      if (now < s.leaseEnds) leased += s.leased;
    });
    return { ...this.baseStats(), capacity: this.capacity, refillPerSecond: this.ratePerMs * 1000, batch: this.batch, leasedTokens: leased };
  }
}

const ADMIT: Decision = Object.freeze({ ok: true as const, permit: NOOP_PERMIT });

function malformed(name: string): StoreCallError {
  return new StoreCallError('error', 0, { cause: new TypeError(`${name}: unexpected reply from the GCRA script`) });
}

/**
 * Creates a token bucket shared by every process that gives the same `id` (and the same options) on the same Redis
 * or Valkey: `capacity` tokens of burst and `refillPerSecond` sustained, for all of them together, per subject
 * (`keyOf`, default the call's `key` option).
 *
 * **Exact:** each decision is one atomic Lua script (GCRA, called by SHA and sent whole only on `NOSCRIPT`) on the
 * server's clock (`TIME`), so the processes' clocks and their skew never enter it: over any window of `w` seconds of
 * server time, the calls admitted by all processes together cost at most `capacity + refillPerSecond · w` (with
 * `batch > 1`: plus `instances × (batch − 1)`). A refusal carries the exact `retryAfterMs` Redis computed.
 *
 * **At capacity:** `tryAcquire()` answers `{ ok: false, reason: 'RATE_LIMITED', retryAfterMs }` after one round trip,
 * or at once from the cached refusal; `acquire()` / `execute()` refuse with `RateLimitedError`, or, with `maxWaitMs`,
 * sleep for the hint and ask again while it fits.
 *
 * **When Redis does not answer** within `timeoutMs` (default 10 ms), errors, or its breaker is open, `failureMode`
 * decides: admit (`'open'`, the default), refuse with `StoreUnavailableError` (`'closed'`), or use a local token
 * bucket of `1 / instances` of the limit (`'local'`). Every such call is counted (`sluice_store_fallbacks_total`).
 *
 * @throws {TypeError | RangeError} when an option is missing, out of range or unknown (the message names it).
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * const quota = redisTokenBucket({ redis: new Redis(), id: 'github-api', capacity: 100, refillPerSecond: 100 / 60 });
 * const res = await quota.execute(() => fetch('https://api.github.com/user', { headers }), { key: user.token });
 * ```
 */
export function redisTokenBucket(options: RedisTokenBucketOptions): RedisTokenBucket {
  return new RedisTokenBucketImpl(options);
}
