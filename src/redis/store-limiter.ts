/**
 * The enforcement half shared by the Redis limiters: options, the tryAcquire / acquire / execute flow (with the
 * optional wait-and-retry within `maxWaitMs`), the bounded per-subject state, the failure modes and telemetry. A
 * subclass supplies the decision itself (one script call) and the local limiter it falls back to.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, createContext, executeContext, type ExecuteOptions, type ExecutionContext, type Task } from '../core/context.js';
import { RejectedError, rejectionError, type RejectionCode } from '../core/errors.js';
import { COMMON_KEYS, QUEUE_KEYS, callTask, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { NOOP_PERMIT, type Permit } from '../core/permit.js';
import { KIND, RUN, type Limiter, type Policy, type Refusal } from '../core/policy.js';
import type { RandomSource } from '../core/random.js';
import { reportError } from '../core/safe-call.js';
import { Telemetry, type LimiterCounts, type LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { METRIC } from '../metrics/metrics.js';
import { circuitBreaker, type CircuitBreakerOptions } from '../breaker/circuit-breaker.js';
import { consecutiveFailures } from '../breaker/strategies/consecutive-failures.js';
import { redisCommander, type RedisClient } from './client.js';
import { StoreCallError, StoreGuard, type StoreCallCounts, type StoreFailureKind } from './store.js';

/**
 * What a Redis limiter does with a call when Redis does not answer in time (or errors, or its breaker is open):
 * - `'open'`: admit it (the quota is not enforced while Redis is down);
 * - `'closed'`: refuse it with {@link StoreUnavailableError} (`STORE_UNAVAILABLE`);
 * - `'local'`: decide it with a local limiter sized to this process's share (`1 / instances` of the limit).
 */
export type FailureMode = 'open' | 'closed' | 'local';

/** Options every Redis limiter accepts. */
export interface StoreLimiterOptions extends CommonOptions {
  /** The Redis (or Valkey) client: ioredis, node-redis, or a {@link RedisCommander}. Required. */
  redis: RedisClient;
  /**
   * The limit's identity in Redis: every process that shares the limit gives the same `id` (and the same limit
   * options). A non-empty string. Required.
   */
  id: string;
  /** Prefix of every key, before the `{hash tag}`. Default `'sluice:'`. */
  prefix?: string;
  /**
   * The subject of a call: each subject (an API key, a tenant, a customer) has its own limit in Redis. Default: the
   * call's `key` option; calls without one share the limiter's single subject.
   */
  keyOf?: (context: ExecutionContext) => string | undefined;
  /**
   * Longest wait for Redis on one call, ms, before the failure mode decides it. > 0. Default 10: far above a
   * same-zone round trip (0.1–1 ms), far below a request's budget.
   */
  timeoutMs?: number;
  /** What to do when Redis does not answer; see {@link FailureMode}. Default `'open'`. */
  failureMode?: FailureMode;
  /**
   * How many processes share the limit, for `failureMode: 'local'`: the local limiter gets `1 / instances` of it.
   * Integer ≥ 1. Required with `'local'`.
   */
  instances?: number;
  /**
   * The circuit breaker around Redis (its options, or `false` for none): while it is open, calls go straight to the
   * failure mode without paying `timeoutMs`, and it probes Redis again on its own. Default: open after 5 failed calls
   * in a row, for 1 s at first (`openMs: 1000`). Its metrics are reported under the name `<name>/store`.
   */
  breaker?: Omit<CircuitBreakerOptions, 'name' | 'clock' | 'random' | 'metrics'> | false;
  /**
   * Most subjects with local state (cached refusals, leased tokens, fallback limiters). Beyond it, the least
   * recently used subject's local state is dropped (its Redis state is untouched). Integer ≥ 1. Default 10 000.
   */
  maxSubjects?: number;
  /**
   * Longest a call of `acquire()` / `execute()` may wait for the limit, ms: a refused call whose retry hint fits sleeps
   * that long and asks again (not a FIFO queue: callers retry independently). Between two asks of one call it sleeps
   * at least 1 ms, doubling with each refusal up to 64 ms, so that an unknown or tiny hint does not turn waiting into
   * a stream of round trips; each sleep is stretched by up to 50 % at random. 0 refuses at once. ≥ 0. Default 0.
   */
  maxWaitMs?: number;
  /** Admit everything, but count and emit (`wouldReject`) what enforcement would have refused. Default false. */
  dryRun?: boolean;
}

