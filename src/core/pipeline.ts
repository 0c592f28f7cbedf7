/**
 * `pipeline(a, b, c)`: `a` wraps `b` wraps `c` wraps `fn`, read left to right, outermost first.
 */
import { Call, plainCall, type CallRunner } from './call.js';
import { createContext, type Context, type ExecuteOptions, type Task } from './context.js';
import { DisposedError } from './errors.js';
import { KIND, RUN, kindOf, type Policy } from './policy.js';
import { isThenable, settle } from './safe-call.js';
import { SLOW, fastStageOf, type FastStage } from './stage.js';
import { callTask as runTask } from './limiter-base.js';

type Stage = (ctx: Context) => Promise<unknown>;

class Pipeline implements Policy, CallRunner {
  readonly [KIND] = 'pipeline';
  readonly name: string;
  readonly clock: Policy['clock'];
  readonly policies: readonly Policy[];
  /** `suffix[i]` runs policies i, i+1, ... around the task through `[RUN]`; `suffix[n]` is the task alone. */
  private readonly suffix: readonly Stage[];
  /** Fused-path hooks of the leading policies that have them (a racer only as the innermost policy). */
  private readonly fast: readonly FastStage[];
  private isDisposed = false;

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
    if (this.isDisposed) return Promise.reject(new DisposedError(this.name));
    let ctx: Context | undefined;
    if (options !== undefined || this.fast.length === 0) {
      try {
        ctx = createContext(this.name, this.clock, options);
      } catch (e) {
        return Promise.reject(e);
      }
      ctx.task = fn as Task<unknown>;
      if (this.fast.length === 0) return this.stage(0, ctx) as Promise<T>;
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
    let r: unknown;
    let refused = false;
    try {
      for (; i < n; i++) {
        const state = fast[i]!.enter(call);
        if (state === SLOW) break;
        if (state !== undefined) call.setState(i, state);
      }
    } catch (e) {
      // An enter hook must not throw; if one does, the layers that admitted the call still hear an outcome.
      refused = true;
      r = e;
    }
    call.now = NaN; // the shared clock reading served this pass only
    const last = i - 1;
    if (refused) {
      if (last < 0) return Promise.reject(r);
      r = Promise.reject(r);
    } else if (i < this.policies.length) {
      r = this.stage(i, call);
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
    // `settle`, not `Promise.resolve(r).then`: r may be fn's hostile thenable, and the exits must run exactly once.
    return settle(
      r,
      (value) => this.unwind(call, last, value, false),
      (error: unknown) => this.unwind(call, last, error, true),
    );
  }

  /** Runs the general path from policy `i` inward; never throws (a policy whose `[RUN]` throws rejects). */
  private stage(i: number, ctx: Context): Promise<unknown> {
    try {
      return this.suffix[i]!(ctx);
    } catch (e) {
      return Promise.reject(e);
    }
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
      let t: PromiseLike<unknown> | undefined;
      try {
        t = fast[j]!.exit(call, call.stateOf(j), value, isError, this.suffix[j + 1] as Task<unknown>);
      } catch (e) {
        // An exit must not throw; if one does (a user predicate it calls), its error is the outcome the layers
        // outside see, and they still run their exits: every admission ends exactly once.
        value = e;
        isError = true;
        continue;
      }
      if (t !== undefined) {
        if (j === 0) return t;
        return settle(
          t,
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

  /**
   * Disposes every policy of the pipeline with `reason`, outermost first, and refuses later calls with a
   * `DisposedError`. Idempotent.
   */
  dispose(reason?: unknown): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const p of this.policies) {
      const d = (p as Partial<Policy>).dispose;
      if (typeof d === 'function') d.call(p, reason);
    }
  }

  /** `Symbol.dispose` alias of {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    if (this.isDisposed) return Promise.reject(new DisposedError(this.name));
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
    return this.stage(0, inner) as Promise<T>;
  }
}

function callTask(ctx: Context): Promise<unknown> {
  return runTask(ctx.task!, ctx);
}

/** Kinds of the limiters that can make a call wait in a queue. */
const QUEUEING_KINDS: ReadonlySet<string> = new Set(['bulkhead', 'tokenBucket', 'leakyBucket']);

/** Order warnings already emitted in this process (one per pattern). */
const warned = new Set<string>();

/** @internal for tests: forget which order warnings were emitted. */
export function resetOrderWarnings(): void {
  warned.clear();
}

/** Emits `message` as a one-time process warning (code `SLUICE_ORDER`) for `pattern`; nothing outside Node. */
function warnOrder(pattern: string, message: string): void {
  if (warned.has(pattern)) return;
  warned.add(pattern);
  const proc = (globalThis as { process?: { emitWarning?: (warning: string, options: { type: string; code: string }) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { type: 'SluiceWarning', code: 'SLUICE_ORDER' });
}

/** The policies of `p`, nested pipelines flattened, outermost first. */
function flatten(p: Policy, into: Policy[]): Policy[] {
  const inner = kindOf(p) === 'pipeline' ? (p as { policies?: unknown }).policies : undefined;
  if (Array.isArray(inner)) for (const q of inner as Policy[]) flatten(q, into);
  else into.push(p);
  return into;
}

function describe(p: Policy): string {
  const kind = kindOf(p);
  return kind === undefined || p.name === kind ? `"${p.name}"` : `${kind} "${p.name}"`;
}

/**
 * The order rules of docs/composition.md ("Anti-patterns") that a pipeline can see: a retry inside a bulkhead
 * (each backoff sleeps holding a concurrency permit), a timeout outside a limiter that queues (it times the queue
 * wait, so a busy limiter turns into timeouts).
 */
function checkOrder(name: string, flat: readonly Policy[]): void {
  const kinds = flat.map((p) => kindOf(p));
  const bulk = kinds.indexOf('bulkhead');
  const retryAt = bulk === -1 ? -1 : kinds.indexOf('retry', bulk + 1);
  if (retryAt !== -1) {
    warnOrder(
      'bulkhead-retry',
      `${name}: ${describe(flat[retryAt]!)} runs inside ${describe(flat[bulk]!)}, so every backoff sleeps holding a concurrency permit ` +
        'and under failure the permits fill with sleepers. Put the retry outside: pipeline(retry, circuitBreaker, rate limiter, bulkhead, timeout). ' +
        'See docs/composition.md (anti-patterns).',
    );
  }
  const tmo = kinds.indexOf('timeout');
  const limiterAt = tmo === -1 ? -1 : kinds.findIndex((k, i) => i > tmo && k !== undefined && QUEUEING_KINDS.has(k));
  if (limiterAt !== -1) {
    warnOrder(
      'timeout-limiter',
      `${name}: ${describe(flat[tmo]!)} is outside ${describe(flat[limiterAt]!)}, so it also times the wait in that limiter's queue ` +
        'and a busy limiter turns into timeouts (which a breaker counts as failures). Put the timeout innermost, and bound the whole call ' +
        'with execute(fn, { timeoutMs }). See docs/composition.md (anti-patterns).',
    );
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
 * **Order warnings:** two orders that docs/composition.md lists as anti-patterns emit a one-time process warning
 * (`process.emitWarning`, code `SLUICE_ORDER`, once per process for each pattern): a retry inside a bulkhead, and a
 * timeout outside a bulkhead or rate limiter. The pipeline still works as composed.
 *
 * **Disposal:** `dispose(reason?)` disposes every policy of the pipeline, outermost first, and refuses later calls
 * with `DisposedError` (see {@link Policy.dispose}).
 *
 * @throws {TypeError} when given no policies, a non-policy (a factory such as `retry` that was not called is named:
 * "did you forget to call retry()?"), the same policy instance twice (also through nested pipelines: it would wait
 * for itself), or policies on different clocks.
 * @example
 * ```ts
 * const guarded = pipeline(tokenBucket({ capacity: 20, refillPerSecond: 10 }), leakyBucket({ ratePerSecond: 5 }));
 * await guarded.execute(({ signal }) => fetch(url, { signal }));
 * ```
 */
export function pipeline(...policies: Policy[]): Policy {
  if (policies.length === 0) throw new TypeError('pipeline: needs at least one policy, got none');
  policies.forEach((p, i) => {
    if (typeof p === 'function') {
      const fname = (p as { name?: unknown }).name;
      const label = typeof fname === 'string' && fname.length > 0 ? fname : undefined;
      throw new TypeError(
        label === undefined
          ? `pipeline: argument ${i} is a function, not a policy: did you forget to call the factory?`
          : `pipeline: argument ${i} is the factory ${label}, not a policy: did you forget to call ${label}()?`,
      );
    }
    if (typeof p !== 'object' || p === null || typeof (p as Policy)[RUN] !== 'function') {
      throw new TypeError(`pipeline: argument ${i} is not a sluice policy, got ${p === null ? 'null' : typeof p === 'object' ? 'an object without [RUN]' : String(p)}`);
    }
  });
  const clock = policies[0]!.clock;
  const other = policies.findIndex((p) => p.clock !== clock);
  if (other !== -1) {
    throw new TypeError(
      `pipeline: every policy must share one clock; "${policies[other]!.name}" uses another clock than "${policies[0]!.name}": pass the same \`clock\` option to every policy of the pipeline (or none, for the shared systemClock)`,
    );
  }
  const flat: Policy[] = [];
  for (const p of policies) flatten(p, flat);
  const seen = new Set<Policy>();
  for (const p of flat) {
    if (seen.has(p)) {
      throw new TypeError(
        `pipeline: the policy ${describe(p)} appears twice (directly or through a nested pipeline); a call would pass it twice and could wait for itself. Create a second instance if you want two layers.`,
      );
    }
    seen.add(p);
  }
  const result = new Pipeline(policies);
  checkOrder(result.name, flat);
  return result;
}
