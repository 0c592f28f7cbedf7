/**
 * Bulkhead: a fixed concurrency limit with a queue discipline. At most `limit` units of cost run at once; the rest
 * wait in a bounded queue (or are refused at once), so one slow dependency cannot take every connection, socket or
 * worker. The discipline decides who goes next and who is shed: FIFO, LIFO, priority classes, CoDel or per-tenant
 * fair queueing (see queues/).
 */
import type { Call } from '../core/call.js';
import { NEVER_ABORTED, type Context, type Task } from '../core/context.js';
import { DeadlineHeap, type DeadlineEntry } from '../core/deadline-heap.js';
import type { RejectionCode, ShedError } from '../core/errors.js';
import { COMMON_KEYS, QUEUE_KEYS, QueueingLimiter, parseCommon, type CommonOptions, type QueueOptions, type QueueingStats, type WaiterDiscipline } from '../core/limiter-base.js';
import type { Permit, PermitOutcome } from '../core/permit.js';
import type { QueueDiscipline } from '../core/queue.js';
import { RUN, type AcquireOptions, type AcquireResult, type Limiter } from '../core/policy.js';
import { settle } from '../core/safe-call.js';
import type { LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { Alarm, type Waiter } from '../core/waiters.js';
import { METRIC } from '../metrics/metrics.js';
import { QueueGauges } from './queue-gauges.js';
import { resolveQueue, type QueueName } from './queues/index.js';
import { ServiceRate } from './service-rate.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions extends CommonOptions, QueueOptions {
  /**
   * Most units of cost that may run at once: `limit` calls of the default cost 1, fewer of a higher `cost` (a call of
   * cost 3 holds 3). Integer ≥ 1. Required.
   */
  limit: number;
  /**
   * Who waits and who is shed when every permit is taken. Default `'fifo'`.
   * - `'fifo'`: arrival order; a full queue refuses the newcomer (`QUEUE_FULL`).
   * - `'lifo'`: newest first; a full queue sheds its oldest waiter for the newcomer (`SHED`).
   * - `'priority'`: highest `priority` first, FIFO within a level; a full queue sheds the lowest-priority, newest
   *   waiter for a more important newcomer. Strict: see `priorityQueue()` for aging and per-tenant lanes.
   * - `'codel'`: FIFO while the queue drains; under standing delay (CoDel: minimum queueing delay above 5 ms over
   *   100 ms), newest first, and waiters older than 100 ms are shed. See `codelQueue()`.
   * - `'fair'`: per-tenant deficit round robin by `tenant`, `cost` counted; a full queue sheds the heaviest
   *   tenant's newest waiter for a lighter tenant. See `fairQueue()`.
   * - a discipline object: one built with options (`priorityQueue({ agingMs: 2000 })`, `fairQueue({ weights })`)
   *   or your own {@link QueueDiscipline}. One discipline object serves one limiter.
   */
  queue?: QueueName | QueueDiscipline;
  /**
   * Most callers that may wait for a permit. Default **0**: a call that finds every permit taken is refused at once
   * with `CONCURRENCY_LIMITED` (fail fast, the right default behind a load balancer); but when a finite `maxWaitMs`
   * is given without `maxQueue`, **Infinity** (the wait is bounded by time instead). Beyond a positive bound,
   * calls are refused with `QUEUE_FULL`. Integer ≥ 0 or `Infinity`.
   */
  maxQueue?: number;
  /**
   * Longest a caller may wait for a permit, in ms. A waiter still queued when it elapses is evicted at that moment
   * with `MAX_WAIT_EXCEEDED`. ≥ 0 or `Infinity`. Default `Infinity`. Given alone (without `maxQueue`), callers do
   * wait: see `maxQueue`.
   */
  maxWaitMs?: number;
}

/** Option names {@link bulkhead} accepts. */
const BULKHEAD_KEYS = v.keys(...COMMON_KEYS, ...QUEUE_KEYS, 'limit', 'queue');
/** Option names {@link Bulkhead.configure} accepts. */
const CONFIG_KEYS = v.keys('limit');