/** Emitted when a call was decided by the failure mode. */
export interface StoreFailureEvent {
  readonly policy: string;
  /** Why Redis gave no answer. */
  readonly failure: StoreFailureKind;
  /** The failure mode that decided the call. */
  readonly mode: FailureMode;
  /** The client's error, when there is one. */
  readonly error: unknown;
}

/** Events of the Redis limiters. */
export interface StoreLimiterEvents extends LimiterEvents {
  storeFailure: (event: StoreFailureEvent) => void;
}

/** `stats()` fields every Redis limiter reports. */
export interface StoreLimiterStats extends LimiterCounts {
  name: string;
  id: string;
  failureMode: FailureMode;
  timeoutMs: number;
  /** Round trips to Redis, by outcome. */
  storeCalls: StoreCallCounts;
  /** Calls decided by the failure mode, by mode. */
  fallbacks: Record<FailureMode, number>;
  /** Refusals answered locally from a cached refusal, without a round trip. */
  cachedRefusals: number;
  /** Subjects with local state. */
  subjects: number;
  /** State of the breaker around Redis (`'closed'` when there is none). */
  breaker: string;
  dryRun: boolean;
  disposed: boolean;
}

/**
 * A fail-closed Redis limiter could not reach Redis (code `STORE_UNAVAILABLE`). `retryAfterMs` is the time until the
 * breaker around Redis probes it again (0 when unknown); `cause` is the client's error, when there is one.
 * @example
 * ```ts
 * catch (e) { if (isRejectedError(e) && e.code === 'STORE_UNAVAILABLE') return reply(503); }
 * ```
 */
export class StoreUnavailableError extends RejectedError {
  declare readonly code: 'STORE_UNAVAILABLE';
  constructor(policy: string, retryAfterMs: number, failure: StoreFailureKind, cause?: unknown) {
    super('STORE_UNAVAILABLE', policy, retryAfterMs, `${policy}: the shared store is unavailable (${failure.replace('_', ' ')}); failing closed`);
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, configurable: true, writable: true });
  }
}

/**
 * The answer of a shared limiter's `tryAcquire()`: a permit or a refusal, as with the local limiters. An admission
 * Redis decided also says what is left: `remaining`, the tokens (or units of a concurrency limit) still free after
 * this call, and, for a token bucket, `resetMs`, the time until the bucket is full again: the `r` and `t` of a
 * `RateLimit` header.
 */
export type SharedAcquireResult = { readonly ok: true; readonly permit: Permit; readonly remaining?: number; readonly resetMs?: number } | Refusal;

/**
 * A limiter whose state lives in a shared store: a {@link Policy} (so it drops into a `pipeline()`) that also hands
 * out permits. Its `tryAcquire()` is a promise, since the answer takes a round trip; it never waits beyond that.
 */
export interface SharedLimiter extends Policy {
  /** The limit's identity in the store (the `id` option). */
  readonly id: string;
  /** Typed events: `reject`, `wouldReject`, `storeFailure`, `dispose`. Free when nobody listens. */
  readonly events: Telemetry<StoreLimiterEvents>['events'];
  /**
   * Asks for a permit now: one round trip to the store (none when local state answers), never a wait beyond it. A
   * refusal for capacity is a value; after `dispose()` the answer is `{ ok: false, reason: 'DISPOSED' }`.
   * @throws (as a rejection) {TypeError | RangeError} for malformed options; `options.signal.reason` when it aborted.
   */
  tryAcquire(options?: ExecuteOptions): Promise<SharedAcquireResult>;
  /**
   * Takes a permit, waiting up to `maxWaitMs` (never past the call's deadline) when the retry hint fits.
   * @throws (as a rejection) a {@link RejectedError} when refused; `options.signal.reason` when it aborts.
   */
  acquire(options?: ExecuteOptions): Promise<Permit>;
}

/** An admission or a refusal, before counting. */
export type Decision =
  | { readonly ok: true; readonly permit: Permit; readonly remaining?: number; readonly resetMs?: number }
  | { readonly ok: false; readonly reason: RejectionCode; readonly retryAfterMs: number; readonly failure?: StoreCallError };

