/**
 * A cap on calls in flight across every process that names the same `id`: each call holds a lease in Redis that
 * expires unless renewed, so a crashed process's permits come back on their own.
 */
import type { Context } from '../core/context.js';
import { NOOP_PERMIT, type Permit, type PermitOutcome } from '../core/permit.js';
import type { Limiter } from '../core/policy.js';
import { reportError } from '../core/safe-call.js';
import * as v from '../core/validate.js';
import { Alarm } from '../core/waiters.js';
import { METRIC } from '../metrics/metrics.js';
import { bulkhead } from '../concurrency/bulkhead.js';
import { LEASE_ACQUIRE, LEASE_RELEASE, LEASE_RENEW } from './scripts.js';
import { StoreCallError } from './store.js';
import { STORE_KEYS, StoreLimiter, Subject, type Decision, type SharedLimiter, type StoreLimiterOptions, type StoreLimiterStats } from './store-limiter.js';

/** Options of {@link redisConcurrencyLimit}. */
export interface RedisConcurrencyLimitOptions extends StoreLimiterOptions {
  /** Most units of cost in flight at once, over every process together. Integer ≥ 1. Required. */
  limit: number;
  /**
   * How long a lease lives without renewal, ms: a process that dies holding permits frees them within this. While a
   * call runs, this process renews its leases every `renewMs`. ≥ 100. Default 30 000.
   */
  leaseMs?: number;
  /** How often held leases are renewed, ms (one script call per subject for all of them). In (0, leaseMs). Default `leaseMs / 3`. */
  renewMs?: number;
}

/** Snapshot returned by {@link RedisConcurrencyLimit.stats}. */
export interface RedisConcurrencyLimitStats extends StoreLimiterStats {
  limit: number;
  leaseMs: number;
  /** Leases this process holds now. */
  held: number;
  /** Leases found expired when renewed: their calls ran on without a lease. */
  leasesLost: number;
}

/** A concurrency limit shared through Redis. */
export interface RedisConcurrencyLimit extends SharedLimiter {
  stats(): RedisConcurrencyLimitStats;
}

class LeaseSubject extends Subject {
  /** Mean time this process's leases of the subject were held, ms (EWMA; 0 before the first release). */
  meanHoldMs = 0;
}

