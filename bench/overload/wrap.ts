/**
 * A policy shell for the bench's instrumentation wrappers (heavier requests, priority-inversion counting): it runs
 * calls through `inner` (or unprotected when undefined) with the caller's own `execute`, and exposes the inner
 * policy as a pipeline stage so the simulator still reads its gauges.
 */
import { NEVER_ABORTED, type Context, type ExecuteOptions, type Task } from '../../src/core/context.js';
import { RUN, type Policy } from '../../src/core/policy.js';
import type { SimEnvironment } from '../../src/sim/index.js';

/** Runs `fn` through `inner`, or directly (with the caller's signal and deadline) when there is no protection. */
export function runThrough<T>(inner: Policy | undefined, fn: Task<T>, options?: ExecuteOptions): Promise<T> {
  if (inner !== undefined) return inner.execute(fn, options);
  const ctx = { signal: options?.signal ?? NEVER_ABORTED, deadline: options?.deadline ?? Infinity } as unknown as Context;
  return (async () => fn(ctx))();
}

/** A policy named `name(inner)` whose `execute` is the given one; everything else delegates to `inner`. */
export function wrapPolicy(
  env: SimEnvironment,
  inner: Policy | undefined,
  name: string,
  execute: <T>(fn: Task<T>, options?: ExecuteOptions) => Promise<T>,
): Policy {
  return {
    name: `${name}(${inner?.name ?? 'none'})`,
    clock: env.clock,
    // Lets the simulator read the inner policy's gauges (it looks for `policies` like a pipeline's).
    policies: inner === undefined ? [] : [inner],
    execute,
    [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
      return inner === undefined ? (async () => next(ctx))() : inner[RUN](next, ctx);
    },
    dispose(reason?: unknown): void {
      inner?.dispose(reason);
    },
    [Symbol.dispose](): void {
      inner?.dispose();
    },
  } as unknown as Policy;
}
