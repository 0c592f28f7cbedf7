/**
 * Mechanics shared by every primitive that makes callers wait: the {@link Waiter} a queue discipline holds (see
 * queue.ts), and an {@link Alarm} that keeps at most one timer armed for a whole primitive.
 */
import type { Clock, TimerHandle } from './clock.js';
import { NEVER_ABORTED, type Context, type Task } from './context.js';
import type { Lane, QueueNode } from './queue.js';
import { reportError } from './safe-call.js';

/**
 * One caller waiting for admission. Its promise resolves with a Permit for `acquire`, with the task's result for
 * `execute` (the waiter then carries the task, and the limiter runs it at the grant). Carries the link fields of
 * the built-in queue disciplines ({@link QueueNode}) and reads cost, priority, tenant and deadline from the call's
 * context, so a waiting call holds this object, its promise and the promise's resolve function, nothing else: the
 * reject function is not kept (a rejection resolves the promise with a rejected one), which saves a function object
 * per waiter on the path every queued call takes.
 */
export class Waiter implements QueueNode {
  prev: QueueNode | undefined = undefined;
  next: QueueNode | undefined = undefined;
  lane: Lane<QueueNode> | undefined = undefined;
  olderArrival: QueueNode | undefined = undefined;
  newerArrival: QueueNode | undefined = undefined;
  /** Settles the caller's promise; undefined before {@link promise} and once settled. */
  private settleFn: ((value: unknown) => void) | undefined = undefined;
  private abortListener: (() => void) | undefined = undefined;

  constructor(
    readonly ctx: Context,
    readonly enqueuedAt: number,
    /** The protected function to run once admitted (`execute`), or undefined when the permit itself is awaited. */
    readonly task: Task<unknown> | undefined,
  ) {}

  get cost(): number {
    return this.ctx.cost;
  }
  get priority(): number {
    return this.ctx.priority;
  }
  get tenant(): string | undefined {
    return this.ctx.tenant;
  }
  get deadline(): number | undefined {
    return this.ctx.deadline;
  }
  get signal(): AbortSignal {
    return this.ctx.signal;
  }
  get settled(): boolean {
    return this.settleFn === undefined;
  }

  /** Creates the caller's promise, settled through {@link resolve} / {@link reject}. Call once, before either. */
  promise(): Promise<unknown> {
    return new Promise((resolve) => {
      this.settleFn = resolve;
    });
  }

  /**
   * Calls `onAbort` once if the signal aborts before the waiter settles. Returns undefined, or the error thrown by a
   * foreign signal's `addEventListener` (the waiter is then not watched: its owner should not let it wait).
   */
  watchAbort(onAbort: (waiter: Waiter) => void): unknown {
    const signal = this.ctx.signal;
    if (signal === NEVER_ABORTED) return undefined;
    // Runs inside the signal's dispatch, next to other listeners (other callers' waiters): nothing may escape it.
    this.abortListener = () => {
      try {
        onAbort(this);
      } catch (e) {
        reportError(e);
      }
    };
    try {
      signal.addEventListener('abort', this.abortListener, { once: true });
    } catch (e) {
      this.abortListener = undefined;
      return e === undefined ? new TypeError('signal.addEventListener threw undefined') : e;
    }
    return undefined;
  }

  /** Settles the caller's promise with `value` (a promise is adopted). No-op once settled. */
  resolve(value: unknown): void {
    const settle = this.settleFn;
    if (settle === undefined) return;
    this.settleFn = undefined;
    this.unwatch();
    settle(value);
  }

  reject(reason: unknown): void {
    if (this.settleFn === undefined) return;
    this.resolve(Promise.reject(reason));
  }

  private unwatch(): void {
    const listener = this.abortListener;
    if (listener !== undefined) {
      this.abortListener = undefined;
      // Settling runs in loops over many waiters (grants, dispose): a foreign signal's throw must not stop them.
      try {
        this.ctx.signal.removeEventListener('abort', listener);
      } catch (e) {
        reportError(e);
      }
    }
  }
}

/**
 * At most one armed timer for a primitive. `set(at)` (re)arms for absolute clock time `at`; `clear()` disarms.
 * The callback runs with no timer armed, so it may call `set` again. A callback that throws (through a user
 * listener it ran) is reported asynchronously, never thrown into the host's timer loop.
 */
export class Alarm {
  private handle: TimerHandle | undefined = undefined;
  private at = Infinity;
  private readonly fire = (): void => {
    this.handle = undefined;
    this.at = Infinity;
    try {
      this.onFire();
    } catch (e) {
      reportError(e);
    }
  };

  constructor(
    private readonly clock: Clock,
    private readonly onFire: () => void,
  ) {}

  get armed(): boolean {
    return this.handle !== undefined;
  }

  /** The absolute time the alarm is armed for, or Infinity. */
  get dueAt(): number {
    return this.at;
  }

  set(at: number): void {
    if (this.handle !== undefined) {
      if (this.at === at) return;
      this.clock.clearTimeout(this.handle);
    }
    this.at = at;
    this.handle = this.clock.setTimeout(this.fire, at - this.clock.now());
  }

  clear(): void {
    if (this.handle === undefined) return;
    this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.at = Infinity;
  }
}
