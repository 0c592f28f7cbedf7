/**
 * `keyed()`: one policy per key (an origin, a customer, a partition), made on first use by a factory, kept in a
 * bounded least-recently-used map, and disposed when evicted. Each call picks its key from its execute options.
 */
import { Context, DEFAULT_CONTEXT, executeContext, type ExecuteOptions, type ExecutionContext, type Task } from '../core/context.js';
import type { Clock } from '../core/clock.js';
import { ConcurrencyLimitedError, DisposedError } from '../core/errors.js';
import { COMMON_KEYS, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { KIND, RUN, type Policy } from '../core/policy.js';
import { reportError, settle } from '../core/safe-call.js';
import { Telemetry, type LimiterEvents, type LimiterCounts } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { METRIC, type Metrics } from '../metrics/metrics.js';

/**
 * What a {@link keyed} factory is given with the key: options to spread into the policies it makes
 * (`tokenBucket({ ...info, capacity: 10, refillPerSecond: 5 })`), so they are named by key, run on the keyed policy's
 * clock and report to its metrics sink.
 */
export interface KeyInfo {
  /**
   * A name for the key's policy (`<keyed name>/<key>`, the key cut to 64 characters plus a hash when longer): give
   * it to the policies you create, so that their metric series are labelled by key.
   */
  readonly name: string;
  /** The keyed policy's clock: the key's policies must use it. */
  readonly clock: Clock;
  /** The keyed policy's metrics sink, if any. */
  readonly metrics: Metrics | undefined;
}

/** Options of {@link keyed}. */
export interface KeyedOptions extends CommonOptions {
  /**
   * Most keys with live state. A new key beyond it evicts (and disposes) the least recently used key that has no
   * call in flight; when every key has calls in flight, the new key's call is refused with `CONCURRENCY_LIMITED`.
   * Integer ≥ 1. Default 1000.
   */
  maxKeys?: number;
  /**
   * A key without a call in flight for this long, ms, is evicted (and its policy disposed) the next time a key is
   * created or `stats()` is read. > 0 or `Infinity`. Default 600 000 (10 minutes).
   */
  idleMs?: number;
  /**
   * The key of a call. Default: its `key` option (a call without one is refused with a TypeError). For per-tenant
   * limits: `(ctx) => ctx.tenant ?? 'anonymous'`.
   */
  keyOf?: (context: ExecutionContext) => string | undefined;
}

/** Why a key's state went away. */
export type EvictionReason = 'idle' | 'capacity' | 'deleted';

/** Emitted when a key's policy is evicted and disposed. */
export interface EvictEvent {
  readonly policy: string;
  readonly key: string;
  readonly reason: EvictionReason;
}

/** Events of a {@link Keyed} policy. */
export interface KeyedEvents extends LimiterEvents {
  evict: (event: EvictEvent) => void;
}

/** Snapshot returned by {@link Keyed.stats}. */
export interface KeyedStats extends LimiterCounts {
  name: string;
  /** Keys with live state. */
  keys: number;
  maxKeys: number;
  idleMs: number;
  /** Keys created since the start. */
  created: number;
  /** Keys evicted, by reason. */
  evicted: Record<EvictionReason, number>;
  /** Calls in flight, over every key. */
  inflight: number;
  disposed: boolean;
}

/** One policy per key, bounded. */
export interface Keyed<P extends Policy = Policy> extends Policy {
  readonly events: Telemetry<KeyedEvents>['events'];
  /**
   * The policy of `key`, made now if it has none (which may evict the least recently used idle key). Marks the key
   * used.
   * @throws {TypeError} for a key that is not a non-empty string; {@link ConcurrencyLimitedError} when `maxKeys` keys
   *   all have calls in flight; {@link DisposedError} after `dispose()`.
   */
  get(key: string): P;
  /** The policy of `key` if it has live state; never creates one, never marks the key used. */
  peek(key: string): P | undefined;
  /** Evicts `key` (disposing its policy, whose calls in flight run to their end). Returns whether it existed. */
  delete(key: string): boolean;
  /** The keys with live state, least recently used first. */
  keys(): string[];
  /** Keys with live state. */
  readonly size: number;
  stats(): KeyedStats;
}

const KNOWN = v.keys(...COMMON_KEYS, 'maxKeys', 'idleMs', 'keyOf');
const OWNER = 'keyed';
const MAX_LABEL = 64;

class Entry<P extends Policy> {
  inflight = 0;
  constructor(
    readonly owner: KeyedImpl<P>,
    readonly key: string,
    readonly policy: P,
    public lastUsed: number,
  ) {}
  /** A call of this key ended (handlers shared by its calls: no closure per call). */
  readonly fulfilled = (value: unknown): unknown => {
    this.owner.ended(this);
    return value;
  };
  readonly rejected = (error: unknown): never => {
    this.owner.ended(this);
    throw error;
  };
}

/** FNV-1a, for a short stable suffix that keeps cut labels distinct. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

class KeyedImpl<P extends Policy> implements Keyed<P> {
  readonly [KIND] = 'keyed';
  readonly name: string;
  readonly clock: Clock;
  private readonly metrics: Metrics | undefined;
  private readonly t: Telemetry<KeyedEvents>;
  private readonly factory: (key: string, info: KeyInfo) => P;
  private readonly maxKeys: number;
  private readonly idleMs: number;
  private readonly keyOf: ((context: ExecutionContext) => string | undefined) | undefined;
  /** Insertion order is recency order: a used key is moved to the end. */
  private readonly entries = new Map<string, Entry<P>>();
  private isDisposed = false;
  private created = 0;
  private inflight = 0;
  private readonly evicted: Record<EvictionReason, number> = { idle: 0, capacity: 0, deleted: 0 };

  constructor(factory: (key: string, info: KeyInfo) => P, options: KeyedOptions | undefined) {
    this.factory = v.func<(key: string, info: KeyInfo) => P>(OWNER, 'factory', factory);
    const o = v.optionsObject<KeyedOptions>(OWNER, options, KNOWN);
    const common = parseCommon(OWNER, o);
    this.maxKeys = v.opt(o.maxKeys, 1000, (x) => v.integer(OWNER, 'maxKeys', x, 1, false));
    this.idleMs = v.opt(o.idleMs, 600_000, (x) => (x === Infinity ? Infinity : v.positive(OWNER, 'idleMs', x)));
    this.keyOf = v.opt(o.keyOf, undefined, (x) => v.func<(context: ExecutionContext) => string | undefined>(OWNER, 'keyOf', x));
    this.name = common.name;
    this.clock = common.clock;
    this.metrics = common.metrics;
    this.t = new Telemetry<KeyedEvents>(OWNER, this.name, common.metrics);
    this.t.gauge(METRIC.keys, {}, () => this.entries.size);
    for (const reason of ['idle', 'capacity', 'deleted'] as const) {
      this.t.counter(METRIC.keyEvictions, { reason }, () => this.evicted[reason]);
    }
  }

  get events(): Telemetry<KeyedEvents>['events'] {
    return this.t.events;
  }

  get size(): number {
    return this.entries.size;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    if (this.isDisposed) return this.t.refuseDisposed(ctx.cost);
    let key: unknown;
    try {
      key = this.keyOf === undefined ? ctx.key : this.keyOf(ctx);
    } catch (e) {
      return Promise.reject(e);
    }
    if (typeof key !== 'string' || key.length === 0) {
      return Promise.reject(
        new TypeError(`${this.name}: a call needs a key (a non-empty string${this.keyOf === undefined ? ', the "key" option of execute()' : ' from keyOf'}), got ${v.describeValue(key)}`),
      );
    }
    let entry: Entry<P>;
    try {
      entry = this.entry(key);
    } catch (e) {
      return Promise.reject(e);
    }
    this.t.counts.admitted++;
    entry.inflight++;
    this.inflight++;
    let run: Promise<T>;
    try {
      // Through execute(), with the context as its options: a pipeline then takes its fused path.
      run = entry.policy.execute(next, ctx);
    } catch (e) {
      run = Promise.reject(e);
    }
    return settle(run, entry.fulfilled, entry.rejected) as Promise<T>;
  }

  /** @internal a call of `entry` ended. */
  ended(entry: Entry<P>): void {
    entry.inflight--;
    this.inflight--;
    entry.lastUsed = this.clock.now();
  }

  get(key: string): P {
    if (this.isDisposed) throw new DisposedError(this.name);
    const e = this.entry(v.name(this.name, 'key', key));
    e.lastUsed = this.clock.now();
    return e.policy;
  }

  peek(key: string): P | undefined {
    return this.entries.get(key)?.policy;
  }

  private entry(key: string): Entry<P> {
    const e = this.entries.get(key);
    if (e !== undefined) {
      // A key in use is never evicted, and its last use is stamped when its call ends (no clock read here).
      // Move to the most recent end (skipped when already there, the common case of one hot key).
      if (this.entries.size > 1) {
        this.entries.delete(key);
        this.entries.set(key, e);
      }
      return e;
    }
    const now = this.clock.now();
    this.sweep(now);
    if (this.entries.size >= this.maxKeys && !this.evictOne()) {
      this.t.rejected('CONCURRENCY_LIMITED', 0, 1);
      throw new ConcurrencyLimitedError(this.name, 0, `${this.name}: all ${this.maxKeys} keys have calls in flight; no state for key ${JSON.stringify(label(key))}`);
    }
    const info: KeyInfo = { name: `${this.name}/${label(key)}`, clock: this.clock, metrics: this.metrics };
    const policy = this.factory(key, info);
    if (typeof policy !== 'object' || policy === null || typeof (policy as { [RUN]?: unknown })[RUN] !== 'function') {
      throw new TypeError(`${this.name}: the factory must return a sluice policy, got ${v.describeValue(policy)} for key ${JSON.stringify(label(key))}`);
    }
    if (policy.clock !== this.clock) {
      throw new TypeError(`${this.name}: the policy made for key ${JSON.stringify(label(key))} must use the keyed policy's clock (pass info.clock to it)`);
    }
    const entry = new Entry(this, key, policy, now);
    this.entries.set(key, entry);
    this.created++;
    return entry;
  }

  /** Evicts keys idle for `idleMs`, oldest first, stopping at the first recent one. */
  private sweep(now: number): void {
    if (this.idleMs === Infinity) return;
    for (const e of this.entries.values()) {
      if (e.lastUsed + this.idleMs > now) break;
      if (e.inflight === 0) this.remove(e, 'idle');
    }
  }

  /** Evicts the least recently used key without calls in flight; false when every key has some. */
  private evictOne(): boolean {
    for (const e of this.entries.values()) {
      if (e.inflight === 0) {
        this.remove(e, 'capacity');
        return true;
      }
    }
    return false;
  }

  private remove(e: Entry<P>, reason: EvictionReason): void {
    this.entries.delete(e.key);
    this.evicted[reason]++;
    try {
      e.policy.dispose();
    } catch (err) {
      reportError(err);
    }
    if (this.t.listening('evict')) this.t.emit('evict', { policy: this.name, key: e.key, reason } satisfies EvictEvent);
  }

  delete(key: string): boolean {
    const e = this.entries.get(key);
    if (e === undefined) return false;
    this.remove(e, 'deleted');
    return true;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  stats(): KeyedStats {
    if (!this.isDisposed) this.sweep(this.clock.now());
    return {
      name: this.name,
      ...this.t.snapshotCounts(),
      keys: this.entries.size,
      maxKeys: this.maxKeys,
      idleMs: this.idleMs,
      created: this.created,
      evicted: { ...this.evicted },
      inflight: this.inflight,
      disposed: this.isDisposed,
    };
  }

  dispose(reason?: unknown): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const e of entries) {
      try {
        e.policy.dispose(reason);
      } catch (err) {
        reportError(err);
      }
    }
    this.t.disposed(0);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A key fit for a name and a metric label: cut to 64 characters, with a hash of the whole key when cut. */
function label(key: string): string {
  return key.length <= MAX_LABEL ? key : `${key.slice(0, MAX_LABEL)}~${hash(key)}`;
}

/**
 * Creates a keyed policy: each call runs under the policy of its key (an origin, a customer, a tenant), which
 * `factory(key, info)` makes on the key's first call. Per-key state is bounded: at most `maxKeys` keys (default
 * 1000) live at once, the least recently used idle key is evicted (and its policy disposed) to make room, and a key
 * idle for `idleMs` (default 10 minutes) is evicted too, so a flood of distinct keys cannot grow memory. Give
 * `info.name` to the policies the factory makes: their metric series are then labelled by key, and the number of
 * live series is bounded by `maxKeys`.
 *
 * **At capacity:** when all `maxKeys` keys have calls in flight, a call for a new key is refused with
 * `CONCURRENCY_LIMITED` (`retryAfterMs` 0); a call for a live key is never refused by `keyed` itself. Disposing a
 * keyed policy disposes every key's policy with the same reason.
 *
 * @throws {TypeError | RangeError} when `factory` is not a function or an option is invalid or unknown. A call
 *   without a key rejects with a TypeError; a factory that throws, or returns something that is not a sluice policy
 *   on the keyed policy's clock, rejects the call with that error (nothing is kept for the key).
 * @example
 * ```ts
 * const perCustomer = keyed((_key, info) => tokenBucket({ ...info, capacity: 10, refillPerSecond: 5 }), { maxKeys: 10_000 });
 * await perCustomer.execute(() => handle(req), { key: req.customerId });
 * ```
 */
export function keyed<P extends Policy>(factory: (key: string, info: KeyInfo) => P, options?: KeyedOptions): Keyed<P> {
  return new KeyedImpl(factory, options);
}