/** Per-subject local state; subclasses extend it. */
export class Subject {
  /** Local limiter of the `'local'` failure mode, made on first need. */
  local: Limiter | undefined = undefined;
  constructor(
    readonly subject: string | undefined,
    /** The subject's key base: `<prefix>{<id>[:<subject>]}`; every key of the subject shares its hash tag. */
    readonly key: string,
  ) {}
}

/** Longest pause between two asks of one waiting call when the hint is smaller (see `acquireFor`), ms. */
const MAX_POLL_FLOOR_MS = 64;

/** Subjects longer than this are keyed by their SHA-1, so a hostile key cannot make Redis keys of any size. */
const MAX_SUBJECT_LENGTH = 200;

export const STORE_KEYS = [...COMMON_KEYS, 'redis', 'id', 'prefix', 'keyOf', 'timeoutMs', 'failureMode', 'instances', 'breaker', 'maxSubjects', ...QUEUE_KEYS.filter((k) => k !== 'maxQueue')] as const;
const MODES: readonly FailureMode[] = ['open', 'closed', 'local'];

export abstract class StoreLimiter<S extends Subject> implements SharedLimiter {
  readonly name: string;
  readonly clock: Clock;
  readonly id: string;
  protected readonly random: RandomSource;
  protected readonly t: Telemetry<StoreLimiterEvents>;
  protected readonly guard: StoreGuard;
  protected readonly failureMode: FailureMode;
  protected readonly instances: number;
  protected readonly dryRun: boolean;
  protected readonly maxWaitMs: number;
  protected isDisposed = false;
  private disposeReason: unknown = undefined;
  /** An id unique to this limiter instance among all processes (lease ids, from node:crypto: a seeded `random` is the same in every process). */
  protected readonly instanceId = randomUUID();
  protected cachedRefusals = 0;
  private readonly fallbacks: Record<FailureMode, number> = { open: 0, closed: 0, local: 0 };
  private readonly prefix: string;
  private readonly keyOf: ((context: ExecutionContext) => string | undefined) | undefined;
  private readonly maxSubjects: number;
  /** Insertion order is recency order. */
  private readonly subjects = new Map<string | undefined, S>();
  private readonly sleepers = new Set<() => void>();

  protected constructor(
    readonly kind: string,
    o: Partial<StoreLimiterOptions>,
  ) {
    if (o.redis === undefined) throw new TypeError(`${kind}: option "redis" is required (an ioredis or node-redis client)`);
    const redis = redisCommander(o.redis, kind, 'redis');
    if (o.id === undefined) throw new TypeError(`${kind}: option "id" is required (the limit's name in Redis, the same in every process that shares it)`);
    this.id = v.name(kind, 'id', o.id);
    this.prefix = v.opt(o.prefix, 'sluice:', (x) => (typeof x === 'string' ? x : v.name(kind, 'prefix', x)));
    this.keyOf = v.opt(o.keyOf, undefined, (x) => v.func<(context: ExecutionContext) => string | undefined>(kind, 'keyOf', x));
    const timeoutMs = v.opt(o.timeoutMs, 10, (x) => v.positive(kind, 'timeoutMs', x));
    this.failureMode = v.opt(o.failureMode, 'open', (x) => v.oneOf(kind, 'failureMode', x, MODES));
    this.instances = v.opt(o.instances, 1, (x) => v.integer(kind, 'instances', x, 1, false));
    if (this.failureMode === 'local' && o.instances === undefined) {
      throw new TypeError(`${kind}: failureMode "local" needs option "instances" (how many processes share the limit; each falls back to 1/instances of it)`);
    }
    this.maxSubjects = v.opt(o.maxSubjects, 10_000, (x) => v.integer(kind, 'maxSubjects', x, 1, false));
    this.maxWaitMs = v.opt(o.maxWaitMs, 0, (x) => v.nonNegativeOrInfinity(kind, 'maxWaitMs', x));
    this.dryRun = v.opt(o.dryRun, false, (x) => v.bool(kind, 'dryRun', x));
    const breakerOptions = o.breaker === false ? false : v.opt(o.breaker, {}, (x) => v.optionsObject<CircuitBreakerOptions>(kind, x));
    const common = parseCommon(kind, o);
    this.name = common.name;
    this.clock = common.clock;
    this.random = common.random;
    this.t = new Telemetry<StoreLimiterEvents>(kind, this.name, common.metrics);
    let breaker;
    try {
      breaker =
        breakerOptions === false
          ? undefined
          : circuitBreaker({
              strategy: consecutiveFailures({ threshold: 5 }),
              openMs: 1000,
              ...breakerOptions,
              name: `${this.name}/store`,
              clock: this.clock,
              random: this.random,
              metrics: common.metrics,
            });
    } catch (e) {
      this.t.disposed(0);
      throw e;
    }
    this.guard = new StoreGuard(redis, this.clock, timeoutMs, breaker, this.t.histogram(METRIC.storeDuration));
    const g = this.guard.counts;
    for (const outcome of ['ok', 'error', 'timeout', 'circuit_open'] as const) this.t.counter(METRIC.storeCalls, { outcome }, () => g[outcome]);
    for (const mode of MODES) this.t.counter(METRIC.storeFallbacks, { mode }, () => this.fallbacks[mode]);
    this.t.counter(METRIC.storeCachedRefusals, {}, () => this.cachedRefusals);
  }

