/**
 * Queue disciplines: who waits, who goes next and who is shed when a limiter's callers must queue. A discipline is
 * a pure data structure: no timers, no clock reads of its own (the limiter passes `now`), no promises. The limiter
 * that owns it (a bulkhead, an adaptive limiter, a bucket) does the enforcement: timers, abort signals, permits.
 *
 * This file holds the interface, the intrusive list every built-in discipline is made of ({@link Lane}), and the
 * FIFO discipline that every queueing limiter uses by default. The other built-in disciplines (LIFO, priority,
 * CoDel, fair) live with the concurrency family.
 */

/**
 * What a discipline knows of a queued call. The limiter fills these in; a discipline only reads them.
 */
export interface QueuedCall {
  /** Units of the limit the call will hold (the per-call `cost` option). > 0. */
  readonly cost: number;
  /** Importance, higher first (the per-call `priority` option as a number; default 0). */
  readonly priority: number;
  /** Tenant key (the per-call `tenant` option), or undefined. */
  readonly tenant: string | undefined;
  /** Clock time, ms, at which the call joined the queue. */
  readonly enqueuedAt: number;
  /** Absolute clock time by which the call must start, or undefined. */
  readonly deadline: number | undefined;
}

/**
 * A queue discipline: the order in which a limiter admits its waiters and whom it sheds. Implement it to plug a
 * queue of your own into `bulkhead({ queue })`; the built-in ones are `fifoQueue()`, `lifoQueue()`,
 * `priorityQueue()`, `codelQueue()` and `fairQueue()`.
 *
 * Rules a discipline must keep (the limiter relies on them):
 * - Pure and synchronous: never read a clock (use `now`), arm a timer or call back into the limiter.
 * - `dequeue(now)` returns exactly what the `peek(now)` just before it returned. `peek` may update scheduling state
 *   (a round-robin pointer, for example) but never removes a waiter.
 * - `remove(w)` is not service: it takes `w` out (abort, expiry, shedding) without charging anyone for it.
 * - `victim` never removes anything; the limiter removes the victim itself with `remove`.
 * - One discipline instance serves one limiter: it holds that limiter's waiters.
 *
 * @typeParam W - the waiter objects the limiter queues (they carry at least {@link QueuedCall}).
 * @example
 * ```ts
 * // Shortest job first: the cheapest call goes next; when full, the costliest waiter is shed for a cheaper one.
 * class CheapestFirst<W extends QueuedCall> implements QueueDiscipline<W> {
 *   private items: W[] = [];
 *   get size() { return this.items.length; }
 *   enqueue(w: W) { this.items.push(w); this.items.sort((a, b) => a.cost - b.cost); }
 *   peek() { return this.items[0]; }
 *   dequeue() { return this.items.shift(); }
 *   remove(w: W) { const i = this.items.indexOf(w); if (i >= 0) this.items.splice(i, 1); return i >= 0; }
 *   victim(incoming: QueuedCall) { const last = this.items.at(-1); return last && last.cost > incoming.cost ? last : undefined; }
 *   drain() { const all = this.items; this.items = []; return all; }
 * }
 * const pool = bulkhead({ limit: 10, maxQueue: 100, queue: new CheapestFirst() });
 * ```
 */
export interface QueueDiscipline<W extends QueuedCall = QueuedCall> {
  /** Waiters queued now. */
  readonly size: number;
  /** Adds `w`, which arrived at `now`. */
  enqueue(w: W, now: number): void;
  /** The waiter to admit next, without removing it; undefined when empty. */
  peek(now: number): W | undefined;
  /** Removes and returns the waiter the preceding `peek(now)` returned: it is being admitted. */
  dequeue(now: number): W | undefined;
  /** Removes `w` without serving it; false when `w` is not queued here. */
  remove(w: W): boolean;
  /**
   * The queue is full and `incoming` arrives: the waiter to shed in its favour (the limiter rejects it with `SHED`
   * and queues `incoming`), or undefined to refuse `incoming` instead (`QUEUE_FULL`). Must not remove anything.
   */
  victim(incoming: QueuedCall, now: number): W | undefined;
  /**
   * Optional: the waiter this discipline would give up first if it had to shed one, whoever arrives (not removed).
   * An enclosing discipline asks it: a priority queue whose levels are other disciplines sheds the lowest level's
   * `evictable()` for a more important newcomer. A discipline without it is never displaced from outside.
   */
  evictable?(now: number): W | undefined;
  /**
   * Optional: the cost queued now that this discipline would admit before a newcomer of `priority` (if nothing else
   * arrived). The limiter multiplies it by its measured service time to estimate a newcomer's wait, refuse at once a
   * call that cannot start within its `maxWaitMs` or deadline, and give refusals a `retryAfterMs`. Without it, the
   * limiter assumes nobody is ahead (an optimistic estimate: it never refuses a call that could have made it).
   */
  costAhead?(priority: number): number;
  /**
   * Optional, for time-driven shedding (CoDel): a waiter to shed at `now`, already removed, or undefined. The limiter
   * calls it until it returns undefined, before it admits anyone.
   */
  shed?(now: number): W | undefined;
  /**
   * Optional, with `shed`: the earliest clock time at which `shed` may return a waiter or the discipline's state may
   * change by the passage of time alone; Infinity when none. The limiter arms its one timer for it.
   */
  nextShedAt?(now: number): number;
  /** Removes and returns every waiter (the limiter is disposing). */
  drain(): W[];
}

/**
 * The link fields the built-in disciplines keep on a waiter, so that every operation is O(1) (O(log k) across k
 * priority levels or tenants) with no per-waiter allocation of their own. A limiter's waiter objects carry them;
 * user disciplines may ignore them.
 * @internal
 */
