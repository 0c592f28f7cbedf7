/**
 * Heavier requests for the cost-aware S7 variant. The simulator's downstream draws one service time per call
 * whatever the call's `cost`, so a request that does k units of work is modelled here as k downstream calls in
 * sequence, all inside the one permit (and deadline) that the policy under test granted the request.
 */
import type { ExecuteOptions, Task } from '../../src/core/context.js';
import type { Policy } from '../../src/core/policy.js';
import type { SimEnvironment } from '../../src/sim/index.js';
import { runThrough, wrapPolicy } from './wrap.js';

/** Wraps `inner` (or no protection) so that calls of `tenant` run their protected function `times` times in a row. */
export function heavierTenant(env: SimEnvironment, inner: Policy | undefined, tenant: string, times: number): Policy {
  const heavy = <T>(fn: Task<T>): Task<T> =>
    async (ctx) => {
      for (let k = 1; k < times; k++) await fn(ctx);
      return fn(ctx);
    };
  return wrapPolicy(env, inner, 'heavier', <T>(fn: Task<T>, options?: ExecuteOptions) =>
    runThrough(inner, options?.tenant === tenant ? heavy(fn) : fn, options),
  );
}
