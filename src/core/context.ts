/**
 * The execution context: what a protected function learns about its call, and what travels from the outermost
 * policy of a pipeline to the innermost.
 */
import type { Clock } from './clock.js';
import { PRIORITY, type PriorityClass } from './queue.js';
import * as v from './validate.js';

/**
 * Per-call options accepted by `execute()`, `acquire()` and `tryAcquire()`. An unknown option name is a TypeError
 * naming it and the closest known one (`{ timeout: 1000 }`: did you mean "timeoutMs"?). The context a protected
 * function received may be passed back as the options of a nested call (`inner.execute(fn, ctx)`): it carries more
 * fields than these, and is accepted as it is.
 */
export interface ExecuteOptions {
  /**
   * Aborting it rejects the call with `signal.reason`. A call waiting in a queue or in a retry's backoff leaves at
   * once and frees its place. A running call rejects at once only under a `timeout()` policy (which races `fn`);
   * elsewhere `fn` receives the signal and the call ends when `fn` does, so pass it on (`fetch(url, { signal })`).
   * Must be an AbortSignal (or an object with `aborted`, `addEventListener` and `removeEventListener`).
   */
  signal?: AbortSignal;
  /**
   * Importance, higher first: a finite number or a named class (`'critical'` 200, `'high'` 100, `'default'` 0,
   * `'low'` -100, `'sheddable'` -200; see `PRIORITY`). Default 0. Read by priority queues (admission order, whom to
   * shed when full) and reported per class in metrics.
   */
  priority?: number | PriorityClass;
  /** Tenant key for fairness and per-tenant limits. Default: none. */
  tenant?: string;
  /**
   * The key a `keyed()` policy routes the call by (an origin, a customer, a partition): a non-empty string. Unlike
   * `tenant`, no limiter reads it, so a per-key pipeline can still share its capacity fairly between tenants.
   * Default: none.
   */
  key?: string;
  /**
   * Units of capacity the call consumes: tokens or pacing slots in a rate limiter, units of the limit in a bulkhead
   * (a call of cost 3 holds 3 of a bulkhead's `limit` while it runs), work in a fair queue's shares. Finite, > 0.
   * Default 1. One `cost` travels through a whole pipeline and means the same call's weight to every layer.
   */
  cost?: number;
  /**
   * Absolute deadline on the policy's clock (`clock.now()` scale), in milliseconds. Queue waits, attempts and
   * backoff all draw on it; a call that cannot start before it is refused at once. Default: none.
   */
  deadline?: number;
  /** Relative budget for the whole call in milliseconds from now; combined with `deadline`, the earlier wins. */
  timeoutMs?: number;
}

/** What the protected function receives. */
export interface ExecutionContext {
  /** Aborts when the caller aborts or the deadline passes (when a timeout policy is in the pipeline). */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, incremented by retry. */
  readonly attempt: number;
  /** Absolute deadline on the clock, or `undefined`. */
  readonly deadline: number | undefined;
  /** See {@link ExecuteOptions.priority}. */
  readonly priority: number;
  /** See {@link ExecuteOptions.tenant}. */
  readonly tenant: string | undefined;
  /** See {@link ExecuteOptions.key}. */
  readonly key: string | undefined;
  /** See {@link ExecuteOptions.cost}. */
  readonly cost: number;
}

/** A protected function. It may be sync or async; a sync throw becomes a rejection. */
export type Task<T> = (context: ExecutionContext) => T | PromiseLike<T>;

/**
 * A signal that never aborts, shared by every call made without one (no per-call AbortController). One per process:
 * every copy of sluice (ESM and CommonJS builds) takes the first one's, stored under `Symbol.for('sluice.neverAborted')`.
 */
export const NEVER_ABORTED: AbortSignal = ((globalThis as { [k: symbol]: unknown })[Symbol.for('sluice.neverAborted')] ??= new AbortController().signal) as AbortSignal;

/**
 * Marks the objects a protected function receives as its context (`Context`, and `Call` in core/call.ts), so that
 * one passed back as options is accepted with the extra fields it carries. Registered, so that a context of another
 * copy of sluice is recognised too. Read from the prototype: it costs the context nothing.
 */