export interface QueueNode extends QueuedCall {
  /** Neighbours in the leaf {@link Lane} holding the waiter. */
  prev: QueueNode | undefined;
  next: QueueNode | undefined;
  /** The leaf lane holding the waiter, or undefined when not queued. */
  lane: Lane<QueueNode> | undefined;
  /** Neighbours in an arrival-order list across lanes (the priority queue's aging list), when one is kept. */
  olderArrival: QueueNode | undefined;
  newerArrival: QueueNode | undefined;
}

/**
 * An intrusive doubly linked deque of {@link QueueNode}s: O(1) push, pop at either end and removal of any member.
 * The building block of every built-in discipline.
 * @internal
 */
export class Lane<W extends QueueNode> {
  head: W | undefined = undefined;
  tail: W | undefined = undefined;
  length = 0;
  /** Sum of the members' costs. */
  cost = 0;

  /** Appends `w` at the tail (the newest end). */
  push(w: W): void {
    w.prev = this.tail;
    w.next = undefined;
    if (this.tail === undefined) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    w.lane = this as unknown as Lane<QueueNode>;
    this.length++;
    this.cost += w.cost;
  }

  /** Unlinks `w`; false when it is not in this lane. */
  remove(w: W): boolean {
    if (w.lane !== (this as unknown as Lane<QueueNode>)) return false;
    if (w.prev === undefined) this.head = w.next as W | undefined;
    else w.prev.next = w.next;
    if (w.next === undefined) this.tail = w.prev as W | undefined;
    else w.next.prev = w.prev;
    w.prev = w.next = undefined;
    w.lane = undefined;
    // No float residue once empty (costs may be fractional in rate limiters).
    if (--this.length === 0) this.cost = 0;
    else this.cost -= w.cost;
    return true;
  }

  /** Removes and returns the head (the oldest), or undefined. */
  shift(): W | undefined {
    const w = this.head;
    if (w !== undefined) this.remove(w);
    return w;
  }

  /** Removes and returns the tail (the newest), or undefined. */
  pop(): W | undefined {
    const w = this.tail;
    if (w !== undefined) this.remove(w);
    return w;
  }

  /** Removes and returns every member, head first. */
  drain(): W[] {
    const all: W[] = [];
    for (let w = this.head; w !== undefined; w = this.head) {
      this.remove(w);
      all.push(w);
    }
    return all;
  }

  /** Members head (oldest) first. Removing the member just yielded is safe. */
  *[Symbol.iterator](): Iterator<W> {
    for (let w = this.head; w !== undefined; ) {
      const next = w.next as W | undefined;
      yield w;
      w = next;
    }
  }
}

/**
 * First in, first out: waiters are admitted in arrival order; a full queue refuses the newcomer (tail drop). The
 * default discipline of every queueing limiter. O(1) per operation.
 * @internal the public factory is `fifoQueue()`.
 */
export class FifoQueue<W extends QueueNode> extends Lane<W> implements QueueDiscipline<W> {
  get size(): number {
    return this.length;
  }

  enqueue(w: W): void {
    this.push(w);
  }

  peek(): W | undefined {
    return this.head;
  }

  dequeue(): W | undefined {
    return this.shift();
  }

  victim(): undefined {
    return undefined;
  }

  /** The newest waiter: the one tail drop would have refused. */
  evictable(): W | undefined {
    return this.tail;
  }

  /** Everyone queued is ahead of a newcomer. */
  costAhead(): number {
    return this.cost;
  }
}

/**
 * A first-in, first-out queue discipline: waiters are admitted in arrival order, and a full queue refuses the
 * newcomer with `QUEUE_FULL` (tail drop). The default of `bulkhead()` and of the buckets. O(1) per operation.
 * @example
 * ```ts
 * const pool = bulkhead({ limit: 10, maxQueue: 100, queue: fifoQueue() }); // same as queue: 'fifo'
 * ```
 */
export function fifoQueue(): QueueDiscipline {
  return new FifoQueue<QueueNode>() as unknown as QueueDiscipline;
}

/**
 * The named priority classes and their numbers. A call's `priority` option takes one of these names or any finite
 * number; higher is more important, and the default is `default` (0). The gaps leave room for levels in between
 * (`priority: 150` ranks between `high` and `critical`).
 *
 * | class       | number |
 * |-------------|-------:|
 * | `critical`  |    200 |
 * | `high`      |    100 |
 * | `default`   |      0 |
 * | `low`       |   -100 |
 * | `sheddable` |   -200 |
 * @example
 * ```ts
 * await pool.execute(work, { priority: 'critical' }); // same as { priority: PRIORITY.critical }
 * ```
 */
export const PRIORITY = Object.freeze({ critical: 200, high: 100, default: 0, low: -100, sheddable: -200 } as const);

/** A named priority class: a key of {@link PRIORITY}. */
export type PriorityClass = keyof typeof PRIORITY;

/**
 * The class a numeric priority falls in, for labels and reports: the highest class whose number it reaches
 * (`150` is `high`, `-150` is `low`, anything below -200 is `sheddable`).
 * @example
 * ```ts
 * priorityClassOf(150); // 'high'
 * ```
 */
export function priorityClassOf(priority: number): PriorityClass {
  if (priority >= PRIORITY.critical) return 'critical';
  if (priority >= PRIORITY.high) return 'high';
  if (priority >= PRIORITY.default) return 'default';
  if (priority >= PRIORITY.low) return 'low';
  return 'sheddable';
}