  /** @internal the policy's kind, for `pipeline()`'s checks. */
  get [KIND](): string {
    return this.kind;
  }

  /** Typed events: `reject`, `wouldReject`, `storeFailure`, `dispose`. Free when nobody listens. */
  get events(): Telemetry<StoreLimiterEvents>['events'] {
    return this.t.events;
  }

  // ---- supplied by subclasses -----------------------------------------------------------------------------------

  /** The reason to report when the limit is reached. */
  protected abstract readonly busyReason: RejectionCode;
  /** Local state for a new subject. */
  protected abstract newSubject(subject: string | undefined, key: string): S;
  /** Decides one call: from local state, or with one round trip (a failure rejects with a {@link StoreCallError}). */
  protected abstract decide(s: S, ctx: Context): Promise<Decision>;
  /** The limiter the `'local'` failure mode uses for a subject. */
  protected abstract makeLocal(s: S): Limiter;
  /** Throws a RangeError when `cost` could never be admitted. */
  protected abstract checkCost(cost: number): void;
  /** Hook: release timers on dispose. */
  protected onDispose(): void {}

  // ---- shared flow ------------------------------------------------------------------------------------------------

  /**
   * The subject of a call, with its local state (made now if it has none, which may drop the least recently used
   * subject's). Throws a TypeError for a subject that is not a non-empty string.
   */
  private subjectOf(ctx: ExecutionContext): S {
    const raw = this.keyOf === undefined ? ctx.key : this.keyOf(ctx);
    if (raw !== undefined && (typeof raw !== 'string' || raw.length === 0)) {
      throw new TypeError(`${this.name}: keyOf must return a non-empty string or undefined, got ${v.describeValue(raw)}`);
    }
    let s = this.subjects.get(raw);
    if (s !== undefined) {
      if (this.subjects.size > 1) {
        this.subjects.delete(raw);
        this.subjects.set(raw, s);
      }
      return s;
    }
    if (this.subjects.size >= this.maxSubjects) {
      const [oldest, evicted] = this.subjects.entries().next().value as [string | undefined, S];
      this.subjects.delete(oldest);
      evicted.local?.dispose();
    }
    const part = raw === undefined ? '' : ':' + (raw.length > MAX_SUBJECT_LENGTH ? createHash('sha1').update(raw).digest('hex') : raw);
    s = this.newSubject(raw, `${this.prefix}{${this.id}${part}}`);
    this.subjects.set(raw, s);
    return s;
  }