export const CONTEXT_BRAND: unique symbol = Symbol.for('sluice.context') as never;

/** The per-call option names (see {@link ExecuteOptions}). */
const EXECUTE_KEYS = v.keys('signal', 'priority', 'tenant', 'key', 'cost', 'deadline', 'timeoutMs');

/**
 * Concrete context. `task` carries the user's function through a pipeline so that composition needs no per-call
 * closure; `retryDepth` lets nested retries see each other.
 */
export class Context implements ExecutionContext {
  signal: AbortSignal;
  attempt: number;
  deadline: number | undefined;
  priority: number;
  tenant: string | undefined;
  key: string | undefined;
  cost: number;
  /** @internal the user's function, set by the outermost `execute()`. */
  task: Task<unknown> | undefined;
  /** @internal number of retry policies enclosing this call. */
  retryDepth: number;

  constructor(
    signal: AbortSignal,
    deadline: number | undefined,
    priority: number,
    tenant: string | undefined,
    cost: number,
    attempt = 1,
    retryDepth = 0,
  ) {
    this.signal = signal;
    this.attempt = attempt;
    this.deadline = deadline;
    this.priority = priority;
    this.tenant = tenant;
    this.key = undefined;
    this.cost = cost;
    this.task = undefined;
    this.retryDepth = retryDepth;
  }

  /** A copy with other signal/deadline/attempt, keeping task, priority, tenant, key and cost. */
  derive(signal: AbortSignal, deadline: number | undefined, attempt: number, retryDepth = this.retryDepth): Context {
    return derivedContext(this, signal, deadline, attempt, retryDepth);
  }

  /** @internal see {@link CONTEXT_BRAND}. */
  get [CONTEXT_BRAND](): true {
    return true;
  }
}

/** A context with `from`'s task, priority, tenant, key and cost, and the given signal, deadline, attempt and depth. */
export function derivedContext(
  from: Pick<Context, 'priority' | 'tenant' | 'key' | 'cost' | 'task'>,
  signal: AbortSignal,
  deadline: number | undefined,
  attempt: number,
  retryDepth: number,
): Context {
  const c = new Context(signal, deadline, from.priority, from.tenant, from.cost, attempt, retryDepth);
  c.task = from.task;
  c.key = from.key;
  return c;
}

/**
 * Validates per-call options and builds a context. `owner` names the caller in error messages.
 * @throws {TypeError | RangeError} on a malformed option.
 */
export function createContext(owner: string, clock: Clock, options: ExecuteOptions | undefined): Context {
  if (options === undefined) return new Context(NEVER_ABORTED, undefined, 0, undefined, 1);
  const o = v.optionsObject<ExecuteOptions>(owner, options); // no per-call label string: `owner` already names the caller
  if ((o as { [CONTEXT_BRAND]?: unknown })[CONTEXT_BRAND] !== true) checkExecuteKeys(owner, o);
  const signal = o.signal ?? NEVER_ABORTED;
  if (o.signal !== undefined && signal !== NEVER_ABORTED && !isAbortSignal(o.signal)) {
    throw new TypeError(
      `${owner}: option "signal" must be an AbortSignal (a boolean "aborted", addEventListener() and removeEventListener()), got ${describeValue(o.signal)}`,
    );
  }
  const priority = o.priority === undefined ? 0 : parsePriority(owner, o.priority);
  const tenant = o.tenant === undefined ? undefined : v.name(owner, 'tenant', o.tenant);
  const cost = o.cost === undefined ? 1 : v.positive(owner, 'cost', o.cost);
  let deadline = o.deadline === undefined ? undefined : v.between(owner, 'deadline', o.deadline, -Number.MAX_VALUE, Number.MAX_VALUE);
  if (o.timeoutMs !== undefined) {
    const d = clock.now() + v.nonNegative(owner, 'timeoutMs', o.timeoutMs);
    deadline = deadline === undefined ? d : Math.min(deadline, d);
  }
  const c = new Context(signal, deadline, priority, tenant, cost);
  if (o.key !== undefined) c.key = v.name(owner, 'key', o.key);
  // A context a protected function received, passed back as options (`inner.execute(fn, ctx)`), links the two
  // calls: retries inside see the retries enclosing them (see retry's nested rule).
  const depth = (o as { retryDepth?: unknown }).retryDepth;
  if (typeof depth === 'number' && depth > 0) c.retryDepth = depth;
  return c;
}

