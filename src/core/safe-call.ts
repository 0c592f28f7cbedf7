/**
 * Handling values and callbacks that come from users, so that none of them can break an invariant of a policy:
 * `execute()` never throws synchronously, every admission ends exactly once, and a callback run for many callers
 * (from a shared timer, or a loop over waiters) cannot stop the others when it throws.
 *
 * **What happens to a callback's error.** A user callback (an event listener, a signal's `removeEventListener`)
 * that throws where nobody awaits it is isolated and its error re-raised asynchronously, in a microtask of its own:
 * the way the platform reports an exception thrown by an `EventTarget` listener (WHATWG DOM, "report the
 * exception"; Node's `EventTarget` raises it as `uncaughtException`). So the error is never swallowed, and the
 * policy goes on with every other caller as if the callback had returned.
 */

/** `Promise.prototype.then`, captured: an own `then` put on a native promise is never called. */
const nativeThen = Promise.prototype.then;

/**
 * Re-raises `error` asynchronously (an `uncaughtException` in Node, an error event in a browser), for errors thrown
 * by user callbacks that no caller awaits. Never throws.
 */
export function reportError(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** Calls `fn(arg)`; if it throws, reports the error ({@link reportError}) instead of propagating it. */
export function isolated<A>(fn: (arg: A) => unknown, arg: A): void {
  try {
    fn(arg);
  } catch (e) {
    reportError(e);
  }
}

/** What an emitter needs for {@link safeEmit} (eventemitter3 and Node's EventEmitter both fit). */
export interface Emitting {
  emit(event: string, ...args: unknown[]): boolean;
}

/**
 * Emits `event` with `payload`; a listener that throws does not reach the emitting policy (or the caller of
 * `execute()`): its error is reported asynchronously ({@link reportError}). Listeners after the throwing one miss
 * this one emission, as with any EventEmitter.
 */
export function safeEmit(emitter: Emitting, event: string, payload: unknown): void {
  try {
    emitter.emit(event, payload);
  } catch (e) {
    reportError(e);
  }
}

/**
 * Whether `x` is a thenable: an object or function whose `then` is a function. Never throws: an object whose `then`
 * cannot be read (a getter that throws, a revoked Proxy) counts as a thenable, so that it goes where thenables go,
 * through {@link settle}, which turns the failed read into a rejection (as `await x` and `Promise.resolve(x)` do).
 */
export function isThenable<T>(x: T | PromiseLike<T>): x is PromiseLike<T> {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
  try {
    return typeof (x as PromiseLike<T>).then === 'function';
  } catch {
    return true;
  }
}

/**
 * `Promise.resolve(x).then(onFulfilled, onRejected)` for a value that came from user code, made safe: never throws
 * synchronously, and exactly one of the handlers runs, once, in a later microtask, whatever `x` is:
 * - a thenable that calls both of its callbacks, or one twice, or throws after settling: the first call wins (the
 *   promise resolving functions are one-shot);
 * - an object whose `then` getter throws, or a revoked Proxy: `onRejected` with the getter's error;
 * - a native promise with a throwing `constructor` getter (which makes `Promise.resolve` itself throw), or with an
 *   own `then`: the native `then` is used, or the call rejects with the getter's error.
 */
export function settle<R>(x: unknown, onFulfilled: (value: unknown) => R | PromiseLike<R>, onRejected: (error: unknown) => R | PromiseLike<R>): Promise<R> {
  try {
    return nativeThen.call(Promise.resolve(x), onFulfilled, onRejected) as Promise<R>;
  } catch (e) {
    // No reaction was registered (Promise.resolve or the species lookup threw first): the read's error is the outcome.
    return nativeThen.call(Promise.reject(e), onFulfilled, onRejected) as Promise<R>;
  }
}

/** `x` as a native promise, never throwing: a rejected one when even `Promise.resolve(x)` throws. */
export function promiseOf<T>(x: T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(x);
  } catch (e) {
    return Promise.reject(e);
  }
}