/** Settings that {@link Bulkhead.configure} can change at run time. */
export interface BulkheadConfig {
  /** New concurrency limit. Integer ≥ 1. */
  limit?: number;
}

/** Snapshot returned by {@link Bulkhead.stats}. */
export interface BulkheadStats extends QueueingStats {
  /** Units of cost held by running calls now (calls, at the default cost 1). May exceed `limit` after the limit was lowered, or in dry-run mode. */
  inflight: number;
  /** Current concurrency limit. */
  limit: number;
  /** Highest `inflight` since creation. */
  maxInflightSeen: number;
  /** The queue discipline's name (`fifo`, `lifo`, `priority`, `codel`, `fair`, or the class name of your own). */
  discipline: string;
  /** Queued calls shed (`SHED`) by cause: displaced by a newcomer, or queued too long under standing delay (CoDel). */
  shedBy: { displaced: number; 'queue-delay': number };
  /**
   * Measured time per unit of cost between completions while every permit was taken (1 / service rate), ms; NaN
   * until measured. Refusals' `retryAfterMs` and up-front `maxWaitMs` / deadline refusals use it.
   */
  msPerUnit: number;
}

/**
 * A fixed concurrency limiter, made by {@link bulkhead}. At capacity it refuses (`CONCURRENCY_LIMITED`, `QUEUE_FULL`)
 * or queues in its discipline's order, sheds waiters its discipline ranks lower (`SHED`), and evicts waiters whose
 * `maxWaitMs` or deadline runs out.
 * @example
 * ```ts
 * const pool: Bulkhead = bulkhead({ limit: 8 });
 * const r = pool.tryAcquire();
 * if (r.ok) { try { await work(); } finally { r.permit.release(); } }
 * ```
 */
export interface Bulkhead extends Limiter {
  /** Typed events: `reject`, `wouldReject` (dry-run), `dispose`. Free when nobody listens. */
  readonly events: QueueingLimiter<LimiterEvents>['events'];
  /**
   * Changes the limit at run time. Raising it admits waiters at once, in queue order. Lowering it never revokes a
   * running call: permits already held stay valid, and new calls are admitted only once `inflight` has drained
   * below the new limit. A waiter whose cost exceeds the new limit is refused (`CONCURRENCY_LIMITED`, `retryAfterMs:
   * Infinity`) when it reaches the head of the queue.
   * @throws {RangeError | TypeError} on an invalid value or an unknown setting name (the message suggests the closest).
   * @example
   * ```ts
   * pool.configure({ limit: 20 });
   * ```
   */
  configure(config: BulkheadConfig): void;
  /** A snapshot of counts and state: base queue stats plus `inflight`, `limit` and `maxInflightSeen`. */
  stats(): BulkheadStats;
}

/**
 * When a queued waiter must leave, and why. Only waiters with a finite expiry get one, so a bulkhead without
 * `maxWaitMs` and without deadlines never touches the heap or a timer.
 */
class Expiry implements DeadlineEntry {
  seq = 0;
  heapIndex = -1;
  constructor(
    readonly waiter: Waiter,
    /** Absolute clock time at which the waiter is evicted: the earlier of `enqueuedAt + maxWaitMs` and its deadline. */
    public due: number,
    readonly reason: RejectionCode,
  ) {}
}