  async tryAcquire(options?: ExecuteOptions): Promise<SharedAcquireResult> {
    const ctx = options === undefined ? DEFAULT_CONTEXT : createContext(this.name, this.clock, options);
    if (this.isDisposed) {
      this.t.rejected('DISPOSED', 0, ctx.cost);
      return { ok: false, reason: 'DISPOSED', retryAfterMs: 0 };
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    this.checkCost(ctx.cost);
    if (ctx.deadline !== undefined && this.clock.now() >= ctx.deadline) return this.refusal('DEADLINE_EXCEEDED', 0, ctx.cost);
    const s = this.subjectOf(ctx);
    let d: Decision;
    try {
      d = await this.decide(s, ctx);
    } catch (e) {
      d = this.failed(e, s, ctx);
    }
    if (d.ok) {
      this.t.counts.admitted++;
      return d;
    }
    return this.refusal(d.reason, d.retryAfterMs, ctx.cost);
  }

  /** Counts a refusal and returns it as a value (in dry-run: counts it as would-be and admits). */
  private refusal(reason: RejectionCode, retryAfterMs: number, cost: number): SharedAcquireResult {
    if (this.dryRun) {
      this.t.wouldReject(reason, retryAfterMs, cost);
      this.t.counts.admitted++;
      return { ok: true, permit: NOOP_PERMIT };
    }
    this.t.rejected(reason, retryAfterMs, cost);
    return { ok: false, reason, retryAfterMs };
  }

  acquire(options?: ExecuteOptions): Promise<Permit> {
    let ctx: Context;
    try {
      ctx = options === undefined ? DEFAULT_CONTEXT : createContext(this.name, this.clock, options);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.acquireFor(ctx);
  }

  private async acquireFor(ctx: Context): Promise<Permit> {
    if (this.isDisposed) return this.t.refuseDisposed(ctx.cost);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    this.checkCost(ctx.cost);
    const s = this.subjectOf(ctx);
    const start = this.clock.now();
    let waited = false;
    let floor = 1;
    for (;;) {
      const now = this.clock.now();
      if (ctx.deadline !== undefined && now >= ctx.deadline) return this.refuseCall('DEADLINE_EXCEEDED', 0, ctx.cost);
      let d: Decision;
      try {
        d = await this.decide(s, ctx);
      } catch (e) {
        d = this.failed(e, s, ctx);
      }
      if (this.isDisposed) {
        if (d.ok) d.permit.release();
        return this.disposedRefusal(ctx.cost);
      }
      if (ctx.signal.aborted) {
        // Aborted during the round trip: the call does not run, and what it was granted goes back.
        if (d.ok) d.permit.release('ignore');
        this.t.counts.aborted++;
        throw ctx.signal.reason;
      }
      if (d.ok) {
        this.t.counts.admitted++;
        if (waited) this.t.queueWait?.record(this.clock.now() - start);
        return d.permit;
      }
      let reason = d.reason;
      if (reason === this.busyReason && this.maxWaitMs > 0 && d.retryAfterMs < Infinity) {
        const at = this.clock.now();
        // The wait is the hint, but at least `floor`, which starts at 1 ms and doubles with each refusal of this call
        // up to 64 ms: a hint of 0 (unknown) or a tiny one (a concurrency estimate) must not turn waiting callers
        // into a stream of round trips. Each wait is stretched by up to 50 % at random, so that callers refused
        // together do not all ask again together (never shortened: asking before the hint is wasted).
        const wait = Math.max(d.retryAfterMs, floor);
        floor = Math.min(floor * 2, MAX_POLL_FLOOR_MS);
        const sleep = wait * (1 + 0.5 * this.random());
        const waitEnds = at + wait;
        if (waitEnds - start > this.maxWaitMs) reason = 'MAX_WAIT_EXCEEDED';
        else if (ctx.deadline !== undefined && waitEnds >= ctx.deadline) reason = 'DEADLINE_EXCEEDED';
        else {
          waited = true;
          await this.sleep(Math.min(sleep, start + this.maxWaitMs - at), ctx);
          continue;
        }
      }
      return this.refuseCall(reason, d.retryAfterMs, ctx.cost, d.failure);
    }
  }

  /** A call that was waiting on Redis or sleeping when the limiter was disposed: `dispose(reason)`'s reason, or `DISPOSED`. */
  private disposedRefusal(cost: number): Promise<never> {
    if (this.disposeReason === undefined) return this.t.refuseDisposed(cost);
    this.t.rejected('DISPOSED', 0, cost);
    return Promise.reject(this.disposeReason);
  }

  /** Refuses a call of `acquire()` / `execute()` (in dry-run: counts it as would-be and admits). */
  private refuseCall(reason: RejectionCode, retryAfterMs: number, cost: number, failure?: StoreCallError): Permit {
    if (this.dryRun) {
      this.t.wouldReject(reason, retryAfterMs, cost);
      this.t.counts.admitted++;
      return NOOP_PERMIT;
    }
    this.t.rejected(reason, retryAfterMs, cost);
    if (reason === 'STORE_UNAVAILABLE') throw new StoreUnavailableError(this.name, retryAfterMs, failure?.kind ?? 'error', failure?.cause);
    throw rejectionError(reason, this.name, retryAfterMs);
  }

  /** An abortable sleep on the policy's clock; disposal wakes it (the loop then refuses with `DISPOSED`). */
  private sleep(ms: number, ctx: Context): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const signal = ctx.signal;
      // The shared never-aborting signal of calls without one gets no listener: it is one object per process.
      const watched = signal !== NEVER_ABORTED;
      const settle = (): void => {
        this.sleepers.delete(done);
        this.clock.clearTimeout(handle);
        if (watched) signal.removeEventListener('abort', onAbort);
      };
      const done = (): void => {
        settle();
        resolve();
      };
      const onAbort = (): void => {
        settle();
        this.t.counts.aborted++;
        reject(signal.reason);
      };
      this.sleepers.add(done);
      if (watched) signal.addEventListener('abort', onAbort, { once: true });
      const handle = this.clock.setTimeout(done, ms);
    });
  }

  /** A decision that failed: the failure mode's when Redis gave no answer; anything else is rethrown. */
  private failed(e: unknown, s: S, ctx: Context): Decision {
    if (!(e instanceof StoreCallError)) throw e;
    return this.fallBack(s, ctx, e);
  }

  private fallBack(s: S, ctx: Context, failure: StoreCallError): Decision {
    const mode = this.failureMode;
    this.fallbacks[mode]++;
    if (this.t.listening('storeFailure')) {
      this.t.emit('storeFailure', { policy: this.name, failure: failure.kind, mode, error: failure.cause } satisfies StoreFailureEvent);
    }
    if (this.isDisposed) return { ok: false, reason: 'DISPOSED', retryAfterMs: 0 };
    if (mode === 'open') return { ok: true, permit: NOOP_PERMIT };
    if (mode === 'closed') return { ok: false, reason: 'STORE_UNAVAILABLE', retryAfterMs: failure.retryAfterMs, failure };
    const local = (s.local ??= this.makeLocal(s));
    const r = local.tryAcquire({ cost: ctx.cost });
    return r.ok ? r : { ok: false, reason: r.reason, retryAfterMs: r.retryAfterMs };
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  async [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    const permit = await this.acquireFor(ctx);
    const start = this.t.duration === undefined ? 0 : this.clock.now();
    let value: T;
    try {
      value = await callTask(next, ctx);
    } catch (e) {
      permit.release('ignore');
      this.t.duration?.failure.record(this.clock.now() - start);
      throw e;
    }
    permit.release();
    this.t.duration?.success.record(this.clock.now() - start);
    return value;
  }

  /** The breaker's state, for stats. */
  private breakerState(): string {
    return this.guard.breaker?.state ?? 'closed';
  }

  protected baseStats(): StoreLimiterStats {
    return {
      name: this.name,
      id: this.id,
      ...this.t.snapshotCounts(),
      failureMode: this.failureMode,
      timeoutMs: this.guard.timeoutMs,
      storeCalls: { ...this.guard.counts },
      fallbacks: { ...this.fallbacks },
      cachedRefusals: this.cachedRefusals,
      subjects: this.subjects.size,
      breaker: this.breakerState(),
      dryRun: this.dryRun,
      disposed: this.isDisposed,
    };
  }

  /** Visits every subject's local state. */
  protected forEachSubject(f: (s: S) => void): void {
    for (const s of this.subjects.values()) f(s);
  }

  /**
   * Shuts the limiter down: calls waiting on Redis or sleeping before a retry are refused with `DISPOSED`, later calls
   * too, and it holds no timer. Permits already held stay valid (see the subclass). Idempotent.
   */
  dispose(reason?: unknown): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.disposeReason = reason;
    this.onDispose();
    this.guard.close();
    this.guard.breaker?.dispose();
    for (const wake of [...this.sleepers]) wake();
    for (const s of this.subjects.values()) {
      try {
        s.local?.dispose(reason);
      } catch (e) {
        reportError(e);
      }
    }
    this.subjects.clear();
    this.t.disposed(0);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
