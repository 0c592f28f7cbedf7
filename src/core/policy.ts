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
   * Takes a permit now if one is free; never waits and never queues.
   * @throws {TypeError | RangeError} only for malformed options.
   */
  tryAcquire(options?: AcquireOptions): AcquireResult;
  /**
   * Takes a permit, waiting in the limiter's queue if allowed.
   * @throws {RejectedError} (as a rejection) when refused; the abort reason when `options.signal` aborts.
   */
  acquire(options?: AcquireOptions): Promise<Permit>;
  /** Rejects every waiter with `DisposedError` (or `reason`), clears timers, refuses later calls. Idempotent. */
  dispose(reason?: unknown): void;
  /** Same as `dispose()`, so that `using limiter = tokenBucket(...)` disposes it at the end of the scope. */
  [Symbol.dispose](): void;
}
