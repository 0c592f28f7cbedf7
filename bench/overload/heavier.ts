/**
 * Heavier requests for the cost-aware S7 variant. The simulator's downstream draws one service time per call
 * whatever the call's `cost`, so a request that does k units of work is modelled here as k downstream calls in
 * sequence, all inside the one permit (and deadline) that the policy under test granted the request.
 */
import { NEVER_ABORTED, type Context, type ExecuteOptions, type Task } from '../../src/core/context.js';
import { RUN, type Policy } from '../../src/core/policy.js';
import type { SimEnvironment } from '../../src/sim/index.js';

/** Wraps `inner` (or no protection) so that calls of `tenant` run their protected function `times` times in a row. */
export function heavierTenant(env: SimEnvironment, inner: Policy | undefined, tenant: string, times: number): Policy {
  const heavy = <T>(fn: Task<T>): Task<T> =>
    async (ctx) => {
      for (let k = 1; k < times; k++) await fn(ctx);
      return fn(ctx);
    };
  const pick = <T>(fn: Task<T>, options?: ExecuteOptions): Task<T> => (options?.tenant === tenant ? heavy(fn) : fn);
  return {
    name: `heavier(${inner?.name ?? 'none'})`,
    clock: env.clock,
    // Lets the simulator read the inner policy's gauges (it looks for `policies` like a pipeline's).
    policies: inner === undefined ? [] : [inner],
    execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
      const f = pick(fn, options);
      if (inner !== undefined) return inner.execute(f, options);
      const ctx = { signal: options?.signal ?? NEVER_ABORTED, deadline: options?.deadline ?? Infinity } as unknown as Context;
      return (async () => f(ctx))();
    },
    [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
      return inner === undefined ? (async () => next(ctx))() : inner[RUN](next, ctx);
    },
    dispose(reason?: unknown): void {
      inner?.dispose(reason);
    },
    [Symbol.dispose](): void {
      inner?.dispose();
    },
  } as Policy;
}
