/**
 * `pipeline(a, b, c)`: `a` wraps `b` wraps `c` wraps `fn`, read left to right, outermost first.
 */
import { createContext, type Context, type ExecuteOptions, type Task } from './context.js';
import { RUN, type Policy } from './policy.js';

type Stage = (ctx: Context) => Promise<unknown>;

class Pipeline implements Policy {
  readonly name: string;
  readonly clock: Policy['clock'];
  readonly policies: readonly Policy[];
  private readonly entry: Stage;

  constructor(policies: readonly Policy[]) {
    this.policies = policies;
    this.name = `pipeline(${policies.map((p) => p.name).join(', ')})`;
    this.clock = policies[0]!.clock;
    // Stages are compiled once: stage i runs policy i around stage i+1; the innermost stage calls the user's
    // function, which travels on the context. No closure is allocated per call.
    let next: Stage = (ctx) => callTask(ctx);
    for (let i = policies.length - 1; i >= 0; i--) {
      const policy = policies[i]!;
      const inner = next;
      next = (ctx) => policy[RUN](inner as Task<unknown>, ctx);
    }
    this.entry = next;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`${this.name}: execute(fn) needs a function, got ${typeof fn}`));
    let ctx: Context;
    try {
      ctx = createContext(this.name, this.clock, options);
    } catch (e) {
      return Promise.reject(e);
    }
    ctx.task = fn as Task<unknown>;
    return this.entry(ctx) as Promise<T>;
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    // Nested pipeline: our innermost stage must continue into the outer `next`, which in turn ends in the outer
    // task. The inner stages may run later (after a queue wait), so the shared context is never mutated: the inner
    // context carries a continuation and hands the outer task back on the way in. Allocates only when nesting.
    const outerTask = ctx.task;
    const inner = ctx.derive(ctx.signal, ctx.deadline, ctx.attempt);
    inner.task = (innerCtx) => {
      const c = innerCtx as Context;
      const back = c.derive(c.signal, c.deadline, c.attempt);
      back.task = outerTask;
      return next(back);
    };
    return this.entry(inner) as Promise<T>;
  }
}

function callTask(ctx: Context): Promise<unknown> {
  try {
    return Promise.resolve(ctx.task!(ctx));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Composes policies into one Policy. The first argument is outermost: `pipeline(retry, breaker, bucket, timeout)`
 * retries around a breaker around a bucket around a timeout around `fn`. Recommended order:
 * retry → circuit breaker → rate limiter → concurrency limiter/bulkhead → timeout → fn, so a backoff never holds a
 * permit and each attempt is admitted afresh.
 *
 * At capacity it behaves as its layers do: the first layer that refuses rejects the call.
 *
 * @throws {TypeError} when given no policies, a non-policy, or policies on different clocks.
 * @example
 * ```ts
 * const guarded = pipeline(tokenBucket({ capacity: 20, refillPerSecond: 10 }), leakyBucket({ ratePerSecond: 5 }));
 * await guarded.execute(({ signal }) => fetch(url, { signal }));
 * ```
 */
export function pipeline(...policies: Policy[]): Policy {
  if (policies.length === 0) throw new TypeError('pipeline: needs at least one policy, got none');
  policies.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || typeof (p as Policy)[RUN] !== 'function') {
      throw new TypeError(`pipeline: argument ${i} is not a sluice policy, got ${String(p)}`);
    }
  });
  const clock = policies[0]!.clock;
  const other = policies.findIndex((p) => p.clock !== clock);
  if (other !== -1) {
    throw new TypeError(`pipeline: every policy must share one clock; "${policies[other]!.name}" uses another clock than "${policies[0]!.name}"`);
  }
  return new Pipeline(policies);
}