/** A per-call `priority`: a finite number or a named class. */
export function parsePriority(owner: string, p: unknown): number {
  if (typeof p === 'string') {
    if (Object.prototype.hasOwnProperty.call(PRIORITY, p)) return PRIORITY[p as PriorityClass];
    throw new RangeError(`${owner}: option "priority" must be a finite number or one of ${Object.keys(PRIORITY).map((k) => `"${k}"`).join(', ')}, got "${p}"`);
  }
  return v.between(owner, 'priority', p, -Number.MAX_VALUE, Number.MAX_VALUE);
}

/**
 * The per-call key check, cheap enough for every call: a switch over the (usually one or two) keys, the generic
 * check with its "did you mean" only for a key that is not an option.
 */
function checkExecuteKeys(owner: string, o: object): void {
  for (const key in o) {
    switch (key) {
      case 'signal':
      case 'timeoutMs':
      case 'deadline':
      case 'priority':
      case 'tenant':
      case 'key':
      case 'cost':
        continue;
    }
    if (Object.prototype.hasOwnProperty.call(o, key)) v.knownKeys(owner, o, EXECUTE_KEYS);
  }
}

/**
 * A signal sluice can listen to and stop listening to. A signal-like object without `removeEventListener` would be
 * listened to forever (and throw when sluice tries to stop), so it is refused up front.
 */
function isAbortSignal(s: unknown): s is AbortSignal {
  if (typeof s !== 'object' || s === null) return false;
  const x = s as AbortSignal;
  return typeof x.aborted === 'boolean' && typeof x.addEventListener === 'function' && typeof x.removeEventListener === 'function';
}

function describeValue(x: unknown): string {
  if (typeof x !== 'object' || x === null) return typeof x === 'string' ? JSON.stringify(x) : String(x);
  const missing = ['aborted', 'addEventListener', 'removeEventListener'].filter((k) => !(k in x));
  return missing.length === 0 ? 'an object whose "aborted" is not a boolean' : `an object without ${missing.map((k) => `"${k}"`).join(', ')}`;
}

/** The rejection value for an aborted signal: its `reason`, as the platform defines it. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason;
}

/** The context of calls made without options: shared and frozen, so an uncontended call allocates none. */
export const DEFAULT_CONTEXT: Context = Object.freeze(new Context(NEVER_ABORTED, undefined, 0, undefined, 1)) as Context;

/**
 * The checks every `execute(fn, options)` begins with: `fn` must be a function and the options valid. Returns the
 * context to run `fn` with ({@link DEFAULT_CONTEXT} when there are no options), or a rejected promise (TypeError /
 * RangeError) for the caller to return as is. Never throws. Each policy keeps its own `this[RUN](fn, ctx)` call, so
 * that call site stays monomorphic. Test `ctx === DEFAULT_CONTEXT` before `instanceof`: `instanceof` on the frozen
 * default context costs about 8 ns per call.
 * @example
 * ```ts
 * execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
 *   const ctx = executeContext(this, fn, options);
 *   return ctx === DEFAULT_CONTEXT || ctx instanceof Context ? this[RUN](fn, ctx) : ctx;
 * }
 * ```
 */
export function executeContext(policy: { readonly name: string; readonly clock: Clock }, fn: unknown, options: ExecuteOptions | undefined): Context | Promise<never> {
  if (typeof fn !== 'function') return Promise.reject(new TypeError(`${policy.name}: execute(fn) needs a function, got ${typeof fn}`));
  if (options === undefined) return DEFAULT_CONTEXT;
  try {
    return createContext(policy.name, policy.clock, options);
  } catch (e) {
    return Promise.reject(e);
  }
}
