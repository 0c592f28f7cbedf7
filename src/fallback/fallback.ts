/**
 * Fallback: turns selected failures of the inner pipeline (errors, including local rejections, and optionally
 * results) into a replacement value, computed or fixed.
 */
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, executeContext, type ExecuteOptions, type ExecutionContext, type Task } from '../core/context.js';
import { COMMON_KEYS, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import { KIND, RUN, type Policy } from '../core/policy.js';
import { settle } from '../core/safe-call.js';
import { SLOW, STAGE, type FastStage } from '../core/stage.js';
import type { Call } from '../core/call.js';
import { Telemetry, type DisposeEvent, type RejectEvent } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { METRIC } from '../metrics/metrics.js';

/** What triggered a fallback: an error of the inner pipeline, or a result selected by `whenResult`. */
export type FallbackKind = 'error' | 'result';

/**
 * Computes the replacement. `failure` is the error (kind `'error'`) or the rejected result (kind `'result'`);
 * `ctx` is the context the fallback policy received. May be async; if it throws, the call rejects with that error.
 */
export type FallbackHandler<T> = (failure: unknown, ctx: ExecutionContext, kind: FallbackKind) => T | PromiseLike<T>;

/** Options of {@link fallback}. Give exactly one of `value` and `handler`. */
export interface FallbackOptions<T> extends CommonOptions {
  /** The replacement returned on a selected failure (may be `undefined` or `null`, if given explicitly). */
  value?: T;
  /** Computes the replacement on a selected failure: `(failure, ctx, kind) => T | Promise<T>`. */
  handler?: FallbackHandler<T>;
  /**
   * Which errors to replace. Default: every error, including local rejections from inner sluice policies
   * (`RATE_LIMITED`, `QUEUE_FULL`, `CIRCUIT_OPEN`, ...) and `TimeoutError`: that is how a cached or degraded
   * response is served under backpressure. Never consulted for the caller's own abort (see {@link fallback}).
   * A predicate that throws rejects the call with its error.
   */
  when?: (error: unknown) => boolean;
  /**
   * Which results to replace, e.g. `(res) => res.status >= 500`. Default: none (every result passes through).
   */
  whenResult?: (result: unknown) => boolean;
}

/** Emitted when a failure is replaced. */
export interface FallbackEvent {
  /** Policy instance name. */
  readonly policy: string;
  readonly kind: FallbackKind;
  /** The error replaced (kind `'error'`), else undefined. */
  readonly error: unknown;
  /** The result replaced (kind `'result'`), else undefined. */
  readonly result: unknown;
}

/** Events a {@link Fallback} emits. Free when nobody listens. */
export interface FallbackEvents {
  /** A failure was replaced by the fallback. */
  fallback: (event: FallbackEvent) => void;
  /** A call was refused because the policy was disposed (`DISPOSED`). */
  reject: (event: RejectEvent) => void;
  /** The policy was disposed. */
  dispose: (event: DisposeEvent) => void;
}

/** Snapshot returned by {@link Fallback.stats}. */
export interface FallbackStats {
  name: string;
  /** Calls that started (the inner pipeline was called). */
  calls: number;
  /** Failures replaced, errors and results together. */
  fallbacks: number;
  /** Of `fallbacks`, those triggered by a result (`whenResult`). */
  fallbacksOnResult: number;
  /** Fallbacks whose handler threw or rejected (the call rejected with the handler's error). */
  handlerErrors: number;
  /** Failures passed through unreplaced because the caller had aborted. */
  aborted: number;
  /** Calls refused with `DISPOSED` after {@link Fallback.dispose}. */
  rejected: number;
  /** Whether {@link Fallback.dispose} was called. */
  disposed: boolean;
}

/** A fallback policy whose replacement has type `T`. */
export interface Fallback<T> extends Policy {
  /** Runs `fn`; a selected failure resolves with the replacement instead. */
  execute<R>(fn: Task<R>, options?: ExecuteOptions): Promise<R | T>;
  /** The {@link Policy} signature (what a pipeline sees): the replacement type is not tracked there. */
  execute<R>(fn: Task<R>, options?: ExecuteOptions): Promise<R>;
  /** Typed events: `fallback`, `reject` (after dispose), `dispose`. */
  readonly events: Telemetry<FallbackEvents>['events'];
  stats(): FallbackStats;
  /**
   * Refuses later calls with `DisposedError` (`fn` not called, nothing replaced). A fallback holds no capacity and
   * no timer: calls already running go on, and their failures are still replaced. Idempotent.
   */
  dispose(reason?: unknown): void;
  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void;
}

/** Option names {@link fallback} accepts. */
const FALLBACK_KEYS = v.keys(...COMMON_KEYS, 'value', 'handler', 'when', 'whenResult');

const pass = <R>(result: R): R => result;

class FallbackImpl<T> implements Fallback<T>, FastStage {
  readonly [KIND] = 'fallback';
  readonly name: string;
  readonly clock: Policy['clock'];
  private readonly t: Telemetry<FallbackEvents>;
  private readonly value: T | undefined;
  private readonly handler: FallbackHandler<T> | undefined;
  private readonly when: ((error: unknown) => boolean) | undefined;
  private readonly whenResult: ((result: unknown) => boolean) | undefined;
  private fallbacks = 0;
  private fallbacksOnResult = 0;
  private handlerErrors = 0;
  private isDisposed = false;
  private readonly onErrorShared = (error: unknown): unknown => this.recover(error, DEFAULT_CONTEXT);
  private readonly onResultShared = (result: unknown): unknown => this.check(result, DEFAULT_CONTEXT);
  private readonly countHandlerError = (error: unknown): never => {
    this.handlerErrors++;
    throw error;
  };

  constructor(options: FallbackOptions<T>) {
    const o = v.optionsObject<FallbackOptions<T>>('fallback', options, FALLBACK_KEYS);
    const common = parseCommon('fallback', o);
    const hasValue = 'value' in o;
    if (hasValue && o.handler !== undefined) throw new TypeError('fallback: give option "value" or option "handler", not both');
    if (!hasValue && o.handler === undefined) throw new TypeError('fallback: option "value" or option "handler" is required');
    this.value = o.value;
    this.handler = v.opt(o.handler, undefined, (x) => v.func<FallbackHandler<T>>('fallback', 'handler', x));
    this.when = v.opt(o.when, undefined, (x) => v.func<(error: unknown) => boolean>('fallback', 'when', x));
    this.whenResult = v.opt(o.whenResult, undefined, (x) => v.func<(result: unknown) => boolean>('fallback', 'whenResult', x));
    this.name = common.name;
    this.clock = common.clock;
    this.t = new Telemetry<FallbackEvents>('fallback', this.name, common.metrics);
    this.t.counter(METRIC.fallbacks, { on: 'error' }, () => this.fallbacks - this.fallbacksOnResult);
    this.t.counter(METRIC.fallbacks, { on: 'result' }, () => this.fallbacksOnResult);
  }

  get events(): Telemetry<FallbackEvents>['events'] {
    return this.t.events;
  }

  execute<R>(fn: Task<R>, options?: ExecuteOptions): Promise<R | T> {
    const ctx = executeContext(this, fn, options);
    return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
  }

  [RUN]<R>(next: Task<R>, ctx: Context): Promise<R> {
    if (this.isDisposed) return this.t.refuseDisposed(ctx.cost);
    const signal = ctx.signal;
    if (signal !== NEVER_ABORTED && signal.aborted) return Promise.reject(signal.reason);
    this.t.counts.admitted++;
    let run: unknown;
    try {
      run = next(ctx);
    } catch (e) {
      run = Promise.reject(e);
    }
    // Calls made without options share one context, and so share these handlers: no closure per call. `settle`:
    // `run` may be fn's own (hostile) thenable, and exactly one handler must run.
    const shared = ctx === DEFAULT_CONTEXT;
    const onError = shared ? (this.onErrorShared as (e: unknown) => R) : (e: unknown) => this.recover<R>(e, ctx);
    if (this.whenResult === undefined) return settle(run, pass as (r: unknown) => R, onError);
    return settle(run, shared ? (this.onResultShared as (r: unknown) => R) : (r: unknown) => this.check(r as R, ctx), onError);
  }

  /** @internal fused-path hooks: this policy itself. */
  get [STAGE](): FastStage {
    return this;
  }

  /** @internal fused path: admits every call not already aborted; keeps the retry depth it was entered at. */
  enter(call: Call): unknown {
    const signal = call.callerSignal;
    if (this.isDisposed || (signal !== NEVER_ABORTED && signal.aborted)) return SLOW;
    this.t.counts.admitted++;
    return call.retryDepth === 0 ? undefined : call.retryDepth;
  }

  /** @internal fused path: the same decisions as `[RUN]`'s handlers; a replacement takes over the outcome. */
  exit(call: Call, depth: unknown, value: unknown, isError: boolean): PromiseLike<unknown> | undefined {
    if (!isError && this.whenResult === undefined) return undefined;
    // The context this policy was entered with, as `[RUN]` would have handed to the handler.
    const ctx = call.derive(call.callerSignal, call.outerDeadline, call.attempt, depth === undefined ? 0 : (depth as number));
    try {
      const out = isError ? this.recover(value, ctx) : this.check(value, ctx);
      return out === value && !isError ? undefined : Promise.resolve(out);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private check<R>(result: R, ctx: Context): R | PromiseLike<R> {
    if (!this.whenResult!(result)) return result;
    this.fallbacksOnResult++;
    return this.replace('result', result, ctx);
  }

  private recover<R>(error: unknown, ctx: Context): R | PromiseLike<R> {
    // The caller gave up: nobody wants a replacement, and an abort always rejects with signal.reason.
    const signal = ctx.signal;
    if (signal.aborted) {
      this.t.counts.aborted++;
      throw signal.reason;
    }
    if (this.when !== undefined && !this.when(error)) throw error;
    return this.replace('error', error, ctx);
  }

  private replace<R>(kind: FallbackKind, failure: unknown, ctx: Context): R | PromiseLike<R> {
    this.fallbacks++;
    if (this.t.listening('fallback')) {
      // A listener's throw is reported, not made the call's outcome: the caller still gets the replacement.
      this.t.emit('fallback', {
        policy: this.name,
        kind,
        error: kind === 'error' ? failure : undefined,
        result: kind === 'result' ? failure : undefined,
      } satisfies FallbackEvent);
    }
    // The policy signature cannot say that R may be replaced by T; Fallback.execute's first overload does.
    if (this.handler === undefined) return this.value as unknown as R;
    let replacement: T | PromiseLike<T>;
    try {
      replacement = this.handler(failure, ctx, kind);
    } catch (e) {
      this.handlerErrors++;
      throw e;
    }
    return settle(replacement, pass, this.countHandlerError) as unknown as PromiseLike<R>;
  }

  stats(): FallbackStats {
    return {
      name: this.name,
      calls: this.t.counts.admitted,
      fallbacks: this.fallbacks,
      fallbacksOnResult: this.fallbacksOnResult,
      handlerErrors: this.handlerErrors,
      aborted: this.t.counts.aborted,
      rejected: this.t.counts.rejected,
      disposed: this.isDisposed,
    };
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.t.disposed(0);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Creates a fallback policy: when the inner pipeline fails with an error selected by `when` (default: every error,
 * including local rejections and timeouts) or returns a result selected by `whenResult` (default: none), the call
 * resolves with `value`, or with what `handler(failure, ctx, kind)` returns, instead. Place it outermost so that it
 * sees every failure: `pipeline(fallback, retry, breaker, bucket, timeout)`.
 *
 * **At capacity:** a fallback holds no capacity and never refuses; it is how a caller serves a cached or degraded
 * response when an inner limiter or breaker refuses. The caller's own abort is never replaced: an aborted call
 * (abort before start, or a failure that arrives after the caller's signal aborted) rejects with `signal.reason`.
 * Errors not selected by `when` pass through unchanged. If the handler throws, the call rejects with that error.
 *
 * **Typing:** `execute()` on the fallback itself returns `Promise<R | T>`; inside a `pipeline()` the static type is
 * the pipeline's `Promise<R>`, so pick `T` compatible with what `fn` returns.
 *
 * @throws {TypeError} when neither or both of `value` and `handler` are given, or `handler`, `when`, `whenResult`
 * is not a function, another option is invalid, or an option name is unknown (the message names it and suggests the
 * closest known one).
 * @example
 * ```ts
 * const cached = fallback({ handler: (err) => cache.get(key) ?? Promise.reject(err), when: isRejectedError });
 * const res = await pipeline(cached, tokenBucket({ capacity: 10, refillPerSecond: 5 }))
 *   .execute(({ signal }) => fetch(url, { signal }));
 * ```
 */
export function fallback<T>(options: FallbackOptions<T>): Fallback<T> {
  return new FallbackImpl(options);
}
