/**
 * Mechanics shared by every primitive that makes callers wait: the {@link Waiter} a queue discipline holds (see
 * queue.ts), and an {@link Alarm} that keeps at most one timer armed for a whole primitive.
 */
import type { Clock, TimerHandle } from './clock.js';
import { NEVER_ABORTED } from './context.js';
import type { Lane, QueueNode } from './queue.js';
import { reportError } from './safe-call.js';

/**
 * One caller waiting for admission. `T` is what it resolves with (usually a Permit). Carries the link fields of the
 * built-in queue disciplines ({@link QueueNode}), so queueing allocates nothing beyond the waiter.
 */
export class Waiter<T> implements QueueNode {
  prev: QueueNode | undefined = undefined;
  next: QueueNode | undefined = undefined;
  lane: Lane<QueueNode> | undefined = undefined;
  olderArrival: QueueNode | undefined = undefined;
  newerArrival: QueueNode | undefined = undefined;
  settled = false;
  readonly promise: Promise<T>;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (reason: unknown) => void;
  private abortListener: (() => void) | undefined = undefined;

  constructor(
    readonly cost: number,
    readonly signal: AbortSignal,
    readonly enqueuedAt: number,
    readonly deadline: number | undefined,
    readonly priority = 0,
    readonly tenant: string | undefined = undefined,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /**
   * Calls `onAbort` once if the signal aborts before the waiter settles. Returns undefined, or the error thrown by a
   * foreign signal's `addEventListener` (the waiter is then not watched: its owner should not let it wait).
   */
  watchAbort(onAbort: (waiter: Waiter<T>) => void): unknown {
    if (this.signal === NEVER_ABORTED) return undefined;
    // Runs inside the signal's dispatch, next to other listeners (other callers' waiters): nothing may escape it.
    this.abortListener = () => {
      try {
        onAbort(this);
      } catch (e) {
        reportError(e);
      }
    };
    try {
      this.signal.addEventListener('abort', this.abortListener, { once: true });
    } catch (e) {
      this.abortListener = undefined;
      return e === undefined ? new TypeError('signal.addEventListener threw undefined') : e;
    }
    return undefined;
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.unwatch();
    this.resolveFn(value);
  }

  reject(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.unwatch();
    this.rejectFn(reason);
  }

  private unwatch(): void {
    const listener = this.abortListener;
    if (listener !== undefined) {
      this.abortListener = undefined;
      // Settling runs in loops over many waiters (grants, dispose): a foreign signal's throw must not stop them.
      try {
        this.signal.removeEventListener('abort', listener);
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
