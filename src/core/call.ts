/**
 * One call in flight, as one object: the context a protected function receives, the entry a timeout keeps in its
 * deadline heap, and (on a pipeline's fused path, see stage.ts) the record of which layers admitted it. Living in the
 * kernel lets `timeout()` and `pipeline()` share it without the kernel importing a family.
 */
import { CONTEXT_BRAND, NEVER_ABORTED, derivedContext, type Context, type Task } from './context.js';
import type { Clock } from './clock.js';
import type { DeadlineEntry } from './deadline-heap.js';

/** The policy that races a call against its deadline (a timeout). It alone sets {@link Call.racer}. */
export interface Racer {
  readonly clock: Clock;
  /** Fixes the start of an unstamped call at `now` (sets `startedAt` and `due`). */
  stamp(call: Call, now: number): void;
  /** The caller's signal aborted while the call runs. */
  callerAborted(call: Call): void;
}

/** Where a raced call's outcome goes when it is not simply the caller's promise: a fused pipeline. */
export interface CallRunner {
  /** The racer ended the call (in time, late-by-deadline, or aborted): unwind the layers outside it. */
  raced(call: Call, value: unknown, isError: boolean): void;
}

/** `endReason` of a call that has not ended early. */
export const RUNNING: unique symbol = Symbol('running');

const NOOP = (): void => {};

// Captures a promise's resolving functions without allocating an executor closure per call.
let capturedResolve: (value: unknown) => void = NOOP;
let capturedReject: (reason: unknown) => void = NOOP;
function capture(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

export { isThenable } from './safe-call.js';

/**
 * A call in flight. Until a racer (a timeout) takes it, `signal` is the caller's and `deadline` the one the call came
 * with. Once raced, `signal` is materialised on first read (until then the call holds no AbortController) and
 * `deadline` is `min(start + timeoutMs, context deadline)`, stamped on first read or by the racer.
 */
export class Call implements Context, DeadlineEntry {
  attempt: number;
  priority: number;
  tenant: string | undefined;
  key: string | undefined = undefined;
  cost: number;
  task: Task<unknown> | undefined = undefined;
  retryDepth: number;
  /** The deadline the call came with (before any racer narrowed it). */
  readonly outerDeadline: number | undefined;
  /** The caller's signal (never the racer's). */
  readonly callerSignal: AbortSignal;

  /** The racer that owns this call's deadline, if any. */
  racer: Racer | undefined = undefined;
  /** Where the outcome goes once raced; undefined: straight to the caller's promise. */
  runner: CallRunner | undefined = undefined;
  /** When the raced call started on the clock; NaN until stamped. */
  startedAt = NaN;
  /** The effective deadline once raced; NaN until stamped. */
  due = NaN;
  seq = 0;
  heapIndex = -1;
  /** The race is over: the outcome is decided (or the call finished synchronously). */
  done = false;
  /** The TimeoutError or the caller's abort reason once the call ended early; RUNNING otherwise. */
  endReason: unknown = RUNNING;
  controller: AbortController | undefined = undefined;
  resolve: (value: unknown) => void = NOOP;
  reject: (reason: unknown) => void = NOOP;

  /** Fused path only: a clock reading shared by the layers admitting the call in one synchronous pass; else NaN. */
  now = NaN;
  /**
   * Fused path only: what the layers asked to get back when the call ends: layers 0 and 1 in fields (a breaker's
   * generation, a bulkhead's permit: no array per call), the rest in an array allocated on first use.
   */
  state0: unknown = undefined;
  state1: unknown = undefined;
  moreStates: unknown[] | undefined = undefined;

  constructor(callerSignal: AbortSignal, deadline: number | undefined, priority: number, tenant: string | undefined, cost: number, attempt: number, retryDepth: number) {
    this.callerSignal = callerSignal;
    this.outerDeadline = deadline;
    this.priority = priority;
    this.tenant = tenant;
    this.cost = cost;
    this.attempt = attempt;
    this.retryDepth = retryDepth;
  }

  /** A call from a context (copies what the context carries, task included). */
  static from(ctx: Context): Call {
    const c = new Call(ctx.signal, ctx.deadline, ctx.priority, ctx.tenant, ctx.cost, ctx.attempt, ctx.retryDepth);
    c.task = ctx.task;
    c.key = ctx.key;
    return c;
  }

  /** The effective deadline: the racer's once raced, else the one the call came with. */
  get deadline(): number | undefined {
    if (this.racer === undefined) return this.outerDeadline;
    if (this.due !== this.due) this.racer.stamp(this, this.racer.clock.now());
    return this.due;
  }

  /** Once raced: aborts at the deadline (reason: the TimeoutError) or when the caller aborts (reason: theirs). */
  get signal(): AbortSignal {
    if (this.racer === undefined) return this.callerSignal;
    let c = this.controller;
    if (c === undefined) {
      c = this.controller = new AbortController();
      if (this.endReason !== RUNNING) c.abort(this.endReason);
      else if (this.callerSignal.aborted) c.abort(this.callerSignal.reason);
    }
    return c.signal;
  }

  /** The clock reading of this admission pass, read once ({@link now}). */
  time(clock: Clock): number {
    const n = this.now;
    return n === n ? n : (this.now = clock.now());
  }

  derive(signal: AbortSignal, deadline: number | undefined, attempt: number, retryDepth = this.retryDepth): Context {
    return derivedContext(this, signal, deadline, attempt, retryDepth);
  }

  /** Fused path: keeps what layer `i` asked to get back. */
  setState(i: number, state: unknown): void {
    if (i === 0) this.state0 = state;
    else if (i === 1) this.state1 = state;
    else (this.moreStates ??= [])[i] = state;
  }

  /** Fused path: what layer `i` asked to get back. */
  stateOf(i: number): unknown {
    return i === 0 ? this.state0 : i === 1 ? this.state1 : this.moreStates?.[i];
  }

  /** Gives the call its own promise (settled by {@link end}); used once the call went asynchronous under a racer. */
  promise(): Promise<unknown> {
    const p = new Promise(capture);
    this.resolve = capturedResolve;
    this.reject = capturedReject;
    return p;
  }

  /** The race is decided: hand the outcome on (to the runner, or to the caller's promise). */
  end(value: unknown, isError: boolean): void {
    if (this.runner !== undefined) this.runner.raced(this, value, isError);
    else if (isError) this.reject(value);
    else this.resolve(value);
  }

  /** @internal a Call passed back as options is accepted as a context (see CONTEXT_BRAND). */
  get [CONTEXT_BRAND](): true {
    return true;
  }

  /** Listener for the caller's signal (an object listener: no closure per call). */
  handleEvent(): void {
    this.racer?.callerAborted(this);
  }
}

/** A call without options: nothing to abort it, no deadline, first attempt. */
export function plainCall(): Call {
  return new Call(NEVER_ABORTED, undefined, 0, undefined, 1, 1, 0);
}