/** A bulkhead permit: holds `units` of the limit until released, once. One small object, no closure. */
class UnitsPermit implements Permit {
  private done = false;
  constructor(
    private readonly owner: BulkheadImpl,
    readonly units: number,
  ) {}
  get released(): boolean {
    return this.done;
  }
  release(_outcome?: PermitOutcome): void {
    if (this.done) return;
    this.done = true;
    this.owner.releaseUnits(this.units);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * @internal the bulkhead's enforcement, which the adaptive limiter extends (its limit moves with every release).
 */
export class BulkheadImpl extends QueueingLimiter<LimiterEvents> implements Bulkhead {
  protected readonly busyReason = 'CONCURRENCY_LIMITED' as const;
  // Numbers from the start so V8 keeps them unboxed (see token-bucket.ts).
  protected limit = 0;
  protected inflight = 0;
  protected maxInflightSeen = 0;
  /** Set while `tryAcquire` runs, so dry-run judges it as a call that would not wait. */
  private trying = false;
  /**
   * Expiry of every queued waiter that has one. Why a heap: with FIFO order and one `maxWaitMs`, expiries would be
   * monotone in queue order (the head's would do), but per-call deadlines vary and a later priority discipline
   * reorders the queue, so the earliest expiry is not the head's. A binary heap gives it in O(1) and keeps insert and
   * removal (grant, abort) at O(log n) — O(1) for inserts in the common monotone case. Waiters without a finite
   * expiry never enter it.
   */
  private readonly expiries = new DeadlineHeap<Expiry>();
  private readonly expiryOf = new Map<Waiter, Expiry>();
  /**
   * The one timer of the bulkhead, armed at or before the earliest expiry. It is re-armed only when an earlier expiry
   * appears and cleared when no waiter has a finite expiry; when the waiter it was armed for leaves first (granted or
   * aborted), the alarm is left alone and fires early, which costs one heap peek and a re-arm. That trades a rare
   * early wake-up for not re-arming a host timer on every grant (one timer per grant under sustained load).
   */
  private readonly alarm = new Alarm(this.clock, () => this.reschedule());
  /** Completions per unit of cost while saturated: the service rate behind wait estimates and retry hints. */
  private readonly rate = new ServiceRate();
  /** True while the previous release found every permit taken (so the gap to the next one measures service). */
  private saturated = false;
  private lastSaturatedAt = 0;
  private readonly discipline: string;
  private readonly shedBy = { displaced: 0, 'queue-delay': 0 };
  /** Queue length per priority class and per tenant, for metrics (only with a sink; labels bounded). */
  private readonly gauges: QueueGauges | undefined;

  constructor(options: BulkheadOptions, kind = 'bulkhead', keys: ReadonlySet<string> = BULKHEAD_KEYS) {
    const o = v.optionsObject<BulkheadOptions>(kind, options, keys);
    if (o.limit === undefined) throw new TypeError(`${kind}: option "limit" is required`);
    // Validated before super(), which registers with the sink.
    const limit = v.integer(kind, 'limit', o.limit, 1);
    const queue = resolveQueue(kind, o.queue) as WaiterDiscipline;
    super(kind, parseCommon(kind, o), o, { maxQueue: 0, maxWaitMs: Infinity }, queue);
    this.limit = limit;
    this.discipline = typeof o.queue === 'string' ? o.queue : o.queue === undefined ? 'fifo' : disciplineName(o.queue);
    this.t.gauge(METRIC.inflight, {}, () => this.inflight);
    this.t.gauge(METRIC.limit, {}, () => this.limit);
    const shed = this.shedBy;
    this.t.counter(METRIC.shed, { trigger: 'displaced' }, () => shed.displaced);
    this.t.counter(METRIC.shed, { trigger: 'queue-delay' }, () => shed['queue-delay']);
    this.gauges = this.t.observed ? new QueueGauges(this.t) : undefined;
  }

  /** @internal a permit's release: frees its units, measures the service rate while saturated, admits waiters. */
  releaseUnits(units: number): void {
    const wasFull = this.inflight >= this.limit || this.waiting !== 0;
    this.inflight -= units;
    if (!wasFull) {
      this.saturated = false;
      return;
    }
    const now = this.clock.now();
    if (this.saturated) this.rate.sample(now - this.lastSaturatedAt, units);
    this.saturated = true;
    this.lastSaturatedAt = now;
    if (this.waiting !== 0) this.reschedule(now);
  }

  protected admit(units: number, _tenant?: string): Permit {
    if ((this.inflight += units) > this.maxInflightSeen) this.maxInflightSeen = this.inflight;
    return new UnitsPermit(this, units);
  }

  protected take(cost: number, now: number, tenant: string | undefined): Permit | undefined {
    if (this.fits(cost, tenant)) return this.admit(cost, tenant);
    if (!this.dryRun) return undefined;
    // Dry-run: every call runs and holds a real permit, so `inflight` is the true concurrency. Units beyond the
    // limit stand for the queue enforcement would have had; count those enforcement would have refused.
    const waiting = this.inflight + cost - this.limit;
    const hint = this.retryAfterFor(this.busyReason, cost, now, this.estimateWaitMs(cost, now, 0));
    if (this.maxQueue === 0 || this.trying) this.wouldReject(this.busyReason, hint, cost);
    else if (waiting > this.maxQueue) this.wouldReject('QUEUE_FULL', hint, cost);
    return this.admit(cost, tenant);
  }

  /** Whether `cost` more units (of `tenant`'s) may run now. */
  protected fits(cost: number, _tenant?: string): boolean {
    return this.inflight + cost <= this.limit;
  }

  /** The largest cost that could ever be admitted. */
  protected costCeiling(): number {
    return this.limit;
  }

  protected override checkCost(cost: number): void {
    if (cost > this.limit) {
      throw new RangeError(`${this.name}: cost ${cost} exceeds limit ${this.limit}; such a call could never be admitted`);
    }
  }

  override [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    // The base's uncontended path without its clock read: a fixed limit needs the time only to check a deadline.
    if (ctx.deadline === undefined && this.inflight + ctx.cost <= this.limit && this.waiting === 0 && !this.isDisposed && !ctx.signal.aborted) {
      this.t.counts.admitted++;
      return this.runHolding(this.admit(ctx.cost, ctx.tenant), next, ctx);
    }
    return super[RUN](next, ctx);
  }

  /** @internal fused path: the same clock-free uncontended case as `[RUN]`; the base's otherwise. */
  override enter(call: Call): unknown {
    const signal = call.callerSignal;
    if (
      call.outerDeadline === undefined &&
      this.inflight + call.cost <= this.limit &&
      this.waiting === 0 &&
      !this.isDisposed &&
      this.t.duration === undefined &&
      (signal === NEVER_ABORTED || !signal.aborted)
    ) {
      this.t.counts.admitted++;
      return this.admit(call.cost, call.tenant);
    }
    return super.enter(call);
  }

  /**
   * Runs `next` holding `permit` and releases it however `next` ends. Same contract as the base's, with one promise
   * reaction instead of an async function frame and an await (measured: fewer bytes and ns per call). Timed calls
   * (a sink that records durations) take the base's path.
   */
  protected override runHolding<T>(permit: Permit, next: Task<T>, ctx: Context): Promise<T> {
    if (this.t.duration !== undefined) return super.runHolding(permit, next, ctx);
    return this.holding(permit, next, ctx, undefined) as Promise<T>;
  }

  /** A granted waiter's task: its promise settles from the task's own reactions, with no run promise to adopt. */
  protected override runGranted(w: Waiter, permit: Permit, task: Task<unknown>): void {
    if (this.t.duration !== undefined) super.runGranted(w, permit, task);
    else this.holding(permit, task, w.ctx, w);
  }

  /**
   * Runs `next` holding `permit`, releasing it exactly once however `next` ends (`settle`: `next`'s result may be a
   * hostile thenable). The outcome goes to `w` when given (the returned promise then always fulfils, with
   * undefined), else it is the returned promise's.
   */
  private holding(permit: Permit, next: Task<unknown>, ctx: Context, w: Waiter | undefined): Promise<unknown> | undefined {
    let result: unknown;
    try {
      result = next(ctx);
    } catch (e) {
      permit.release(this.outcomeOf(e, ctx.signal, ctx.deadline));
      if (w === undefined) return Promise.reject(e);
      w.reject(e);
      return undefined;
    }
    return settle(
      result,
      (value) => {
        permit.release();
        if (w === undefined) return value;
        w.resolve(value);
        return undefined;
      },
      (error: unknown) => {
        permit.release(this.outcomeOf(error, ctx.signal, ctx.deadline));
        if (w === undefined) throw error;
        w.reject(error);
        return undefined;
      },
    );
  }

  override tryAcquire(options?: AcquireOptions): AcquireResult {
    if (!this.dryRun) return super.tryAcquire(options);
    this.trying = true;
    try {
      return super.tryAcquire(options);
    } finally {
      this.trying = false;
    }
  }

  /**
   * The wait a call of `cost` queued now would face: the units queued ahead of it (the discipline's `costAhead`, none
   * when it has no such count) plus its own, less the free units, times
   * the measured time per unit of service. NaN until the service rate has been measured (the base then neither
   * refuses on it nor gives a hint).
   */
  protected estimateWaitMs(cost: number, _now: number, priority: number): number {
    const ahead = this.queue.costAhead === undefined ? 0 : this.queue.costAhead(priority);
    const units = ahead + cost - (this.limit - this.inflight);
    return units <= 0 ? 0 : units * this.rate.msPerUnit;
  }

  /**
   * Only with callers queued ahead: with nobody waiting, the next release may come at any instant (even in this
   * one), so a call is queued, and leaves at its `maxWaitMs` or deadline if that passes first, rather than refused
   * on an average.
   */
  protected override refusesOnEstimate(): boolean {
    return this.waiting !== 0;
  }

  protected override onEnqueued(w: Waiter): void {
    this.gauges?.enqueued(w);
    let at = w.enqueuedAt + this.maxWaitMs;
    let reason: RejectionCode = 'MAX_WAIT_EXCEEDED';
    if (w.deadline !== undefined && w.deadline <= at) {
      at = w.deadline;
      reason = 'DEADLINE_EXCEEDED';
    }
    if (at === Infinity) return;
    const e = new Expiry(w, at, reason);
    this.expiries.push(e);
    this.expiryOf.set(w, e);
  }

  protected override onDequeued(w: Waiter): void {
    this.gauges?.dequeued(w);
    if (this.expiryOf.size === 0) return;
    const e = this.expiryOf.get(w);
    if (e === undefined) return;
    this.expiryOf.delete(w);
    this.expiries.remove(e);
  }

  protected override onDispose(): void {
    this.alarm.clear();
  }

  protected reschedule(now = this.clock.now()): void {
    // Expired waiters leave before anyone is admitted: a release at the very instant a waiter's time runs out (or
    // a host timer that fires late) must not start a call that can no longer start in time.
    for (let e = this.expiries.peek(); e !== undefined && e.due <= now; e = this.expiries.peek()) {
      this.expiries.pop();
      this.evict(e.waiter, e.reason, this.shedRetryAfterMs(e.waiter, now));
    }
    const q = this.queue;
    this.shedDue(now);
    // Head-of-line: a waiter whose cost does not fit yet is not overtaken by smaller ones behind it (they would
    // starve it); it is admitted as soon as enough units are free.
    for (let w = q.peek(now); w !== undefined; w = q.peek(now)) {
      if (w.cost > this.costCeiling()) {
        // The limit was lowered below its cost while it waited: it could never be admitted (nor could a retry).
        this.evict(w, 'CONCURRENCY_LIMITED', Infinity);
        continue;
      }
      if (!this.fits(w.cost, w.tenant)) break;
      this.grant(w, this.admit(w.cost, w.tenant), now);
    }
    const nextExpiry = this.expiries.peek();
    let due = nextExpiry === undefined ? Infinity : nextExpiry.due;
    if (q.nextShedAt !== undefined && q.size !== 0) {
      const shedAt = q.nextShedAt(now);
      // A discipline's wake-up at or before now would spin the timer: look again a millisecond later at the earliest.
      if (shedAt < due) due = shedAt > now ? shedAt : now + 1;
    }
    if (due === Infinity) this.alarm.clear();
    else if (!this.alarm.armed || due < this.alarm.dueAt) this.alarm.set(due);
  }

  protected override shedWaiter(w: Waiter, error: ShedError): void {
    this.shedBy[error.trigger]++;
    super.shedWaiter(w, error);
  }

  configure(config: BulkheadConfig): void {
    const c = v.optionsObject<BulkheadConfig>('bulkhead.configure', config, CONFIG_KEYS);
    this.limit = v.opt(c.limit, this.limit, (x) => v.integer('bulkhead.configure', 'limit', x, 1));
    // Raising admits waiters now; lowering admits nobody until inflight drains below the new limit.
    if (this.waiting !== 0) this.reschedule();
  }

  stats(): BulkheadStats {
    return {
      ...this.baseStats(),
      inflight: this.inflight,
      limit: this.limit,
      maxInflightSeen: this.maxInflightSeen,
      discipline: this.discipline,
      shedBy: { ...this.shedBy },
      msPerUnit: this.rate.msPerUnit,
    };
  }
}

/** A user discipline's name for stats: its class name, else `custom`. */
function disciplineName(d: QueueDiscipline): string {
  const ctor = (d as { constructor?: { name?: unknown } }).constructor;
  const n = ctor !== undefined && ctor !== Object ? ctor.name : undefined;
  return typeof n === 'string' && n !== '' ? n : 'custom';
}

/**
 * Creates a bulkhead: a fixed concurrency limit with a queue discipline. A call holds `cost` units of the limit
 * (default 1) from admission until it settles (`execute()` releases in `finally`; an `acquire()`d permit releases on
 * `release()` or `Symbol.dispose`).
 *
 * **At capacity:** with the default `maxQueue: 0`, a call that does not fit is refused at once with
 * `CONCURRENCY_LIMITED`. With `maxQueue > 0`, `acquire()`/`execute()` wait, and the `queue` discipline decides who
 * is admitted next as units free up (default FIFO; a waiter whose cost does not fit yet is not overtaken). When the
 * queue is full the discipline either refuses the newcomer (`QUEUE_FULL`: FIFO) or sheds a waiter it ranks lower,
 * which rejects at once with a {@link ShedError} (`SHED`, `trigger: 'displaced'`, naming the newcomer's priority and
 * tenant): the oldest for LIFO, the lowest-priority newest for priority, the heaviest tenant's newest for fair. CoDel
 * also sheds waiters that queued too long under a standing queue (`trigger: 'queue-delay'`). A waiter is evicted at
 * the moment its `maxWaitMs` elapses (`MAX_WAIT_EXCEEDED`) or its deadline passes (`DEADLINE_EXCEEDED`), and never
 * dispatched late.
 *
 * **Wait estimates and retry hints:** while every unit is taken, the bulkhead measures the time between completions
 * (an EWMA per unit of cost: the dependency's service rate, whatever the arrival rate). A newcomer's wait is that
 * time × the units its discipline ranks ahead of it (FIFO: every queued unit; priority: those at its level or above;
 * LIFO, fair and CoDel: none, an optimistic estimate). A call whose estimated wait exceeds `maxWaitMs` or its
 * deadline is refused at once instead of waiting in vain, and every refusal's `retryAfterMs` is that estimate (0
 * until the first measurement, rather than a guess).
 *
 * One timer serves the whole queue (expiries and CoDel's wake-ups), and none is armed unless a waiter can expire. An
 * aborted waiter leaves the queue at once (O(1); O(log k) across k priority levels or tenants), rejecting with
 * `signal.reason`. `dispose()` rejects every waiter with `DISPOSED`.
 *
 * **Dry run** (`dryRun: true`): every call is admitted and holds a permit, so `stats().inflight` and
 * `maxInflightSeen` show the real concurrency; a call that arrives when it would not fit is counted in
 * `wouldRejectBy` (`CONCURRENCY_LIMITED`, or `QUEUE_FULL` once more than `maxQueue` units run beyond the limit).
 * Queue order, shedding and evictions are not simulated.
 *
 * @throws {TypeError | RangeError} when an option is missing or invalid, an option name is unknown (the message
 * names it and suggests the closest known one), or `queue` is not a known name or a fresh discipline. A call whose
 * `cost` exceeds `limit` rejects with a RangeError (`tryAcquire` throws it).
 * @example
 * ```ts
 * const db = bulkhead({ limit: 10, maxQueue: 50, maxWaitMs: 500, queue: 'priority' });
 * const rows = await db.execute(({ signal }) => pool.query(sql, { signal }), { priority: 'critical' });
 * ```
 */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  return new BulkheadImpl(options);
}
