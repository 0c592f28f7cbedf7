/**
 * The contracts every primitive implements: {@link Policy} (wraps a function) and {@link Limiter} (a Policy that
 * also hands out permits). See docs/architecture.md for how to add a primitive.
 */
import type { Clock } from './clock.js';
import type { Context, ExecuteOptions, Task } from './context.js';
import type { RejectionCode } from './errors.js';
import type { Permit } from './permit.js';

/**
 * Composition entry point. `policy[RUN](next, ctx)` runs `next(ctx)` under the policy with a context built by an
 * outer layer. Keyed by a registered symbol so that duplicate copies of sluice still compose.
 */
export const RUN: unique symbol = Symbol.for('sluice.run') as never;

/**
 * Key of a policy's kind (`'retry'`, `'circuitBreaker'`, `'tokenBucket'`, `'leakyBucket'`, `'bulkhead'`, `'timeout'`,
 * `'fallback'`, `'pipeline'`): how `pipeline()` recognises what it composes, since names are user-settable.
 * Registered, like {@link RUN}, so that a duplicate copy of sluice recognises the policies of the other.
 */
export const KIND: unique symbol = Symbol.for('sluice.kind') as never;

/** The kind of a policy ({@link KIND}), or undefined for a policy that declares none. */
export function kindOf(p: object): string | undefined {
  const k = (p as { [KIND]?: unknown })[KIND];
  return typeof k === 'string' ? k : undefined;
}

/**
 * Anything that wraps an async function: a limiter, a breaker, a retry, a pipeline of them.
 * @example
 * ```ts
 * const result = await policy.execute(({ signal }) => fetch(url, { signal }), { timeoutMs: 2000 });
 * ```
 */
export interface Policy {
  /** Instance name, used in errors, events and metric labels. */
  readonly name: string;
  /** The clock the policy reads; every policy of one pipeline must share it. */
  readonly clock: Clock;
  /**
   * Runs `fn` under the policy.
   * @throws {RejectedError} (as a rejection) when refused locally; the abort reason when `options.signal` aborts;
   * otherwise whatever `fn` throws.
   */
  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T>;
  /**
   * Shuts the policy down. Idempotent. Afterwards every call is refused at once with `DisposedError`
   * (`code: 'DISPOSED'`, `fn` not called), and the policy holds no timer. What it does to calls already inside
   * depends on what they wait for:
   * - what waits *on the policy* is rejected with `reason` (default: a `DisposedError`): a limiter's queued waiters,
   *   a retry's calls sleeping in a backoff, a timeout's running calls (their `ctx.signal` aborts with the same
   *   reason, and `fn`'s late outcome is dropped);
   * - calls that merely run under it (holding a permit, observed by a breaker or a fallback) run to the end, and
   *   release what they hold as usual;
   * - a `pipeline()` disposes each of its policies with `reason`, outermost first (so a pipeline owns its policies:
   *   do not dispose one whose policies are shared with other pipelines that must go on working).
   */
  dispose(reason?: unknown): void;
  /** Same as `dispose()`, so that `using policy = ...` disposes it at the end of the scope. */
  [Symbol.dispose](): void;
  /** @internal composition: run `next` with a context built by an outer layer. */
  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T>;
}

/** Options for {@link Limiter.tryAcquire} and {@link Limiter.acquire}. */
export type AcquireOptions = ExecuteOptions;

/** A refusal, as a value. */
export interface Refusal {
  readonly ok: false;
  /** Why the permit was refused. */
  readonly reason: RejectionCode;
  /** Milliseconds until the same request could be admitted if nothing else changes (0 = unknown/now). */
  readonly retryAfterMs: number;
}

/** Result of {@link Limiter.tryAcquire}: a permit or a refusal. Never throws for capacity reasons. */
export type AcquireResult = { readonly ok: true; readonly permit: Permit } | Refusal;

/**
 * A Policy that hands out permits.
 */
export interface Limiter extends Policy {
  /**
   * Takes a permit now if one is free; never waits and never queues. A refusal for capacity is a value
   * (`{ ok: false, reason, retryAfterMs }`), never an exception; a disposed limiter answers `{ ok: false, reason:
   * 'DISPOSED' }`. An already-aborted `options.signal` is not a capacity refusal: like `acquire()` and `execute()`,
   * which reject with `signal.reason`, `tryAcquire()` throws `signal.reason` synchronously (`signal.throwIfAborted()`
   * semantics), takes nothing and counts nothing.
   * @throws {TypeError | RangeError} for malformed options; `options.signal.reason` when the signal has aborted.
   * @example
   * ```ts
   * const r = limiter.tryAcquire({ signal });
   * if (!r.ok) return reply(429, { retryAfterMs: r.retryAfterMs });
   * try { await work(); } finally { r.permit.release(); }
   * ```
   */
  tryAcquire(options?: AcquireOptions): AcquireResult;
  /**
   * Takes a permit, waiting in the limiter's queue if allowed.
   * @throws {RejectedError} (as a rejection) when refused; the abort reason when `options.signal` aborts.
   */
  acquire(options?: AcquireOptions): Promise<Permit>;
  /**
   * Rejects every waiter with `DisposedError` (or `reason`), clears timers, refuses later calls (`tryAcquire()`
   * answers `DISPOSED`). Permits already held stay valid until released. Idempotent.
   */
  dispose(reason?: unknown): void;
  /** Same as `dispose()`, so that `using limiter = tokenBucket(...)` disposes it at the end of the scope. */
  [Symbol.dispose](): void;
}
