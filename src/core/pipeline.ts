/**
 * `pipeline(a, b, c)`: `a` wraps `b` wraps `c` wraps `fn`, read left to right, outermost first.
 */
import { Call, isThenable, plainCall, type CallRunner } from './call.js';
import { createContext, type Context, type ExecuteOptions, type Task } from './context.js';
import { RUN, type Policy } from './policy.js';
import { SLOW, fastStageOf, type FastStage } from './stage.js';

type Stage = (ctx: Context) => Promise<unknown>;

class Pipeline implements Policy, CallRunner {
  readonly name: string;
  readonly clock: Policy['clock'];
  readonly policies: readonly Policy[];
  /** `suffix[i]` runs policies i, i+1, ... around the task through `[RUN]`; `suffix[n]` is the task alone. */
  private readonly suffix: readonly Stage[];
  /** Fused-path hooks of the leading policies that have them (a racer only as the innermost policy). */
  private readonly fast: readonly FastStage[];

  constructor(policies: readonly Policy[]) {
    this.policies = policies;
    this.name = `pipeline(${policies.map((p) => p.name).join(', ')})`;
    this.clock = policies[0]!.clock;
    // Stages are compiled once: stage i runs policy i around stage i+1; the innermost stage calls the user's
    // function, which travels on the context. No closure is allocated per call.
    const suffix: Stage[] = [];
    suffix[policies.length] = callTask;
    for (let i = policies.length - 1; i >= 0; i--) {
      const policy = policies[i]!;
      const inner = suffix[i + 1]!;
      suffix[i] = (ctx) => policy[RUN](inner as Task<unknown>, ctx);
    }
    this.suffix = suffix;
    const fast: FastStage[] = [];
    for (const [i, p] of policies.entries()) {
      const stage = fastStageOf(p);
      // A racer decides the caller's promise, so only the innermost policy may race on the fused path.
      if (stage === undefined || (stage.track !== undefined && i !== policies.length - 1)) break;
      fast.push(stage);
    }
    this.fast = fast;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`${this.name}: execute(fn) needs a function, got ${typeof fn}`));
    let ctx: Context | undefined;
    if (options !== undefined || this.fast.length === 0) {
      try {
        ctx = createContext(this.name, this.clock, options);
      } catch (e) {
        return Promise.reject(e);
      }
      ctx.task = fn as Task<unknown>;
      if (this.fast.length === 0) return this.suffix[0]!(ctx) as Promise<T>;
    }
    const call = ctx === undefined ? plainCall() : Call.from(ctx);
    call.task = fn as Task<unknown>;
    return this.fused(call) as Promise<T>;
  }

  /**
   * The fused path: every leading policy that can admits the call synchronously, then `fn` (or, from the first
   * policy that declined, the general path) runs, and one reaction hands the outcome to their exits, innermost
   * first. When the innermost policy races the call (a timeout), the call gets its own promise and the racer ends it.
   */
  private fused(call: Call): Promise<unknown> {
    const fast = this.fast;
    const n = fast.length;
    let i = 0;
    for (; i < n; i++) {
      const state = fast[i]!.enter(call);
      if (state === SLOW) break;
      if (state !== undefined) call.setState(i, state);
    }
    call.now = NaN; // the shared clock reading served this pass only
    const last = i - 1;
    let r: unknown;
    if (i < this.policies.length) {
      r = this.suffix[i]!(call);
      if (last < 0) return r as Promise<unknown>;
    } else {
      let threw = false;
      try {
        r = call.task!(call);
      } catch (e) {
        threw = true;
        r = e;
      }
      if (threw || !isThenable(r)) r = this.settledAtOnce(call, last, r, threw);
      else if (call.racer !== undefined) {
        call.runner = this;
        const p = call.promise();
        fast[last]!.track!(call, r);
        return p;
      }
    }
    return Promise.resolve(r).then(
      (value) => this.unwind(call, last, value, false),
      (error: unknown) => this.unwind(call, last, error, true),
    );
  }

  /** fn ended synchronously: the racer (if any) has nothing to race; the exits still run a microtask later. */
  private settledAtOnce(call: Call, last: number, value: unknown, isError: boolean): Promise<unknown> {
    if (call.racer !== undefined && this.fast[last]!.endedAtOnce!(call)) return Promise.reject(call.callerSignal.reason);
    return isError ? Promise.reject(value) : Promise.resolve(value);
  }

  /**
   * Runs the exits of fused stages `from`, ..., 0 with the outcome. Returns the final value (throws the final error),
   * or a promise when a stage took over (a retry's further attempts): the stages outside it then see its outcome.
   */
  private unwind(call: Call, from: number, value: unknown, isError: boolean): unknown {
    const fast = this.fast;
    for (let j = from; j >= 0; j--) {
      const t = fast[j]!.exit(call, call.stateOf(j), value, isError, this.suffix[j + 1] as Task<unknown>);
      if (t !== undefined) {
        if (j === 0) return t;
        return Promise.resolve(t).then(
          (v) => this.unwind(call, j - 1, v, false),
          (e: unknown) => this.unwind(call, j - 1, e, true),
        );
      }
    }
    if (isError) throw value;
    return value;
  }

  /** @internal The racer ended a fused call (outcome in time, timeout or abort): unwind and settle its promise. */
  raced(call: Call, value: unknown, isError: boolean): void {
    let out: unknown;
    try {
      out = this.unwind(call, this.fast.length - 1, value, isError);
    } catch (e) {
      call.reject(e);
      return;
    }
    call.resolve(out);
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
    return this.suffix[0]!(inner) as Promise<T>;
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
 * **Cost:** sluice's own policies are fused: each admits the call synchronously and hears its outcome
 * synchronously, around one promise reaction per call instead of one per layer; a layer that must wait, refuse or
 * do anything unusual runs (with the layers inside it) the general way, with the same behaviour. A timeout fuses
 * only as the innermost policy.
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