class Lease implements Permit {
  private done = false;
  /** Renewal found it gone: releasing it has nothing left to free in Redis. */
  lost = false;
  constructor(
    readonly owner: RedisConcurrencyLimitImpl,
    readonly subject: LeaseSubject,
    readonly id: string,
    readonly start: number,
  ) {}
  get released(): boolean {
    return this.done;
  }
  release(_outcome?: PermitOutcome): void {
    if (this.done) return;
    this.done = true;
    this.owner.released(this);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

const KNOWN = v.keys(...STORE_KEYS, 'limit', 'leaseMs', 'renewMs');
const OWNER = 'redisConcurrencyLimit';

class RedisConcurrencyLimitImpl extends StoreLimiter<LeaseSubject> implements RedisConcurrencyLimit {
  protected readonly busyReason = 'CONCURRENCY_LIMITED' as const;
  private readonly limit: number;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly limitArg: string;
  private readonly leaseArg: string;
  private readonly held = new Map<string, Lease>();
  private seq = 0;
  private leasesLost = 0;
  private renewing = false;
  private readonly alarm = new Alarm(this.clock, () => this.renew());

  constructor(options: RedisConcurrencyLimitOptions) {
    const o = v.optionsObject<RedisConcurrencyLimitOptions>(OWNER, options, KNOWN);
    if (o.limit === undefined) throw new TypeError(`${OWNER}: option "limit" is required`);
    const limit = v.integer(OWNER, 'limit', o.limit, 1, false);
    const leaseMs = v.opt(o.leaseMs, 30_000, (x) => v.between(OWNER, 'leaseMs', x, 100, 2_147_483_647));
    const renewMs = v.opt(o.renewMs, leaseMs / 3, (x) => {
      const r = v.positive(OWNER, 'renewMs', x);
      if (r >= leaseMs) throw new RangeError(`${OWNER}: option "renewMs" must be below "leaseMs" (${leaseMs}), got ${r}`);
      return r;
    });
    super(OWNER, o);
    this.limit = limit;
    this.leaseMs = leaseMs;
    this.renewMs = renewMs;
    this.limitArg = String(limit);
    this.leaseArg = String(Math.ceil(leaseMs));
    this.t.gauge(METRIC.inflight, {}, () => this.held.size);
    this.t.gauge(METRIC.limit, {}, () => this.limit);
    this.t.counter(METRIC.storeLeasesLost, {}, () => this.leasesLost);
  }

  protected newSubject(subject: string | undefined, key: string): LeaseSubject {
    return new LeaseSubject(subject, key);
  }

  protected checkCost(cost: number): void {
    if (cost > this.limit) throw new RangeError(`${this.name}: cost ${cost} exceeds limit ${this.limit}; such a call could never be admitted`);
  }

  protected makeLocal(): Limiter {
    return bulkhead({ limit: Math.max(1, Math.floor(this.limit / this.instances)), clock: this.clock });
  }

  private keys(s: Subject): string[] {
    return [`${s.key}:leases`, `${s.key}:costs`, `${s.key}:used`];
  }

  protected async decide(s: LeaseSubject, ctx: Context): Promise<Decision> {
    const id = `${this.instanceId}:${++this.seq}`;
    let reply: unknown;
    try {
      reply = await this.guard.run(LEASE_ACQUIRE, this.keys(s), [this.limitArg, this.leaseArg, id, String(ctx.cost)]);
    } catch (e) {
      // A call that timed out may still have taken its lease: give it back (a no-op if it never landed).
      if (e instanceof StoreCallError && e.kind === 'timeout') this.sendRelease(s, id);
      throw e;
    }
    if (!Array.isArray(reply) || reply.length < 3) throw new StoreCallError('error', 0, { cause: new TypeError(`${this.name}: unexpected reply from the lease script`) });
    const used = Number(reply[2]);
    if (Number(reply[0]) !== 1) {
      // No exact hint exists (holders end when they end): the mean time this process held a lease, spread over the
      // limit, estimates when the next of `limit` calls like ours ends. 0 (unknown) before any was released.
      return { ok: false, reason: 'CONCURRENCY_LIMITED', retryAfterMs: s.meanHoldMs / this.limit };
    }
    if (this.isDisposed) {
      this.sendRelease(s, id);
      return { ok: true, permit: NOOP_PERMIT };
    }
    const lease = new Lease(this, s, id, this.clock.now());
    this.held.set(id, lease);
    if (!this.alarm.armed) this.alarm.set(this.clock.now() + this.renewMs);
    return { ok: true, permit: lease, remaining: used >= 0 ? Math.max(0, this.limit - used) : undefined };
  }

  /** @internal a lease's permit was released (once). */
  released(lease: Lease): void {
    this.held.delete(lease.id);
    if (this.held.size === 0) this.alarm.clear();
    const s = lease.subject;
    const held = this.clock.now() - lease.start;
    s.meanHoldMs = s.meanHoldMs === 0 ? held : s.meanHoldMs + 0.2 * (held - s.meanHoldMs);
    if (!lease.lost) this.sendRelease(s, lease.id);
  }

  /** Removes a lease in Redis, whatever the breaker says; a failure leaves it to expire. Never throws or rejects. */
  private sendRelease(s: Subject, id: string): void {
    this.guard.run(LEASE_RELEASE, this.keys(s), [id], false).catch(noop);
  }

  /** Renews every held lease, one script call per subject, and re-arms while any is held. */
  private renew(): void {
    if (this.isDisposed || this.held.size === 0) return;
    this.alarm.set(this.clock.now() + this.renewMs);
    if (this.renewing) return; // the previous round has not answered yet
    const bySubject = new Map<LeaseSubject, string[]>();
    for (const lease of this.held.values()) {
      let ids = bySubject.get(lease.subject);
      if (ids === undefined) bySubject.set(lease.subject, (ids = []));
      ids.push(lease.id);
    }
    this.renewing = true;
    const rounds: Promise<void>[] = [];
    for (const [s, ids] of bySubject) {
      rounds.push(
        this.guard.run(LEASE_RENEW, this.keys(s), [this.leaseArg, ...ids], false).then((lost) => {
          if (!Array.isArray(lost)) return;
          for (const id of lost) {
            const lease = this.held.get(String(id));
            if (lease === undefined || lease.lost) continue;
            lease.lost = true;
            this.leasesLost++;
          }
        }, noop),
      );
    }
    Promise.all(rounds).then(
      () => {
        this.renewing = false;
      },
      (e: unknown) => {
        this.renewing = false;
        reportError(e);
      },
    );
  }

  protected override onDispose(): void {
    this.alarm.clear();
  }

  stats(): RedisConcurrencyLimitStats {
    return { ...this.baseStats(), limit: this.limit, leaseMs: this.leaseMs, held: this.held.size, leasesLost: this.leasesLost };
  }
}

function noop(): void {}

/**
 * Creates a concurrency limit shared by every process that gives the same `id` (and the same options) on the same
 * Redis or Valkey: at most `limit` units of cost in flight at once over all of them, per subject (`keyOf`, default
 * the call's `key` option).
 *
 * **Leases:** an admitted call holds a lease in Redis (a sorted-set entry scored by its expiry, on the server's
 * clock) for as long as it runs; this process renews its leases every `renewMs` (one timer, one script call per
 * subject), and releases each exactly once when its call ends (a permit's second release is a no-op, and the script
 * removes a lease only if it is there). A process that crashes stops renewing: its leases expire within `leaseMs`
 * (default 30 s) and their capacity comes back. A call that outlives an unrenewed lease (Redis was unreachable for
 * `leaseMs`) is counted in `leasesLost`.
 *
 * **At capacity:** `tryAcquire()` answers `{ ok: false, reason: 'CONCURRENCY_LIMITED', retryAfterMs }` (an estimate:
 * this process's mean hold time divided by the limit, 0 before any call ended); `acquire()` / `execute()` refuse
 * with `ConcurrencyLimitedError`, or, with `maxWaitMs`, poll again after the estimate while the wait fits.
 *
 * **When Redis does not answer** within `timeoutMs`, `failureMode` decides as for {@link redisTokenBucket}; `'local'`
 * uses a bulkhead of `floor(limit / instances)` (at least 1). A timed-out acquire is released in Redis in case it
 * landed.
 *
 * **Disposal** stops the renewals (the limiter then holds no timer); permits already held can still be released, and
 * leases not released expire.
 *
 * @throws {TypeError | RangeError} when an option is missing, out of range or unknown (the message names it).
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * const redis = await createClient().connect();
 * const exportSlots = redisConcurrencyLimit({ redis, id: 'report-exports', limit: 10 });
 * await exportSlots.execute(() => runExport(job));
 * ```
 */
export function redisConcurrencyLimit(options: RedisConcurrencyLimitOptions): RedisConcurrencyLimit {
  return new RedisConcurrencyLimitImpl(options);
}
